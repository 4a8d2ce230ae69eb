"""What a lowering function may ask about the plan: arena offsets and scratch of an op."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinycompiler.codegen.carray import ConstArray


@dataclass
class LowerContext:
    graph: object
    plan: object
    #: lean constant layouts (``--opt Os``): requantization data in 5 bytes per channel for CONV_2D and
    #: none for in-place depthwise layers whose kernel folds it, at a few percent of speed
    lean: bool = False

    def offset(self, tensor_index: int) -> int:
        """Arena byte offset of an activation tensor."""
        return self.plan.tensor_offsets[tensor_index]

    def scratch(self, op) -> tuple:
        """(offset, bytes) of the op's scratch, or (None, 0) when it has none."""
        return self.plan.scratch.get(op.index, (None, 0))

    @staticmethod
    def array(op, role: str, values, dtype) -> ConstArray:
        """A const array named after its op and role, e.g. ``op3_filter``."""
        return ConstArray(f"op{op.index}_{role}", np.ascontiguousarray(np.asarray(values, dtype=dtype)))

