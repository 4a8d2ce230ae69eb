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


def _place(buffers, order) -> list:
    """Place buffers in ``order``, each at the lowest offset free of every placed conflicting one."""
    offsets = [None] * len(buffers)
    placed = []
    for i in order:
        b = buffers[i]
        busy = sorted(
            (offsets[j], offsets[j] + buffers[j].size) for j in placed if b.overlaps_in_time(buffers[j])
        )
        off = 0
        for lo, hi in busy:
            if off + b.size <= lo:
                break
            off = max(off, align_up(hi))
        offsets[i] = off
        placed.append(i)
    return offsets


def greedy_by_size(buffers) -> list:
    """TFLM's GreedyMemoryPlanner ordering: largest first, lowest free offset."""
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, buffers[i].start))
    return _place(buffers, order)


def greedy_by_conflict(buffers) -> list:
    """Buffers alive in the most crowded steps first: they decide the peak."""
    steps = {}
    for b in buffers:
        for t in range(b.start, b.end + 1):
            steps[t] = steps.get(t, 0) + b.size
    order = sorted(
        range(len(buffers)),
        key=lambda i: (-max(steps[t] for t in range(buffers[i].start, buffers[i].end + 1)), -buffers[i].size),
    )
    return _place(buffers, order)


def greedy_by_start(buffers) -> list:
    """Schedule order: a linear-scan allocation, good for chains."""
    order = sorted(range(len(buffers)), key=lambda i: (buffers[i].start, -buffers[i].size))
    return _place(buffers, order)


def hill_climb(buffers, iterations: int = 300, seed: int = 0) -> list:
    """Start from the best greedy order and swap pairs while the arena shrinks (TVM-style)."""
    if len(buffers) < 3:
        return greedy_by_size(buffers)
    rng = random.Random(seed)
    starts = [
        sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, buffers[i].start)),
        sorted(range(len(buffers)), key=lambda i: (buffers[i].start, -buffers[i].size)),
    ]
    best_order = min(starts, key=lambda o: arena_size(buffers, _place(buffers, o)))
    best = arena_size(buffers, _place(buffers, best_order))
    for _ in range(iterations):
        i, j = rng.sample(range(len(buffers)), 2)
        order = list(best_order)
        order[i], order[j] = order[j], order[i]
        size = arena_size(buffers, _place(buffers, order))
        if size <= best:
            best, best_order = size, order
    return _place(buffers, best_order)


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


def best_placement(buffers, algorithms=None) -> tuple:
    """(algorithm name, offsets) of the smallest arena among ``algorithms`` (default: all)."""
    best = None
    bound = lower_bound(buffers)
    for name in algorithms or ALGORITHMS:
        offsets = ALGORITHMS[name](buffers)
        size = arena_size(buffers, offsets)
        if best is None or size < best[0]:
            best = (size, name, offsets)
        if size == bound:
            break  # optimal: nothing can do better
    return best[1], best[2]
