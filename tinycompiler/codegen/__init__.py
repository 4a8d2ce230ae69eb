"""Code generation: IR + memory plan -> a self-contained C bundle (model.h/.c, weights.c, runtime)."""

from __future__ import annotations


def plan_for_codegen(graph, patch="off", seams=()):
    """The memory plan with each op's kernel scratch in the arena, for the graph after the codegen
    passes (PADs folded into their convolutions: :func:`tinycompiler.passes.codegen_graph`).
    Ops whose faster kernel wants more scratch get it where the plan has that room free
    (:mod:`tinycompiler.plan.scratch_room`): the arena is the lean plan's.

    ``patch``: ``"off"``, ``"auto"``, ``"auto:F"``, ``"NxMxK"`` or a PatchPlan made for that
    graph (see :mod:`tinycompiler.plan.patch`; ``K`` counts the ops of the graph after the passes).
    """
    from tinycompiler.codegen.lower.conv import wide_scratch_wants
    from tinycompiler.codegen.lowering import scratch_bytes
    from tinycompiler.passes import codegen_graph
    from tinycompiler.plan import plan_memory
    from tinycompiler.plan.patch import resolve_patch
    from tinycompiler.plan.scratch_room import widen_scratch

    g = codegen_graph(graph)
    plan = plan_memory(g, scratch_bytes, patch=resolve_patch(g, patch, scratch_bytes), seams=seams)
    # faster kernel variants where their larger scratch fits in bytes the plan leaves free
    return widen_scratch(plan, wide_scratch_wants(g, plan))


def generate(graph, out_dir, plan=None, patch="off", region_names=(), lean: bool = False):
    """Plan (unless ``plan`` is given; with ``patch``, see :func:`plan_for_codegen`), lower and
    write the bundle for ``graph`` into ``out_dir``. ``region_names``: the RAM region of each part
    of a plan split at seams (main region first), naming the linker section of each arena.
    ``lean``: smaller constant layouts for a few percent of speed (what ``--opt Os`` asks for)."""
    from tinycompiler.codegen.bundle import write_bundle
    from tinycompiler.codegen.lowering import lower_graph

    plan = plan or plan_for_codegen(graph, patch)
    program = lower_graph(plan, lean)
    if plan.seams:
        names = tuple(region_names)
        if len(names) != len(plan.seams) + 1:
            raise ValueError("a plan split at seams needs one region name per part")
        program.arena_regions = [(name, start, size) for name, (start, size) in zip(names, plan.parts())]
    return write_bundle(program, out_dir)
