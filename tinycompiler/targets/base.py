"""What every target (board) returns from a run."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunResult:
    """Outputs of one inference on a target.

    ``tensors`` maps tensor index -> array for targets that expose intermediates (the reference
    interpreter); ``metrics`` holds what the target measured (e.g. instructions, arena_bytes).
    """

    outputs: list
    tensors: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
