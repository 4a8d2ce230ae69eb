"""Overlapping an output with its dying input ("shifted in-place"): the rule, the plans, the C.

* The lag rule (tinycompiler.plan.overlap) against a brute-force trace of each kernel's loop order:
  at the chosen lag no output byte is written over an input byte that is read later, and one byte
  more would be (the bound is tight for the conv contract).
* Plans: no two tensors (or scratch) alive at the same step share a byte, except a view and its
  source, in-place pairs at equal offsets, and lagged (input, output) pairs of one op whose lag
  obeys the rule, re-checked here.
* Random chains of conv/depthwise/pool/add/FC: the generated C under ASan/UBSan with the arena at
  exactly its planned size is bit-exact with the numpy reference.
* Every bundled model: bit-exact with TFLM on the host with the new plan; a table of the arenas
  against TFLM's (printed with ``pytest -s``) and the goal of at most 0.7x TFLM on each model.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import builders as B
from conftest import MODEL_FILES
from tinycompiler.codegen import plan_for_codegen
from tinycompiler.frontends.tflite import load_tflite
from tinycompiler.ir import VIEW_OPS, conv_output_size
from tinycompiler.oracle.tflm import run_tflm
from tinycompiler.passes import codegen_graph
from tinycompiler.plan.lifetimes import tensor_lifetimes, view_roots
from tinycompiler.plan.overlap import field_starts, lag_bound, max_lag
from tinycompiler.reference import run
from tinycompiler.targets.host import HostTarget

# ------------------------------------------------------------------------------------------------
# the rule vs a brute-force trace of the kernels' loop order


def _trace(in_shape, out_shape, win, reads_current):
    """(last read time per input byte, write time per output byte) of the kernel's loop order.

    Conv: pixel q reads its whole window (into scratch), then writes its oc bytes. Depthwise and
    pools: pixel q, channel by channel, reads that channel's window then writes its byte.
    Times are event counters; padding taps read nothing.
    """
    n, ih, iw, ic = in_shape
    _, oh, ow, oc = out_shape
    last_read = np.full(n * ih * iw * ic, -1, np.int64)
    write = np.zeros(n * oh * ow * oc, np.int64)
    t = 0
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                q = (b * oh + oy) * ow + ox
                taps = []
                for ky in range(win["kh"]):
                    iy = oy * win["sh"] - win["top"] + ky * win["dh"]
                    for kx in range(win["kw"]):
                        ix = ox * win["sw"] - win["left"] + kx * win["dw"]
                        if 0 <= iy < ih and 0 <= ix < iw:
                            taps.append(((b * ih + iy) * iw + ix) * ic)
                if not reads_current:  # conv: the whole field first, then every output channel
                    for p in taps:
                        last_read[p:p + ic] = t
                    t += 1
                    write[q * oc:(q + 1) * oc] = t
                    t += 1
                    continue
                mult = oc // ic
                for c in range(ic):
                    for p in taps:
                        last_read[p + c] = t
                    t += 1
                    write[q * oc + c * mult:q * oc + (c + 1) * mult] = t
                    t += 1
    return last_read, write


def _clobbers(last_read, write, lag) -> bool:
    """Whether some output byte, placed ``lag`` bytes after the input start, is written over an
    input byte before that byte's last read."""
    pos = lag + np.arange(write.size)
    inside = (pos >= 0) & (pos < last_read.size)
    return bool(np.any(write[inside] < last_read[pos[inside]]))


@st.composite
def windows(draw):
    kind = draw(st.sampled_from(["CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D"]))
    n = draw(st.integers(1, 2))
    ih, iw = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    ic = draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = (1, 1) if kind == "MAX_POOL_2D" else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    oh, ow = conv_output_size(ih, kh, sh, dh, padding), conv_output_size(iw, kw, sw, dw, padding)
    if oh <= 0 or ow <= 0:
        padding, oh, ow = "SAME", conv_output_size(ih, kh, sh, dh, "SAME"), conv_output_size(iw, kw, sw, dw, "SAME")
    top, left = draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))
    oc = {"CONV_2D": draw(st.integers(1, 12)), "DEPTHWISE_CONV_2D": ic * draw(st.integers(1, 3)),
          "MAX_POOL_2D": ic}[kind]
    win = {"kh": kh, "kw": kw, "sh": sh, "sw": sw, "dh": dh, "dw": dw, "top": top, "left": left}
    return kind, (n, ih, iw, ic), (n, oh, ow, oc), win


@settings(max_examples=150, deadline=None)
@given(case=windows())
def test_lag_bound_never_clobbers_an_unread_input_byte(case):
    kind, in_shape, out_shape, win = case
    reads_current = kind != "CONV_2D"
    bound = max_lag(field_starts(in_shape, out_shape, win), out_shape[3], reads_current)
    last_read, write = _trace(in_shape, out_shape, win, reads_current)
    assert not _clobbers(last_read, write, bound)
    assert not _clobbers(last_read, write, bound - 7)  # anything further from the input is safe too
    if kind == "CONV_2D" and bound < 10**9:
        assert _clobbers(last_read, write, bound + 1), "the conv bound is the largest safe lag"


def test_lag_bounds_on_known_layers():
    # micro_speech's depthwise: 49x40x1 -> 25x20x8, 10x8 filter, stride 2, SAME (pads 4, 3).
    # The last pixel (24, 19) binds: its window starts at row 44, column 35 = byte 1795, and it
    # ends the output at 500 * 8 = 4000, so the output must start 2205 bytes before the input
    win = {"kh": 10, "kw": 8, "sh": 2, "sw": 2, "dh": 1, "dw": 1, "top": 4, "left": 3}
    assert max_lag(field_starts((1, 49, 40, 1), (1, 25, 20, 8), win), 8, True) == 1795 - 4000
    # resnet8's 3x3 conv 32x32x16 -> 32x32x16, SAME: the output starts 33 pixels before the input
    win = {"kh": 3, "kw": 3, "sh": 1, "sw": 1, "dh": 1, "dw": 1, "top": 1, "left": 1}
    assert max_lag(field_starts((1, 32, 32, 16), (1, 32, 32, 16), win), 16, False) == -33 * 16
    # a 1x1 conv that halves the channels may start at its input (classic in-place), lag 16 even
    win = {"kh": 1, "kw": 1, "sh": 1, "sw": 1, "dh": 1, "dw": 1, "top": 0, "left": 0}
    assert max_lag(field_starts((1, 4, 4, 32), (1, 4, 4, 16), win), 16, False) == 16


# ------------------------------------------------------------------------------------------------
# plans: what may share bytes while alive


def _allowed_pair(graph, plan, op, a, b) -> bool:
    """Whether tensors ``a`` and ``b`` may overlap at ``op``'s step (the rule re-checked here)."""
    ins = [i for i in op.inputs if i is not None and not graph.tensors[i].is_const]
    if not ({a, b} <= set(ins) | set(op.outputs)) or (a in op.outputs) == (b in op.outputs):
        return False
    x, y = (a, b) if b in op.outputs else (b, a)
    if any(c.index > op.index for c in graph.consumers(x)) or x in graph.outputs:
        return False  # only a dying input may be overwritten
    delta = plan.tensor_offsets[y] - plan.tensor_offsets[x]
    if op.kind == "DEPTHWISE_CONV_2D" and delta == 0:
        return op.index in plan.scratch  # the in-place kernel, with its scratch plane
    if op.kind in ("ADD", "MUL", "RELU", "RELU6", "LOGISTIC", "HARD_SWISH", "QUANTIZE"):
        return delta == 0
    bound = lag_bound(op, graph)
    return bound is not None and delta <= bound


def assert_sound_plan(graph, plan):
    life = tensor_lifetimes(graph)
    roots = view_roots(graph)
    items = []  # (name, start, end, lo, hi, tensor or None)
    for t, (s, e) in life.items():
        off = plan.tensor_offsets[t]
        assert off % 4 == 0 and 0 <= off and off + graph.tensors[t].nbytes <= plan.arena_bytes
        items.append((s, e, off, off + graph.tensors[t].nbytes, t))
    for k, (off, size) in plan.scratch.items():
        assert off + size <= plan.arena_bytes
        items.append((k, k, off, off + size, None))
    for i, (s1, e1, lo1, hi1, t1) in enumerate(items):
        for s2, e2, lo2, hi2, t2 in items[i + 1:]:
            if not (s1 <= e2 and s2 <= e1 and lo1 < hi2 and lo2 < hi1):
                continue
            assert t1 is not None and t2 is not None, f"scratch overlaps a live buffer ({t1}, {t2})"
            if roots.get(t1, t1) == roots.get(t2, t2):
                continue  # a view and what it views
            steps = range(max(s1, s2), min(e1, e2) + 1)
            assert len(steps) == 1, f"tensors {t1} and {t2} share bytes over steps {list(steps)}"
            op = graph.ops[steps[0]]
            if op.kind in VIEW_OPS:
                continue
            assert _allowed_pair(graph, plan, op, t1, t2), f"{op.where()}: tensors {t1}, {t2} overlap"


def _lagged_ops(graph, plan) -> list:
    out = []
    for op in graph.ops:
        x, y = op.inputs[0] if op.inputs else None, op.outputs[0]
        if x is None or x not in plan.tensor_offsets or op.kind in VIEW_OPS:
            continue
        dx, dy = plan.tensor_offsets[x], plan.tensor_offsets[y]
        if dx != dy and dy < dx + graph.tensors[x].nbytes and dx < dy + graph.tensors[y].nbytes:
            out.append(op.index)
    return out


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_model_plans_share_bytes_only_where_allowed(path):
    graph = codegen_graph(load_tflite(path))
    plan = plan_for_codegen(graph)
    assert_sound_plan(graph, plan)


# ------------------------------------------------------------------------------------------------
# random chains: the generated C under the sanitizers vs the reference


@st.composite
def chains(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    h, w = draw(st.integers(4, 12)), draw(st.integers(4, 12))
    g, x = B.new_graph(rng, (1, h, w, draw(st.integers(1, 8))), name="chain")
    skip = None
    for _ in range(draw(st.integers(2, 6))):
        n, h, w, c = g.tensors[x].shape
        kind = draw(st.sampled_from(["conv", "conv1x1", "dw", "pool", "add"]))
        if kind == "conv":
            k = draw(st.integers(1, 3))
            x = B.add_conv2d(g, rng, x, draw(st.integers(1, 24)), k, k, stride=draw(st.integers(1, 2)),
                             padding=draw(st.sampled_from(["SAME", "VALID"])) if min(h, w) >= k else "SAME")
        elif kind == "conv1x1":
            x = B.add_conv2d(g, rng, x, draw(st.integers(1, 32)), 1, 1, padding="VALID")
        elif kind == "dw":
            x = B.add_depthwise(g, rng, x, draw(st.integers(1, 2)), 3, 3, stride=draw(st.integers(1, 2)))
        elif kind == "pool":
            x = B.add_pool(g, rng, draw(st.sampled_from(["AVERAGE_POOL_2D", "MAX_POOL_2D"])), x, 2, 2,
                           stride=draw(st.integers(1, 2)), padding="SAME")
        elif skip is not None and g.tensors[skip].shape == g.tensors[x].shape:
            x = B.add_binary(g, rng, "ADD", x, skip)
        else:
            skip = x  # the next ADD of the same shape reads it again: a residual
            x = B.add_conv2d(g, rng, x, c, 3, 3, padding="SAME")
    if draw(st.booleans()):
        n, h, w, c = g.tensors[x].shape
        x = B.add_reshape(g, rng, x, (1, h * w * c))
        x = B.add_fully_connected(g, rng, x, draw(st.integers(1, 10)))
    return B.finish(g, x), seed


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=chains())
def test_random_chains_run_bit_exact_under_sanitizers(case):
    graph, seed = case
    plan = plan_for_codegen(graph)
    assert_sound_plan(graph, plan)
    inputs = B.random_inputs(graph, seed)
    want = run(graph, inputs)[graph.outputs[0]]
    got = HostTarget(sanitize=True).run(graph, inputs).outputs[0]
    np.testing.assert_array_equal(got.reshape(want.shape), want)


def test_a_lagged_chain_runs_bit_exact_under_sanitizers():
    """A residual block like resnet8's: the 3x3 convs must overlap their inputs with a lag."""
    rng = np.random.default_rng(7)
    g, x = B.new_graph(rng, (1, 10, 10, 8), name="lagged")
    y = B.add_conv2d(g, rng, x, 8, 3, 3)
    z = B.add_conv2d(g, rng, y, 8, 3, 3)
    z = B.add_conv2d(g, rng, z, 8, 3, 3)
    z = B.add_binary(g, rng, "ADD", y, z)
    z = B.add_depthwise(g, rng, z, 2, 3, 3, stride=2)
    graph = B.finish(g, B.add_conv2d(g, rng, z, 24, 1, 1, padding="VALID"))
    plan = plan_for_codegen(graph)
    assert_sound_plan(graph, plan)
    assert _lagged_ops(graph, plan), "expected at least one lagged overlap"
    inputs = B.random_inputs(graph, 3)
    got = HostTarget(sanitize=True).run(graph, inputs).outputs[0]
    np.testing.assert_array_equal(got, run(graph, inputs)[graph.outputs[0]])


# ------------------------------------------------------------------------------------------------
# the bundled models: bit-exact with TFLM, and the arena against TFLM's

#: TFLM's smallest arena on Cortex-M4 (bytes, from the issue); hello_world: 64-bit host figure
TFLM_ARENA = {
    "mlperftiny_kws_dscnn_int8": 22824,
    "mlperftiny_ic_resnet8_cifar10_int8": 55000,
    "tflm_person_detect_mobilenetv1_96_int8": 82316,
    "tflm_micro_speech_int8": 6836,
    "tinyengine_mcunet_vww": 219804,
    "keras_mobilenetv2_a0.35_64_int8": 127956,
    "tflm_hello_world_int8": 1936,  # min_arena_bytes on the 64-bit host (README), not Cortex-M4
}


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_model_bit_exact_with_tflm_under_sanitizers(path):
    graph = load_tflite(path)
    inputs = B.random_inputs(graph, 11)
    got = HostTarget(sanitize=True).run(graph, inputs).outputs
    want = run_tflm(path, inputs, preserve_all=False).outputs
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, np.asarray(b).reshape(a.shape))


def test_arenas_at_most_70_percent_of_tflm(capsys):
    rows = []
    for path in MODEL_FILES:
        ours = plan_for_codegen(load_tflite(path)).arena_bytes
        tflm = TFLM_ARENA.get(path.stem)
        rows.append((path.stem, ours, tflm))
    with capsys.disabled():
        print("\nmodel                                    ours (B)   TFLM (B)   ratio")
        for name, ours, tflm in rows:
            ratio = f"{ours / tflm:.2f}" if tflm else "-"
            print(f"{name:40s} {ours:9,d} {tflm or 0:10,d}   {ratio}")
    for name, ours, tflm in rows:
        if tflm:
            assert ours <= 0.7 * tflm, f"{name}: {ours} B > 0.7 x TFLM's {tflm} B"
