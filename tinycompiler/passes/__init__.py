"""Graph-to-graph passes run at code generation time (the IR given to TFLM stays untouched)."""

from tinycompiler.passes.boundary_io import apply_io, fuse_input_quantize, int8_io
from tinycompiler.passes.fold_pad import fold_pads

__all__ = ["apply_io", "fold_pads", "fuse_input_quantize", "int8_io"]


def codegen_graph(graph):
    """The graph code generation plans and lowers: ``graph`` with the codegen passes applied
    (a plan remembers the graph it was made for as ``MemoryPlan.graph``): float inputs quantized
    as they are written, PADs folded into their convolutions."""
    return fold_pads(fuse_input_quantize(graph))
