"""plan/scratch_room.py: more scratch only where the plan has the room, never a larger arena.

The oracle for a refusal is brute force: every aligned offset of the op's arena part is tried
against the buffers alive at its step.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tinycompiler.plan import Buffer, arena_size, best_placement
from tinycompiler.plan.planner import MemoryPlan
from tinycompiler.plan.scratch_room import widen_scratch

MODELS = Path(__file__).resolve().parents[1] / "examples" / "models"


def _plan(buffers, seams=()):
    _, offsets = best_placement(buffers, None, seams)
    steps = 1 + max(b.end for b in buffers)
    scratch = {int(b.name[2:].split(".")[0]): (o, b.size) for b, o in zip(buffers, offsets) if b.kind == "scratch"}
    return MemoryPlan(arena_bytes=arena_size(buffers, offsets), tensor_offsets={}, scratch=scratch,
                      buffers=buffers, offsets=offsets, algorithm="test", lower_bound_bytes=0, steps=steps,
                      seams=tuple(seams))


@st.composite
def plans_and_wants(draw):
    steps = draw(st.integers(1, 8))
    bufs = []
    for i in range(draw(st.integers(1, 10))):
        s = draw(st.integers(0, steps - 1))
        bufs.append(Buffer(f"t{i}", 4 * draw(st.integers(1, 40)), s, draw(st.integers(s, steps - 1)), [i]))
    wants = {}
    for step in sorted(set(draw(st.lists(st.integers(0, steps - 1), max_size=steps)))):
        size = 4 * draw(st.integers(1, 20))
        bufs.append(Buffer(f"op{step}.scratch", size, step, step, [], "scratch"))
        wants[step] = size + 4 * draw(st.integers(0, 30))
    seams = ()
    if draw(st.booleans()):
        seams = (4 * draw(st.integers(1, 60)),)
    return bufs, wants, seams


def _free_at(plan, i, want, lo, hi) -> bool:
    """Some aligned offset in [lo, hi - want] misses every buffer alive with buffer i (brute force)."""
    b = plan.buffers[i]
    busy = [(o, o + x.size) for k, (x, o) in enumerate(zip(plan.buffers, plan.offsets))
            if k != i and x.size and x.overlaps_in_time(b)]
    return any(all(at + want <= s or e <= at for s, e in busy) for at in range(lo, hi - want + 1, 4))


@settings(max_examples=200, deadline=None)
@given(case=plans_and_wants())
def test_widened_scratch_fits_the_lean_arena(case):
    bufs, wants, seams = case
    lean = _plan(bufs, seams)
    wide = widen_scratch(lean, wants)
    assert wide.arena_bytes == lean.arena_bytes and wide.parts() == lean.parts()
    for i, a in enumerate(wide.buffers):
        assert wide.offsets[i] % 4 == 0
        for j in range(i + 1, len(wide.buffers)):
            b = wide.buffers[j]
            if a.overlaps_in_time(b) and a.size and b.size:
                assert wide.offsets[i] + a.size <= wide.offsets[j] or wide.offsets[j] + b.size <= wide.offsets[i]
    for i, (b, b0) in enumerate(zip(wide.buffers, lean.buffers)):
        if b.kind != "scratch":
            assert (b.size, wide.offsets[i]) == (b0.size, lean.offsets[i])  # nothing else moves
            continue
        op = int(b.name[2:].split(".")[0])
        assert wide.scratch[op] == (wide.offsets[i], b.size)
        if b.size == wants[op]:
            lo, n = next(p for p in lean.parts() if p[0] <= lean.offsets[i] < p[0] + max(p[1], 1))
            assert lo <= wide.offsets[i] and wide.offsets[i] + b.size <= lo + n
        else:  # refused: the lean size stays, and no range of the wanted size was free in its part
            assert b.size == b0.size and wide.offsets[i] == lean.offsets[i]
            lo, n = next(p for p in lean.parts() if p[0] <= lean.offsets[i] < p[0] + max(p[1], 1))
            assert not _free_at(lean, i, wants[op], lo, lo + n)


def test_mobilenet_gets_wide_convs_at_the_same_arena():
    """MobileNetV2 0.35: most CONV_2D layers find room for int16 columns; the arena is the lean plan's."""
    from tinycompiler.codegen import plan_for_codegen
    from tinycompiler.codegen.lowering import lower_graph, scratch_bytes
    from tinycompiler.frontends import load_model
    from tinycompiler.passes import codegen_graph
    from tinycompiler.plan import plan_memory

    g = load_model(str(MODELS / "keras_mobilenetv2_a0.35_64_int8.tflite"))
    plan = plan_for_codegen(g)
    assert plan.arena_bytes == plan_memory(codegen_graph(g), scratch_bytes).arena_bytes
    kernels = [c.args["kernel"] for c in lower_graph(plan).calls if c.template == "conv2d"]
    assert kernels.count("tc_conv2d_packed_wide_s8") >= len(kernels) // 2
