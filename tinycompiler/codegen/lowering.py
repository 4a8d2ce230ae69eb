"""IR graph + memory plan -> Program (the static schedule the templates render)."""

from __future__ import annotations


from tinycompiler.codegen.lower import lowerers, scratch_table
from tinycompiler.codegen.lower.context import LowerContext
from tinycompiler.codegen.lower.float_tail import lower_float
from tinycompiler.codegen.lower.patch import lower_stage
from tinycompiler.codegen.program import IoSpec, Program
from tinycompiler.errors import TinyCompilerError
from tinycompiler.ir import VIEW_OPS
from tinycompiler.reference.float_tail import is_float_op

_CTYPE = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t", "float32": "float"}


def scratch_bytes(op, graph) -> int:
    """Bytes of scratch the kernel chosen for ``op`` needs (0 for most ops and the float tail)."""
    if is_float_op(op, graph):
        return 0
    fn = scratch_table().get(op.kind)
    return int(fn(op, graph)) if fn else 0


def _io(graph, plan, indices, written=None) -> list:
    specs = []
    for pos, t in enumerate(indices):
        tensor = graph.tensors[t]
        q = tensor.quant
        src = (written or {}).get(pos)
        specs.append(IoSpec(pos, t, tensor.name, plan.tensor_offsets[t], tensor.nbytes, _CTYPE[tensor.dtype],
                            tuple(tensor.shape), float(q.scale[0]) if q else 1.0, int(q.zero_point[0]) if q else 0,
                            written=src is not None,
                            write_shape=tuple(graph.tensors[src].shape) if src is not None else ()))
    return specs


def lower_graph(plan, lean: bool = False) -> Program:
    """One Call per op of the graph ``plan`` was made for (views need none: the plan gave them
    the same bytes). ``lean``: the size mode's constant layouts (see LowerContext)."""
    graph = plan.graph
    table = lowerers()
    ctx = LowerContext(graph, plan, lean)
    calls = []
    stage = set(plan.patch.stage_ops) if getattr(plan, "patch", None) is not None else set()
    for op in graph.ops:
        if op.index in stage:  # the patch stage: one Call (a loop over patches) at its split op
            call = lower_stage(graph, ctx) if op.index == plan.patch.split_op else None
            if call is not None:
                call.layer = len(calls)
                calls.append(call)
            continue
        if op.kind in VIEW_OPS:
            if plan.tensor_offsets[op.inputs[0]] != plan.tensor_offsets[op.outputs[0]]:
                raise TinyCompilerError(f"{op.where()}: the plan did not alias this view")
            continue
        fn = lower_float if is_float_op(op, graph) else table.get(op.kind)
        if fn is None:
            raise TinyCompilerError(f"{op.where()}: no C kernel for {op.kind} yet; supported: {', '.join(sorted(table))}")
        call = fn(op, graph, ctx)
        if call is not None:
            call.layer = len(calls)
            calls.append(call)
    return Program(graph.name, calls, plan.arena_bytes, _io(graph, plan, graph.inputs, graph.written_inputs),
                   _io(graph, plan, graph.outputs), plan)

