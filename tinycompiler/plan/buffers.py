"""Buffers the arena planner places: a size in bytes and a lifetime over the schedule."""

from __future__ import annotations

from dataclasses import dataclass, field

#: every buffer starts on this boundary (bytes): word loads in the DSP kernels, float I/O
ALIGN_BYTES = 4


def align_up(n: int, a: int = ALIGN_BYTES) -> int:
    """``n`` rounded up to a multiple of ``a``."""
    return (n + a - 1) // a * a


def align_down(n: int, a: int = ALIGN_BYTES) -> int:
    """``n`` rounded down (towards minus infinity) to a multiple of ``a``."""
    return n // a * a


@dataclass
class Buffer:
    """A region of the arena alive from step ``start`` to ``end`` inclusive (op indices).

    ``tensors`` are the IR tensors that live in it (several when views alias it or an op writes
    its output over a dying input); scratch buffers have none and a ``name`` such as
    ``op7.scratch``. ``offsets`` maps a tensor to its byte offset from the buffer's start (a
    multiple of :data:`ALIGN_BYTES`; absent means 0): an output overlapping its input with a lag
    (see :mod:`tinycompiler.plan.overlap`) sits at a different offset from that input.
    """

    name: str
    size: int
    start: int
    end: int
    tensors: list = field(default_factory=list)
    kind: str = "tensor"
    offsets: dict = field(default_factory=dict)

    def offset_of(self, tensor: int) -> int:
        """Bytes from the buffer's start to where ``tensor`` starts."""
        return self.offsets.get(tensor, 0)

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.start <= other.end and other.start <= self.end


class TensorGroups:
    """Union-find of tensors that share one buffer (views, in-place and lagged outputs), each at a
    byte offset relative to its group's root (a weighted union-find)."""

    def __init__(self):
        self.parent = {}
        self.rel = {}  # tensor -> bytes from its parent's start to its own

    def find(self, t):
        """The root tensor of ``t``'s group."""
        return self._find(t)[0]

    def offset(self, t) -> int:
        """Bytes from the start of ``t``'s root tensor to the start of ``t`` (may be negative)."""
        return self._find(t)[1]

    def _find(self, t):
        self.parent.setdefault(t, t)
        self.rel.setdefault(t, 0)
        path = []
        while self.parent[t] != t:
            path.append(t)
            t = self.parent[t]
        root, acc = t, 0
        for node in reversed(path):  # compress: point every node on the path straight at the root
            acc += self.rel[node]
            self.parent[node], self.rel[node] = root, acc
        return root, (self.rel[path[0]] if path else 0)

    def union(self, keep, other, delta: int = 0):
        """Put ``other``'s group into ``keep``'s, with ``other`` starting ``delta`` bytes after ``keep``."""
        rk, ok = self._find(keep)
        ro, oo = self._find(other)
        if rk != ro:
            self.parent[ro], self.rel[ro] = rk, ok + delta - oo

    def copy(self) -> "TensorGroups":
        g = TensorGroups()
        g.parent, g.rel = dict(self.parent), dict(self.rel)
        return g


def group_lifetimes(groups, life) -> dict:
    """Group root -> (first step, last step) spanning every member's lifetime."""
    spans = {}
    for t, (s, e) in life.items():
        r = groups.find(t)
        s0, e0 = spans.get(r, (s, e))
        spans[r] = (min(s0, s), max(e0, e))
    return spans


def group_buffers(graph, groups, life, scratch) -> list:
    """One Buffer per group of tensors (members at their relative offsets), then one per scratch.

    ``life``: tensor -> (first, last step); ``scratch``: op index -> bytes.
    """
    spans = group_lifetimes(groups, life)
    members = {}
    for t in life:
        members.setdefault(groups.find(t), []).append(t)
    buffers = []
    for r, ts in sorted(members.items()):
        rel = {t: groups.offset(t) for t in ts}
        low = min(rel.values())
        offsets = {t: o - low for t, o in rel.items() if o != low}
        size = max(rel[t] - low + graph.tensors[t].nbytes for t in ts)
        s, e = spans[r]
        buffers.append(Buffer(graph.tensors[r].name or f"t{r}", align_up(size), s, e, sorted(ts), offsets=offsets))
    for op_index, n in sorted(scratch.items()):
        if n > 0:
            buffers.append(Buffer(f"op{op_index}.scratch", align_up(n), op_index, op_index, [], "scratch"))
    return buffers
