"""The memory plan: every activation and scratch buffer of a model placed in one arena."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from tinycompiler.plan.allocators import arena_size, best_placement, lower_bound
from tinycompiler.plan.buffers import Buffer, align_up
from tinycompiler.plan.lifetimes import tensor_lifetimes, view_roots


@dataclass
class MemoryPlan:
    """Where everything lives in the arena.

    ``arena_bytes`` is the whole arena (activations, scratch, I/O): the number compiled into the
    firmware. ``tensor_offsets`` maps tensor index -> byte offset; ``scratch`` maps op index ->
    (offset, bytes).
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

    def alive_at(self, step: int) -> list:
        """(buffer, offset) pairs alive at ``step``."""
        return [(b, o) for b, o in zip(self.buffers, self.offsets) if b.start <= step <= b.end]

    @property
    def peak_step(self) -> int:
        """The op index at which the most bytes are alive."""
        return max(range(len(self.alive_bytes)), key=lambda s: self.alive_bytes[s]) if self.alive_bytes else 0


def collect_buffers(graph, scratch_bytes: Optional[Callable] = None) -> list:
    """One buffer per activation tensor (views merged into what they view) plus per-op scratch."""
    roots = view_roots(graph)
    life = tensor_lifetimes(graph)
    groups = {}
    for t, (s, e) in life.items():
        r = roots.get(t, t)
        g = groups.setdefault(r, {"start": s, "end": e, "tensors": [], "size": 0})
        g["start"], g["end"] = min(g["start"], s), max(g["end"], e)
        g["tensors"].append(t)
        g["size"] = max(g["size"], graph.tensors[t].nbytes)
    buffers = [
        Buffer(graph.tensors[r].name or f"t{r}", align_up(g["size"]), g["start"], g["end"], sorted(g["tensors"]))
        for r, g in sorted(groups.items())
    ]
    if scratch_bytes is not None:
        for op in graph.ops:
            n = int(scratch_bytes(op, graph))
            if n > 0:
                buffers.append(Buffer(f"op{op.index}.scratch", align_up(n), op.index, op.index, [], "scratch"))
    return buffers


def plan_memory(graph, scratch_bytes: Optional[Callable] = None, algorithms=None) -> MemoryPlan:
    """Plan one arena for ``graph``; ``scratch_bytes(op, graph)`` gives each op's scratch (bytes).

    Tries every registered placement algorithm (or ``algorithms``) and keeps the smallest arena.
    """
    buffers = collect_buffers(graph, scratch_bytes)
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
    )
