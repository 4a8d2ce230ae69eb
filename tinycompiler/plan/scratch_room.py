"""Give an op more scratch where the plan has room for it, without growing the arena.

Some kernels run faster with more scratch (``tc_conv2d_packed_wide_s8`` keeps int16 columns: 4 * K4
bytes instead of 2 * K4). The memory plan is made with the lean sizes, so the peak never pays for
speed; afterwards each such op's scratch moves to a free range of the size it wants at its step, if
one exists inside the arena part it already sits in (so neither the arena nor any RAM region grows).
Ops without such a range keep their lean scratch, and codegen picks the kernel from the size each op
got (:func:`tinycompiler.codegen.lower.conv.lower_conv`).
"""

from __future__ import annotations

from dataclasses import replace

from tinycompiler.plan.buffers import align_up


def _op_of(buffer) -> int:
    return int(buffer.name[2:].split(".")[0])


def _first_fit(busy, want: int, lo: int, hi: int):
    """Lowest aligned offset in [lo, hi - want] whose ``want`` bytes miss every (start, end) in ``busy``."""
    start = align_up(lo)
    for b0, b1 in sorted(busy):
        if b1 <= start:
            continue
        if start + want <= b0:
            break
        start = align_up(max(start, b1))
    return start if start + want <= hi else None


def widen_scratch(plan, wants: dict):
    """``plan`` with the scratch of each op in ``wants`` (op index -> bytes) moved to a free range of
    that size at the op's step where one exists (see the module docstring); the others unchanged.
    Returns a new MemoryPlan (same arena, same parts)."""
    buffers, offsets = list(plan.buffers), list(plan.offsets)
    parts = plan.parts()
    for i, b in enumerate(buffers):
        if b.kind != "scratch":
            continue
        want = align_up(int(wants.get(_op_of(b), 0)))
        if want <= b.size:
            continue
        part = next((p0, p0 + n) for p0, n in parts if p0 <= offsets[i] < p0 + max(n, 1))
        busy = [(offsets[k], offsets[k] + o.size) for k, o in enumerate(buffers)
                if k != i and o.size > 0 and o.overlaps_in_time(b)]
        at = _first_fit(busy, want, *part)
        if at is not None:
            buffers[i] = replace(b, size=want)
            offsets[i] = at
    if buffers == list(plan.buffers) and offsets == list(plan.offsets):
        return plan
    scratch = {_op_of(b): (o, b.size) for b, o in zip(buffers, offsets) if b.kind == "scratch"}
    alive = [sum(b.size for b in buffers if b.start <= s <= b.end) for s in range(plan.steps)]
    return replace(plan, buffers=buffers, offsets=offsets, scratch=scratch, alive_bytes=alive)

