"""Tensor lifetimes over the execution order, with views folded into the tensor they view."""

from __future__ import annotations

from tinycompiler.ir import VIEW_OPS


def view_roots(graph) -> dict:
    """tensor index -> the tensor whose bytes it shares (itself unless it is a RESHAPE/SQUEEZE view)."""
    root = {}
    for op in graph.ops:
        if op.kind in VIEW_OPS:
            src = op.inputs[0]
            root[op.outputs[0]] = root.get(src, src)
    return root


def tensor_lifetimes(graph) -> dict:
    """tensor index -> (first step, last step) for every activation tensor.

    Steps are op indices. Graph inputs are alive from step 0, graph outputs until the last step:
    both live in the arena for the whole call (the caller writes inputs before, reads outputs after).
    """
    last = len(graph.ops) - 1
    life = {}
    for t in graph.inputs:
        life[t] = (0, 0)
    for step, op in enumerate(graph.ops):
        for t in op.outputs:
            s, e = life.get(t, (step, step))
            life[t] = (min(s, step), max(e, step))
        for t in op.inputs:
            if t is None or graph.tensors[t].is_const:
                continue
            s, e = life.get(t, (step, step))
            life[t] = (min(s, step), max(e, step))
    for t in graph.outputs:
        s, _ = life.get(t, (0, last))
        life[t] = (s, last)
    for t in graph.inputs:
        life[t] = (0, life[t][1])
    return life
