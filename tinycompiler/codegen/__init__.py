"""Code generation: IR + memory plan -> a self-contained C bundle (model.h/.c, weights.c, runtime)."""

from __future__ import annotations


def plan_for_codegen(graph):
    """The memory plan with each op's kernel scratch in the arena."""
    from tinycompiler.codegen.lowering import scratch_bytes
    from tinycompiler.plan import plan_memory

    return plan_memory(graph, scratch_bytes)


def generate(graph, out_dir, plan=None):
    """Plan (unless ``plan`` is given), lower and write the bundle for ``graph`` into ``out_dir``."""
    from tinycompiler.codegen.bundle import write_bundle
    from tinycompiler.codegen.lowering import lower_graph

    plan = plan or plan_for_codegen(graph)
    return write_bundle(lower_graph(graph, plan), out_dir)
