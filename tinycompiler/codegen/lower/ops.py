"""The non-conv ops lowered onto the tc_ops.h kernels.

Every constant comes from :func:`tinycompiler.codegen.op_params.op_params` (the same derivation the
kernel tests use); this module only adds where each operand lives: an arena offset for an
activation, or a const array in weights.c for a constant operand (e.g. the bias-like second input
of an ADD). The templates under ``templates/ops/`` render the result; none of these kernels needs
scratch.

An operand is a dict ``{"array": name or None, "offset": arena offset or None}`` that the
``operand`` macro of ``templates/ops/_common.c.j2`` renders as a pointer.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.codegen.op_params import op_params
from tinycompiler.codegen.program import Call

#: C params struct of each elementwise (params, size, in, out) int8 kernel
_UNARY_STRUCTS = {
    "tc_logistic_s8": "tc_logistic_params",
    "tc_hard_swish_s8": "tc_hard_swish_params",
    "tc_relu_s8": "tc_relu_params",
    "tc_relu6_s8": "tc_relu6_params",
    "tc_requantize_s8": "tc_requant_params",
}


def _operand(op, graph, ctx, i: int, arrays: list, role: str) -> dict:
    """Where input ``i`` of ``op`` lives: a const array (appended to ``arrays``) or the arena."""
    t = op.input(graph, i)
    if t.data is not None:
        arr = ctx.array(op, role, np.asarray(t.data).reshape(-1), np.dtype(t.dtype))
        arrays.append(arr)
        return {"array": arr.name, "offset": None}
    return {"array": None, "offset": ctx.offset(t.index)}


def _shape(t) -> str:
    return "x".join(str(int(d)) for d in t.shape) or "scalar"


def _comment(op, graph, p, extra: str = "") -> str:
    ins = ", ".join(_shape(op.input(graph, i)) for i in range(len(op.inputs))
                    if op.input(graph, i) is not None and op.input(graph, i).data is None)
    text = f"{op.kind} {ins} -> {_shape(op.output(graph))}"
    return f"{text} {extra}({p['kernel']})" if extra else f"{text} ({p['kernel']})"


def lower_binary(op, graph, ctx) -> Call:
    p = op_params(op, graph)
    arrays = []
    args = {"kernel": p["kernel"], "struct": "tc_add_params" if op.kind == "ADD" else "tc_mul_params",
            "params": p["params"], "broadcast": p["broadcast"],
            "in1": _operand(op, graph, ctx, 0, arrays, "input1"),
            "in2": _operand(op, graph, ctx, 1, arrays, "input2"),
            "output": ctx.offset(op.outputs[0])}
    return Call(op.index, "binary", _comment(op, graph, p), args, arrays, [p["kernel"]])


def lower_pool(op, graph, ctx) -> Call:
    p = op_params(op, graph)
    arrays = []
    a = p["params"]
    args = {"kernel": p["kernel"], "params": a, "in_dims": p["in_dims"], "out_dims": p["out_dims"],
            "checked": p["kernel"] == "tc_avgpool_s8",  # returns tc_status
            "input": _operand(op, graph, ctx, 0, arrays, "input"), "output": ctx.offset(op.outputs[0])}
    extra = f"{a['filter_h']}x{a['filter_w']} s{a['stride_h']}x{a['stride_w']} "
    return Call(op.index, "pool", _comment(op, graph, p, extra), args, arrays, [p["kernel"]])


def _strided(op, graph, ctx, template: str, struct: str) -> Call:
    """MEAN, PAD, TRANSPOSE: ``kernel(&params, in, out)``."""
    p = op_params(op, graph)
    arrays = []
    args = {"kernel": p["kernel"], "struct": struct, "params": p["params"],
            "input": _operand(op, graph, ctx, 0, arrays, "input"), "output": ctx.offset(op.outputs[0])}
    return Call(op.index, template, _comment(op, graph, p), args, arrays, [p["kernel"]])


def lower_mean(op, graph, ctx) -> Call:
    return _strided(op, graph, ctx, "mean", "tc_mean_params")


def lower_pad(op, graph, ctx) -> Call:
    return _strided(op, graph, ctx, "pad", "tc_pad_params")


def lower_transpose(op, graph, ctx) -> Call:
    return _strided(op, graph, ctx, "transpose", "tc_transpose_params")


def lower_concat(op, graph, ctx) -> Call:
    p = op_params(op, graph)
    arrays = []
    inputs = [_operand(op, graph, ctx, i, arrays, f"input{i}") for i in range(len(op.inputs))]
    args = {"kernel": p["kernel"], "num_inputs": p["num_inputs"], "outer_size": p["outer_size"],
            "copy_sizes": p["copy_sizes"], "requant": p["requant"], "inputs": inputs,
            "output": ctx.offset(op.outputs[0])}
    return Call(op.index, "concat", _comment(op, graph, p), args, arrays, [p["kernel"]])


def lower_resize(op, graph, ctx) -> Call:
    p = op_params(op, graph)
    arrays = []
    args = {"kernel": p["kernel"], "params": p["params"], "in_dims": p["in_dims"], "out_dims": p["out_dims"],
            "input": _operand(op, graph, ctx, 0, arrays, "input"), "output": ctx.offset(op.outputs[0])}
    return Call(op.index, "resize", _comment(op, graph, p), args, arrays, [p["kernel"]])


def lower_softmax(op, graph, ctx) -> Call:
    p = op_params(op, graph)
    arrays = []
    struct = "tc_softmax_params" if op.kind == "SOFTMAX" else "tc_log_softmax_params"
    args = {"kernel": p["kernel"], "struct": struct, "params": p["params"], "outer": p["outer"],
            "depth": p["depth"], "input": _operand(op, graph, ctx, 0, arrays, "input"),
            "output": ctx.offset(op.outputs[0])}
    return Call(op.index, "softmax", _comment(op, graph, p), args, arrays, [p["kernel"]])


def _unary_call(op, graph, ctx, p) -> Call:
    arrays = []
    args = {"kernel": p["kernel"], "struct": _UNARY_STRUCTS[p["kernel"]], "params": p["params"],
            "size": p["size"], "input": _operand(op, graph, ctx, 0, arrays, "input"),
            "output": ctx.offset(op.outputs[0])}
    return Call(op.index, "unary", _comment(op, graph, p), args, arrays, [p["kernel"]])


def lower_unary(op, graph, ctx) -> Call:
    """LOGISTIC, HARD_SWISH, RELU, RELU6: ``kernel(&params, size, in, out)``."""
    return _unary_call(op, graph, ctx, op_params(op, graph))


def _affine_call(op, graph, ctx, p, template: str) -> Call:
    arrays = []
    args = {"kernel": p["kernel"], "scale_literal": p["scale_literal"], "zero_point": p["params"]["zero_point"],
            "size": p["size"], "input": _operand(op, graph, ctx, 0, arrays, "input"),
            "output": ctx.offset(op.outputs[0])}
    return Call(op.index, template, _comment(op, graph, p), args, arrays, [p["kernel"]])


def lower_quantize(op, graph, ctx) -> Call:
    """float32 -> int8 (tc_quantize_f32_s8) or int8 -> int8 (tc_requantize_s8)."""
    p = op_params(op, graph)
    if p["kernel"] == "tc_requantize_s8":
        return _unary_call(op, graph, ctx, p)
    return _affine_call(op, graph, ctx, p, "quantize")


def lower_dequantize(op, graph, ctx) -> Call:
    return _affine_call(op, graph, ctx, op_params(op, graph), "dequantize")


LOWER = {
    "ADD": lower_binary,
    "MUL": lower_binary,
    "AVERAGE_POOL_2D": lower_pool,
    "MAX_POOL_2D": lower_pool,
    "MEAN": lower_mean,
    "PAD": lower_pad,
    "CONCATENATION": lower_concat,
    "TRANSPOSE": lower_transpose,
    "RESIZE_NEAREST_NEIGHBOR": lower_resize,
    "SOFTMAX": lower_softmax,
    "LOG_SOFTMAX": lower_softmax,
    "LOGISTIC": lower_unary,
    "HARD_SWISH": lower_unary,
    "RELU": lower_unary,
    "RELU6": lower_unary,
    "QUANTIZE": lower_quantize,
    "DEQUANTIZE": lower_dequantize,
}
#: none of the tc_ops.h kernels needs scratch
SCRATCH: dict = {}
