"""Code generation: IR + memory plan -> a self-contained C bundle (model.h/.c, weights.c, runtime)."""

from __future__ import annotations


def plan_for_codegen(graph, patch="off"):
    """The memory plan with each op's kernel scratch in the arena, for the graph after the codegen
    passes (PADs folded into their convolutions: :func:`tinycompiler.passes.codegen_graph`).

    ``patch``: ``"off"``, ``"auto"``, ``"auto:F"``, ``"NxMxK"`` or a PatchPlan made for that
    graph (see :mod:`tinycompiler.plan.patch`; ``K`` counts the ops of the graph after the passes).
    """
    from tinycompiler.codegen.lowering import scratch_bytes
    from tinycompiler.passes import codegen_graph
    from tinycompiler.plan import plan_memory
    from tinycompiler.plan.patch import resolve_patch

    g = codegen_graph(graph)
    return plan_memory(g, scratch_bytes, patch=resolve_patch(g, patch, scratch_bytes))


def generate(graph, out_dir, plan=None, patch="off"):
    """Plan (unless ``plan`` is given; with ``patch``, see :func:`plan_for_codegen`), lower and
    write the bundle for ``graph`` into ``out_dir``."""
    from tinycompiler.codegen.bundle import write_bundle
    from tinycompiler.codegen.lowering import lower_graph

    plan = plan or plan_for_codegen(graph, patch)
    return write_bundle(lower_graph(plan), out_dir)
