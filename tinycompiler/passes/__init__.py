"""Graph-to-graph passes run at code generation time (the IR given to TFLM stays untouched)."""

from tinycompiler.passes.fold_pad import fold_pads

__all__ = ["fold_pads"]


def codegen_graph(graph):
    """The graph code generation plans and lowers: ``graph`` with the codegen passes applied
    (a plan remembers the graph it was made for as ``MemoryPlan.graph``)."""
    return fold_pads(graph)
