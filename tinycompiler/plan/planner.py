"""The memory plan: every activation and scratch buffer of a model placed in one arena."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from tinycompiler.plan.allocators import arena_size, best_placement, lower_bound
from tinycompiler.plan.buffers import Buffer, align_up
from tinycompiler.plan.inplace import inplace_candidates
from tinycompiler.plan.lifetimes import tensor_lifetimes, view_roots


@dataclass
class MemoryPlan:
    """Where everything lives in the arena.

    ``arena_bytes`` is the whole arena (activations, scratch, I/O): the number compiled into the
    firmware. ``tensor_offsets`` maps tensor index -> byte offset; ``scratch`` maps op index ->
    (offset, bytes); ``inplace`` lists the op indices that write over their input.
    """

    arena_bytes: int
    tensor_offsets: dict
    scratch: dict
    buffers: list
    offsets: list
    algorithm: str
    lower_bound_bytes: int
    steps: int = 0
    alive_bytes: list = field(default_factory=list)
    inplace: list = field(default_factory=list)

    def alive_at(self, step: int) -> list:
        """(buffer, offset) pairs alive at ``step``."""
        return [(b, o) for b, o in zip(self.buffers, self.offsets) if b.start <= step <= b.end]

    @property
    def peak_step(self) -> int:
        """The op index at which the most bytes are alive."""
        return max(range(len(self.alive_bytes)), key=lambda s: self.alive_bytes[s]) if self.alive_bytes else 0


class _Groups:
    """Union of tensors that share one buffer (views, in-place outputs)."""

    def __init__(self):
        self.parent = {}

    def find(self, t):
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, keep, other):
        self.parent[self.find(other)] = self.find(keep)


def _group_lifetimes(groups, life) -> dict:
    spans = {}
    for t, (s, e) in life.items():
        r = groups.find(t)
        s0, e0 = spans.get(r, (s, e))
        spans[r] = (min(s0, s), max(e0, e))
    return spans


def _buffers(graph, groups, life, scratch) -> list:
    spans = _group_lifetimes(groups, life)
    members = {}
    for t in life:
        members.setdefault(groups.find(t), []).append(t)
    buffers = []
    for r, ts in sorted(members.items()):
        size = max(graph.tensors[t].nbytes for t in ts)
        s, e = spans[r]
        buffers.append(Buffer(graph.tensors[r].name or f"t{r}", align_up(size), s, e, sorted(ts)))
    for op_index, n in sorted(scratch.items()):
        if n > 0:
            buffers.append(Buffer(f"op{op_index}.scratch", align_up(n), op_index, op_index, [], "scratch"))
    return buffers


def collect_buffers(graph, scratch_bytes: Optional[Callable] = None, inplace: bool = True) -> tuple:
    """(buffers, in-place op indices): one buffer per group of tensors sharing bytes, plus scratch.

    An in-place candidate is taken only when its input's whole group dies at that op (no later
    reader, not a graph output), so overwriting it loses nothing, and only when it does not raise
    the bytes alive at the busiest step (the merged buffer keeps the larger of the two sizes for
    the output's whole life, which can cost more than it saves).
    """
    life = tensor_lifetimes(graph)
    groups = _Groups()
    for t, r in view_roots(graph).items():
        groups.union(r, t)
    scratch = {op.index: int(scratch_bytes(op, graph)) if scratch_bytes is not None else 0 for op in graph.ops}
    inplace_ops = []
    if inplace:
        best = lower_bound(_buffers(graph, groups, life, scratch))
        for c in inplace_candidates(graph):
            spans = _group_lifetimes(groups, life)
            gi, go = groups.find(c.input), groups.find(c.output)
            if gi == go or spans[gi][1] != c.op or spans[go][0] != c.op:
                continue
            if any(groups.find(t) == gi for t in graph.outputs):
                continue
            trial = _Groups()
            trial.parent = dict(groups.parent)
            trial.union(c.input, c.output)
            trial_scratch = dict(scratch)
            trial_scratch[c.op] = max(scratch[c.op], c.scratch)
            bound = lower_bound(_buffers(graph, trial, life, trial_scratch))
            if bound <= best:
                groups, scratch, best = trial, trial_scratch, bound
                inplace_ops.append(c.op)
    return _buffers(graph, groups, life, scratch), inplace_ops


def plan_memory(graph, scratch_bytes: Optional[Callable] = None, algorithms=None, inplace: bool = True) -> MemoryPlan:
    """Plan one arena for ``graph``; ``scratch_bytes(op, graph)`` gives each op's scratch (bytes).

    Tries every registered placement algorithm (or ``algorithms``) and keeps the smallest arena.
    """
    buffers, inplace_ops = collect_buffers(graph, scratch_bytes, inplace)
    name, offsets = best_placement(buffers, algorithms)
    tensor_offsets, scratch = {}, {}
    for b, off in zip(buffers, offsets):
        for t in b.tensors:
            tensor_offsets[t] = off
        if b.kind == "scratch":
            scratch[int(b.name[2:].split(".")[0])] = (off, b.size)
    steps = len(graph.ops)
    alive = [sum(b.size for b in buffers if b.start <= s <= b.end) for s in range(steps)]
    return MemoryPlan(
        arena_bytes=arena_size(buffers, offsets),
        tensor_offsets=tensor_offsets,
        scratch=scratch,
        buffers=buffers,
        offsets=offsets,
        algorithm=name,
        lower_bound_bytes=lower_bound(buffers),
        steps=steps,
        alive_bytes=alive,
        inplace=inplace_ops,
    )
