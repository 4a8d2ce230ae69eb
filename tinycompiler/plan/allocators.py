"""Offset assignment: buffers with lifetimes in, arena offsets out.

Each algorithm sees only sizes and lifetime conflicts (as TVM's USMP does), registered by name so
the planner can try them all and keep the smallest arena.
"""

from __future__ import annotations

import random

from tinycompiler.plan.buffers import align_up


def arena_size(buffers, offsets) -> int:
    """Bytes spanned by the placed buffers."""
    return max((offsets[i] + b.size for i, b in enumerate(buffers)), default=0)


def past_seams(off: int, size: int, seams=()) -> int:
    """``off``, or the first seam after it when ``[off, off + size)`` would straddle one: a seam
    is where the arena continues in another RAM region, so no buffer may cross it."""
    for seam in seams:
        if off < seam < off + size:
            return seam
    return off


def _place(buffers, order, seams=()) -> list:
    """Place buffers in ``order``, each at the lowest offset free of every placed conflicting one
    (and not straddling a seam)."""
    offsets = [None] * len(buffers)
    placed = []
    for i in order:
        b = buffers[i]
        busy = sorted(
            (offsets[j], offsets[j] + buffers[j].size) for j in placed if b.overlaps_in_time(buffers[j])
        )
        off = past_seams(0, b.size, seams)
        for lo, hi in busy:
            if off + b.size <= lo:
                break
            off = past_seams(max(off, align_up(hi)), b.size, seams)
        offsets[i] = off
        placed.append(i)
    return offsets


def greedy_by_size(buffers, seams=()) -> list:
    """TFLM's GreedyMemoryPlanner ordering: largest first, lowest free offset."""
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, buffers[i].start))
    return _place(buffers, order, seams)


def crowding(buffers) -> list:
    """Per buffer, the bytes alive at the most crowded step of its lifetime."""
    steps = {}
    for b in buffers:
        for t in range(b.start, b.end + 1):
            steps[t] = steps.get(t, 0) + b.size
    return [max(steps[t] for t in range(b.start, b.end + 1)) for b in buffers]


def greedy_by_conflict(buffers, seams=()) -> list:
    """Buffers alive in the most crowded steps first: they decide the peak."""
    crowd = crowding(buffers)
    order = sorted(range(len(buffers)), key=lambda i: (-crowd[i], -buffers[i].size))
    return _place(buffers, order, seams)


def greedy_by_start(buffers, seams=()) -> list:
    """Schedule order: a linear-scan allocation, good for chains."""
    order = sorted(range(len(buffers)), key=lambda i: (buffers[i].start, -buffers[i].size))
    return _place(buffers, order, seams)


def hill_climb(buffers, seams=(), iterations: int = 300, seed: int = 0) -> list:
    """Start from the best greedy order and swap pairs while the arena shrinks (TVM-style)."""
    if len(buffers) < 3:
        return greedy_by_size(buffers, seams)
    rng = random.Random(seed)
    starts = [
        sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, buffers[i].start)),
        sorted(range(len(buffers)), key=lambda i: (buffers[i].start, -buffers[i].size)),
    ]
    best_order = min(starts, key=lambda o: arena_size(buffers, _place(buffers, o, seams)))
    best = arena_size(buffers, _place(buffers, best_order, seams))
    for _ in range(iterations):
        i, j = rng.sample(range(len(buffers)), 2)
        order = list(best_order)
        order[i], order[j] = order[j], order[i]
        size = arena_size(buffers, _place(buffers, order, seams))
        if size <= best:
            best, best_order = size, order
    return _place(buffers, best_order, seams)


ALGORITHMS = {
    "greedy_by_size": greedy_by_size,
    "greedy_by_conflict": greedy_by_conflict,
    "greedy_by_start": greedy_by_start,
    "hill_climb": hill_climb,
}


def lower_bound(buffers) -> int:
    """No placement can beat the bytes alive at the most crowded step."""
    steps = {}
    for b in buffers:
        for t in range(b.start, b.end + 1):
            steps[t] = steps.get(t, 0) + b.size
    return max(steps.values(), default=0)


def best_placement(buffers, algorithms=None, seams=()) -> tuple:
    """(algorithm name, offsets) of the smallest arena among ``algorithms`` (default: all); no
    buffer straddles one of ``seams`` (arena offsets where another RAM region takes over)."""
    best = None
    bound = lower_bound(buffers)
    for name in algorithms or ALGORITHMS:
        offsets = ALGORITHMS[name](buffers, seams) if seams else ALGORITHMS[name](buffers)
        size = arena_size(buffers, offsets)
        if best is None or size < best[0]:
            best = (size, name, offsets)
        if size == bound:
            break  # optimal: nothing can do better
    return best[1], best[2]
