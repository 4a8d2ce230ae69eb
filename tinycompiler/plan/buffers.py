"""Buffers the arena planner places: a size in bytes and a lifetime over the schedule."""

from __future__ import annotations

from dataclasses import dataclass, field

#: every buffer starts on this boundary (bytes): word loads in the DSP kernels, float I/O
ALIGN_BYTES = 4


def align_up(n: int, a: int = ALIGN_BYTES) -> int:
    """``n`` rounded up to a multiple of ``a``."""
    return (n + a - 1) // a * a


@dataclass
class Buffer:
    """A region of the arena alive from step ``start`` to ``end`` inclusive (op indices).

    ``tensors`` are the IR tensors that live in it (several when views alias it); scratch buffers
    have none and a ``name`` such as ``op7.scratch``.
    """

    name: str
    size: int
    start: int
    end: int
    tensors: list = field(default_factory=list)
    kind: str = "tensor"

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.start <= other.end and other.start <= self.end
