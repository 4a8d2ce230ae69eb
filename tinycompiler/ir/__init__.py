"""Graph IR shared by every stage: :class:`Graph` of :class:`Op` over :class:`Tensor`."""

from tinycompiler.ir.graph import DTYPE_BYTES, Graph, Op, Quant, Tensor
from tinycompiler.ir.ops import ACTIVATIONS, SUPPORTED_OPS, VIEW_OPS, supported_list
from tinycompiler.ir.shapes import conv_output_size, conv_pads, same_pads

__all__ = [
    "ACTIVATIONS",
    "DTYPE_BYTES",
    "Graph",
    "Op",
    "Quant",
    "SUPPORTED_OPS",
    "Tensor",
    "VIEW_OPS",
    "conv_output_size",
    "conv_pads",
    "same_pads",
    "supported_list",
]
