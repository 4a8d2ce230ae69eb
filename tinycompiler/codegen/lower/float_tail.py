"""The float32 tail after a DEQUANTIZE lowered onto the ``tc_*_f32`` kernels (tc_float_tail_f32.c).

These ops run once per inference on a handful of values (the class scores), so the kernels are
plain loops; what matters is doing TFLM's float arithmetic in TFLM's order
(:mod:`tinycompiler.reference.float_tail`). Views (RESHAPE, SQUEEZE) need no code.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.codegen.lower.ops import _comment, _operand
from tinycompiler.codegen.op_params import _const_input, broadcast_params, reduce_walk
from tinycompiler.codegen.program import Call
from tinycompiler.errors import TinyCompilerError
from tinycompiler.ir import VIEW_OPS

#: float clamp bounds of each fused activation (C literals): TFLM clamps even with none, to the
#: largest finite floats (an infinity becomes FLT_MAX)
_MAX = "0x1.fffffep+127f"
_ACT = {None: ("-" + _MAX, _MAX), "NONE": ("-" + _MAX, _MAX), "RELU": ("0.0f", _MAX),
        "RELU6": ("0.0f", "6.0f"), "RELU_N1_TO_1": ("-1.0f", "1.0f")}


def _size(shape) -> int:
    return int(np.prod([int(d) for d in shape], dtype=np.int64)) if len(shape) else 1


def _act(op) -> tuple:
    a = op.attrs.get("activation")
    if a not in _ACT:
        raise TinyCompilerError(f"{op.where()}: fused activation {a} is not supported on float32")
    return _ACT[a]


def _call(op, graph, ctx, args, arrays, kernel) -> Call:
    p = {"kernel": kernel}
    return Call(op.index, "float_tail", _comment(op, graph, p), {"kind": op.kind, "kernel": kernel, **args},
                arrays, [kernel])


def lower_float(op, graph, ctx):
    """The Call of one float tail op (None for a view: the plan aliases its bytes)."""
    if op.kind in VIEW_OPS:
        return None
    arrays = []
    x = op.input(graph, 0)
    out = op.output(graph)
    base = {"input": _operand(op, graph, ctx, 0, arrays, "input"), "output": ctx.offset(out.index)}
    if op.kind in ("SOFTMAX", "LOG_SOFTMAX"):
        shape = [int(d) for d in x.shape] or [1]
        args = {**base, "outer": _size(shape[:-1]), "depth": shape[-1],
                "beta": float(np.float32(op.attrs.get("beta", 1.0))).hex() + "f"}
        return _call(op, graph, ctx, args, arrays, "tc_softmax_f32" if op.kind == "SOFTMAX" else "tc_log_softmax_f32")
    if op.kind in ("LOGISTIC", "TANH", "RELU"):
        return _call(op, graph, ctx, {**base, "size": _size(x.shape)}, arrays, f"tc_{op.kind.lower()}_f32")
    if op.kind in ("ADD", "MUL"):
        lo, hi = _act(op)
        args = {**base, "in2": _operand(op, graph, ctx, 1, arrays, "input2"), "act_min": lo, "act_max": hi,
                "broadcast": broadcast_params(x.shape, op.input(graph, 1).shape, out.shape)}
        return _call(op, graph, ctx, args, arrays, f"tc_{op.kind.lower()}_f32")
    if op.kind == "FULLY_CONNECTED":
        w = op.input(graph, 1)
        units, depth = (int(d) for d in w.shape)
        lo, hi = _act(op)
        bias = _operand(op, graph, ctx, 2, arrays, "bias") if op.input(graph, 2) is not None else None
        args = {**base, "weights": _operand(op, graph, ctx, 1, arrays, "weights"), "bias": bias,
                "rows": _size(x.shape) // depth, "depth": depth, "units": units, "act_min": lo, "act_max": hi}
        return _call(op, graph, ctx, args, arrays, "tc_fully_connected_f32")
    if op.kind == "MEAN":
        axes = {int(a) % len(x.shape) for a in _const_input(op, graph, 1, "axes").reshape(-1)}
        params = {**reduce_walk(x.shape, axes), "sum_offset": 0, "multiplier": 0, "shift": 0, "output_zp": 0}
        return _call(op, graph, ctx, {**base, "params": params}, arrays, "tc_mean_f32")
    if op.kind == "CONCATENATION":
        rank = len(out.shape)
        axis = int(op.attrs.get("axis", 0)) % rank
        inner = _size(out.shape[axis + 1:])
        inputs = [_operand(op, graph, ctx, i, arrays, f"input{i}") for i in range(len(op.inputs))]
        args = {"output": base["output"], "inputs": inputs, "outer_size": _size(out.shape[:axis]),
                "copy_sizes": [int(op.input(graph, i).shape[axis]) * inner for i in range(len(op.inputs))]}
        return _call(op, graph, ctx, args, arrays, "tc_concat_f32")
    raise TinyCompilerError(f"{op.where()}: no float32 kernel for {op.kind} in a float tail")
