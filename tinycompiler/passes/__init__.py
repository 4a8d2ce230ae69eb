"""Graph-to-graph passes run at code generation time (the IR given to TFLM stays untouched)."""

from tinycompiler.passes.fold_pad import fold_pads

__all__ = ["fold_pads"]


def codegen_graph(graph, plan=None):
    """The graph code generation plans and lowers: ``graph`` with the codegen passes applied.

    With ``plan``, the graph that plan was made for: the passed one when the plan counts its
    steps (a plan from :func:`tinycompiler.plan.plan_memory` on the graph as given), else the
    folded one (a plan from ``plan_for_codegen``).
    """
    folded = fold_pads(graph)
    if plan is not None and folded is not graph and getattr(plan, "steps", None) == len(graph.ops):
        return graph
    return folded
