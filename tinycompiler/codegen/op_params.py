"""Compile-time parameters of the non-conv int8 kernels (runtime_c/include/tc_ops.h).

One function per op kind, ``f(op, graph) -> dict``, computes every constant the kernel needs from
the op's attributes, constant inputs and quantization, exactly as TFLM's Prepare does. The
arithmetic itself has one home, the reference interpreter's ``<op>_params(op, graph)`` functions
(:mod:`tinycompiler.reference.nonlinear`, ``.elementwise``, ``.reduce``, ``.quantize``), which the
numpy kernels use too, so the C and the numpy reference cannot drift apart; this module arranges
their results in the C structs' field order and adds the C-specific items (shapes, strides,
kernel names, the limits of the C kernels). The dict:

* ``kernel``: the C function to call (``tc_add_s8``, ...).
* ``params``: the fields of the kernel's params struct, in declaration order (ints; lists of
  ``TC_MAX_DIMS`` ints for array fields; a float32-exact Python float for ``scale``, with
  ``scale_literal``, a C99 hex literal, next to it in the dict but not in ``params``).
* op-specific extras: ``broadcast`` (tc_broadcast fields) for ADD/MUL, ``in_dims``/``out_dims``
  (tc_dims fields n, h, w, c) for pooling and resize, ``size`` (element count) for elementwise
  kernels, ``outer``/``depth`` for the softmaxes, ``copy_sizes``/``requant`` arrays for concat.

``OP_PARAMS`` maps an op kind to its function; :func:`op_params` dispatches. Errors name the op and
say what is supported.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.ir import conv_pads
from tinycompiler.reference import nonlinear as _nl
from tinycompiler.reference.elementwise import add_params as _add_params
from tinycompiler.reference.elementwise import mul_params as _mul_params
from tinycompiler.reference.quant import dtype_range, output_activation_range
from tinycompiler.reference.quantize import dequantize_params as _dequantize_params
from tinycompiler.reference.quantize import quantize_params as _quantize_params
from tinycompiler.reference.quantize import requantize_params as _requantize_params
from tinycompiler.reference.reduce import mean_params as _mean_params

#: must equal TC_MAX_DIMS in tc_ops.h
MAX_DIMS = 6


# ------------------------------------------------------------------------------------------------
# helpers


def _pad_list(values, fill=0) -> list:
    values = [int(v) for v in values]
    if len(values) > MAX_DIMS:
        raise TinyCompilerError(f"rank {len(values)} exceeds the kernels' limit of {MAX_DIMS}")
    return values + [fill] * (MAX_DIMS - len(values))


def _row_strides(shape) -> list:
    strides, s = [], 1
    for d in reversed([int(v) for v in shape]):
        strides.append(s)
        s *= d
    return strides[::-1]


def _size(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _dims4(shape) -> dict:
    """tc_dims of a rank <= 4 shape (leading 1s), as TFLM's ExtendedShape(4, .)."""
    s = [1] * (4 - len(shape)) + [int(d) for d in shape]
    if len(s) != 4:
        raise TinyCompilerError(f"expected a rank <= 4 tensor, got shape {tuple(shape)}")
    return {"n": s[0], "h": s[1], "w": s[2], "c": s[3]}


def _int8_quant(op, t, what: str):
    if t.dtype != "int8" or t.quant is None:
        raise TinyCompilerError(f"{op.where()}: {what} must be a quantized int8 tensor, got {t.dtype}")
    if t.quant.per_channel:
        raise TinyCompilerError(f"{op.where()}: {what} must be per-tensor quantized, not per-channel")
    return t.quant


def _f32(v) -> float:
    return float(np.float32(v))


def _float_literal(v: float) -> str:
    """An exact C99 float literal (hex) for a float32 value."""
    return float(np.float32(v)).hex() + "f"


def _act(op, graph) -> tuple:
    out = op.output(graph)
    qmin, qmax = dtype_range(out.dtype)
    return output_activation_range(op, graph, qmin, qmax)


def _fields(values: dict, *names) -> dict:
    """``values`` restricted to ``names``, in that order (a C struct's declaration order)."""
    return {k: values[k] for k in names}


def _const_input(op, graph, i: int, what: str) -> np.ndarray:
    t = op.input(graph, i)
    if t is None or t.data is None:
        raise TinyCompilerError(f"{op.where()}: {what} (input {i}) must be a constant tensor")
    return np.asarray(t.data)


def collapse_strided(dims, *strides) -> tuple:
    """Drop size-1 dims and merge neighbours that every stride list walks contiguously.

    Returns ``(dims, strides_0, strides_1, ...)`` with at least one dim (``[1]`` for a scalar).
    """
    keep = [i for i, d in enumerate(dims) if int(d) != 1]
    d_out = [int(dims[i]) for i in keep]
    s_out = [[int(s[i]) for i in keep] for s in strides]
    i = len(d_out) - 2
    while i >= 0:
        if all(s[i] == s[i + 1] * d_out[i + 1] for s in s_out):
            d_out[i] *= d_out[i + 1]
            del d_out[i + 1]
            for s in s_out:
                s[i] = s[i + 1]
                del s[i + 1]
        i -= 1
    if not d_out:
        d_out = [1]
        s_out = [[0] for _ in s_out]
    return (d_out, *s_out)


def broadcast_params(shape1, shape2, out_shape) -> dict:
    """tc_broadcast fields for inputs of ``shape1``/``shape2`` broadcast to ``out_shape``."""
    rank = len(out_shape)
    s1 = [1] * (rank - len(shape1)) + [int(d) for d in shape1]
    s2 = [1] * (rank - len(shape2)) + [int(d) for d in shape2]
    out = [int(d) for d in out_shape]
    st1 = [0 if (a == 1 and o != 1) else s for a, o, s in zip(s1, out, _row_strides(s1))]
    st2 = [0 if (b == 1 and o != 1) else s for b, o, s in zip(s2, out, _row_strides(s2))]
    dims, st1, st2 = collapse_strided(out, st1, st2)
    return {"rank": len(dims), "out_dims": _pad_list(dims, 1), "in1_strides": _pad_list(st1),
            "in2_strides": _pad_list(st2)}


# ------------------------------------------------------------------------------------------------
# elementwise arithmetic


def add(op, graph) -> dict:
    q1 = _int8_quant(op, op.input(graph, 0), "input 1")
    q2 = _int8_quant(op, op.input(graph, 1), "input 2")
    out = op.output(graph)
    qo = _int8_quant(op, out, "the output")
    m = _add_params(op, graph)
    for k in ("input1_shift", "input2_shift", "output_shift"):
        if m[k] > 0:
            raise TinyCompilerError(
                f"{op.where()}: ADD output scale {qo.s!r} is too small for input scales "
                f"{q1.s!r}, {q2.s!r} (TFLM needs multipliers below one)")
    params = _fields(m, "input1_offset", "input2_offset", "left_shift", "input1_multiplier",
                     "input1_shift", "input2_multiplier", "input2_shift", "output_multiplier",
                     "output_shift", "output_offset", "act_min", "act_max")
    return {"kernel": "tc_add_s8", "params": params,
            "broadcast": broadcast_params(op.input(graph, 0).shape, op.input(graph, 1).shape, out.shape)}


def mul(op, graph) -> dict:
    _int8_quant(op, op.input(graph, 0), "input 1")
    _int8_quant(op, op.input(graph, 1), "input 2")
    out = op.output(graph)
    _int8_quant(op, out, "the output")
    params = _fields(_mul_params(op, graph), "input1_offset", "input2_offset", "output_offset",
                     "output_multiplier", "output_shift", "act_min", "act_max")
    return {"kernel": "tc_mul_s8", "params": params,
            "broadcast": broadcast_params(op.input(graph, 0).shape, op.input(graph, 1).shape, out.shape)}


# ------------------------------------------------------------------------------------------------
# pooling and reductions


def _pool(op, graph, kernel: str) -> dict:
    x, out = op.input(graph, 0), op.output(graph)
    _int8_quant(op, x, "the input")
    a = op.attrs
    fh, fw = int(a["filter_h"]), int(a["filter_w"])
    sh, sw = int(a.get("stride_h", 1)), int(a.get("stride_w", 1))
    top, _, left, _ = conv_pads(x.shape[1:3], (fh, fw), (sh, sw), (1, 1), a.get("padding", "VALID"))
    act_min, act_max = _act(op, graph)
    params = {"stride_h": sh, "stride_w": sw, "filter_h": fh, "filter_w": fw, "pad_top": top,
              "pad_left": left, "act_min": act_min, "act_max": act_max}
    return {"kernel": kernel, "params": params, "in_dims": _dims4(x.shape), "out_dims": _dims4(out.shape)}


def average_pool_2d(op, graph) -> dict:
    return _pool(op, graph, "tc_avgpool_s8")


def max_pool_2d(op, graph) -> dict:
    return _pool(op, graph, "tc_maxpool_s8")


def reduce_walk(shape, axes) -> dict:
    """tc_mean_params' walk fields for reducing ``axes`` of a row-major ``shape``: the kept and the
    reduced dims, each collapsed, with their input element strides."""
    axes = sorted(axes)
    strides = _row_strides(shape)
    kept = [i for i in range(len(shape)) if i not in axes]
    o_dims, o_str = collapse_strided([shape[i] for i in kept], [strides[i] for i in kept])
    r_dims, r_str = collapse_strided([shape[a] for a in axes], [strides[a] for a in axes])
    return {"out_rank": len(o_dims), "out_dims": _pad_list(o_dims, 1), "out_strides": _pad_list(o_str),
            "red_rank": len(r_dims), "red_dims": _pad_list(r_dims, 1), "red_strides": _pad_list(r_str)}


def mean(op, graph) -> dict:
    x, out = op.input(graph, 0), op.output(graph)
    _int8_quant(op, x, "the input")
    _int8_quant(op, out, "the output")
    m = _mean_params(op, graph, _const_input(op, graph, 1, "axes"))
    if m["n"] == 0 or _size(x.shape) == 0:
        raise TinyCompilerError(f"{op.where()}: MEAN of an empty tensor is not supported")
    params = {**reduce_walk(x.shape, m["axes"]), **_fields(m, "sum_offset", "multiplier", "shift", "output_zp")}
    return {"kernel": "tc_mean_s8", "params": params}


# ------------------------------------------------------------------------------------------------
# data movement


def pad(op, graph) -> dict:
    x, out = op.input(graph, 0), op.output(graph)
    p = _const_input(op, graph, 1, "paddings").astype(np.int64).reshape(-1, 2)
    if p.shape[0] != len(x.shape) or np.any(p < 0):
        raise TinyCompilerError(f"{op.where()}: paddings {p.tolist()} do not fit a rank-{len(x.shape)} "
                                f"input (one non-negative [before, after] row per dim)")
    if len(op.inputs) > 2 and op.inputs[2] is not None:
        value = int(np.asarray(_const_input(op, graph, 2, "constant_values")).reshape(-1)[0])
    else:
        value = _int8_quant(op, out, "the output").zp
    dims = [int(d) for d in x.shape] or [1]
    before = [int(v) for v in p[:, 0]] or [0]
    after = [int(v) for v in p[:, 1]] or [0]
    # merge a dim into its left neighbour when it is not padded
    i = len(dims) - 1
    while i > 0:
        if before[i] == 0 and after[i] == 0:
            d = dims.pop(i)
            before.pop(i)
            after.pop(i)
            dims[i - 1] *= d
            before[i - 1] *= d
            after[i - 1] *= d
        i -= 1
    params = {"rank": len(dims), "in_dims": _pad_list(dims, 1), "pad_before": _pad_list(before),
              "pad_after": _pad_list(after), "pad_value": value}
    return {"kernel": "tc_pad_s8", "params": params}


def transpose(op, graph) -> dict:
    x = op.input(graph, 0)
    perm = [int(v) for v in _const_input(op, graph, 1, "perm").reshape(-1)]
    if sorted(perm) != list(range(len(x.shape))):
        raise TinyCompilerError(f"{op.where()}: perm {perm} is not a permutation of the input's dims")
    strides = _row_strides(x.shape)
    dims, in_str = collapse_strided([x.shape[p] for p in perm], [strides[p] for p in perm])
    params = {"rank": len(dims), "out_dims": _pad_list(dims, 1), "in_strides": _pad_list(in_str)}
    return {"kernel": "tc_transpose_s8", "params": params}


def requant_params(in_quant, out_quant) -> dict:
    """tc_requant_params of an int8 -> int8 rescale (TFLM's Requantize / int8 QUANTIZE)."""
    return _fields(_requantize_params(in_quant.s, in_quant.zp, out_quant.s, out_quant.zp),
                   "multiplier", "shift", "input_zp", "output_zp")


def concatenation(op, graph) -> dict:
    out = op.output(graph)
    qo = _int8_quant(op, out, "the output")
    if op.attrs.get("activation", "NONE") not in (None, "NONE"):
        raise TinyCompilerError(f"{op.where()}: a fused activation on CONCATENATION is not supported")
    rank = len(out.shape)
    axis = int(op.attrs.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    outer = _size(out.shape[:axis])
    inner = _size(out.shape[axis + 1:])
    copy_sizes, requant, any_requant = [], [], False
    for i in range(len(op.inputs)):
        t = op.input(graph, i)
        q = _int8_quant(op, t, f"input {i}")
        copy_sizes.append(int(t.shape[axis]) * inner)
        if _f32(q.s) == _f32(qo.s) and q.zp == qo.zp:
            requant.append({"multiplier": 0, "shift": 0, "input_zp": 0, "output_zp": 0})
        else:  # TFLM refuses this; we requantize as int8 QUANTIZE would
            any_requant = True
            requant.append(requant_params(q, qo))
    return {"kernel": "tc_concat_s8", "num_inputs": len(op.inputs), "outer_size": outer,
            "copy_sizes": copy_sizes, "requant": requant if any_requant else None}


def resize_nearest_neighbor(op, graph) -> dict:
    x, out = op.input(graph, 0), op.output(graph)
    ac = bool(op.attrs.get("align_corners", False))
    hp = bool(op.attrs.get("half_pixel_centers", False))
    size = op.input(graph, 1)
    if size is not None and size.data is not None:
        oh, ow = (int(v) for v in np.asarray(size.data).reshape(-1)[:2])
        if (oh, ow) != (int(out.shape[1]), int(out.shape[2])):
            raise TinyCompilerError(f"{op.where()}: size input {(oh, ow)} disagrees with the output "
                                    f"shape {tuple(out.shape)}")
    return {"kernel": "tc_resize_nearest_s8",
            "params": {"align_corners": int(ac), "half_pixel_centers": int(hp)},
            "in_dims": _dims4(x.shape), "out_dims": _dims4(out.shape)}


def reshape(op, graph) -> dict:
    """RESHAPE/SQUEEZE: a view; ``tc_copy_s8`` only when the planner cannot alias."""
    return {"kernel": "tc_copy_s8", "size": _size(op.input(graph, 0).shape), "view": True}


# ------------------------------------------------------------------------------------------------
# nonlinear


def _rows(shape) -> tuple:
    shape = [int(d) for d in shape] or [1]
    return _size(shape[:-1]), shape[-1]


def softmax(op, graph) -> dict:
    p = _nl.softmax_params(op, graph)
    outer, depth = _rows(op.input(graph, 0).shape)
    return {"kernel": "tc_softmax_s8", "outer": outer, "depth": depth,
            "params": _fields(p, "input_multiplier", "input_left_shift", "diff_min")}


def log_softmax(op, graph) -> dict:
    p = _nl.log_softmax_params(op, graph)
    outer, depth = _rows(op.input(graph, 0).shape)
    return {"kernel": "tc_log_softmax_s8", "outer": outer, "depth": depth,
            "params": _fields(p, "input_multiplier", "input_left_shift", "reverse_scaling_divisor",
                              "reverse_scaling_shift", "diff_min")}


def logistic(op, graph) -> dict:
    p = _nl.logistic_params(op, graph)
    return {"kernel": "tc_logistic_s8", "size": _size(op.input(graph, 0).shape),
            "params": _fields(p, "input_zp", "input_range_radius", "input_multiplier",
                              "input_left_shift")}


def hard_swish(op, graph) -> dict:
    p = _nl.hard_swish_params(op, graph)
    return {"kernel": "tc_hard_swish_s8", "size": _size(op.input(graph, 0).shape),
            "params": _fields(p, "input_zp", "output_zp", "reluish_multiplier_fixedpoint_int16",
                              "reluish_multiplier_exponent", "output_multiplier_fixedpoint_int16",
                              "output_multiplier_exponent")}


def relu(op, graph) -> dict:
    p = _nl.relu_params(op, graph)
    return {"kernel": "tc_relu_s8", "size": _size(op.input(graph, 0).shape),
            "params": _fields(p, "input_zp", "output_zp", "output_multiplier", "output_shift",
                              "act_min", "act_max")}


def relu6(op, graph) -> dict:
    p = _nl.relu6_params(op, graph)
    return {"kernel": "tc_relu6_s8", "size": _size(op.input(graph, 0).shape),
            "params": _fields(p, "lower", "upper")}


# ------------------------------------------------------------------------------------------------
# (de)quantization


def quantize(op, graph) -> dict:
    x, out = op.input(graph, 0), op.output(graph)
    _int8_quant(op, out, "the output")
    if x.dtype == "float32":
        p = _quantize_params(op, graph)
        return {"kernel": "tc_quantize_f32_s8", "size": _size(x.shape),
                "params": _fields(p, "scale", "zero_point"), "scale_literal": _float_literal(p["scale"])}
    _int8_quant(op, x, "the input")
    return {"kernel": "tc_requantize_s8", "size": _size(x.shape),
            "params": _fields(_quantize_params(op, graph), "multiplier", "shift", "input_zp", "output_zp")}


def dequantize(op, graph) -> dict:
    x, out = op.input(graph, 0), op.output(graph)
    _int8_quant(op, x, "the input")
    if out.dtype != "float32":
        raise TinyCompilerError(f"{op.where()}: only int8 -> float32 DEQUANTIZE is supported")
    p = _dequantize_params(op, graph)
    return {"kernel": "tc_dequantize_s8_f32", "size": _size(x.shape),
            "params": _fields(p, "scale", "zero_point"), "scale_literal": _float_literal(p["scale"])}


OP_PARAMS = {
    "ADD": add,
    "MUL": mul,
    "AVERAGE_POOL_2D": average_pool_2d,
    "MAX_POOL_2D": max_pool_2d,
    "MEAN": mean,
    "PAD": pad,
    "TRANSPOSE": transpose,
    "CONCATENATION": concatenation,
    "RESIZE_NEAREST_NEIGHBOR": resize_nearest_neighbor,
    "RESHAPE": reshape,
    "SQUEEZE": reshape,
    "SOFTMAX": softmax,
    "LOG_SOFTMAX": log_softmax,
    "LOGISTIC": logistic,
    "HARD_SWISH": hard_swish,
    "RELU": relu,
    "RELU6": relu6,
    "QUANTIZE": quantize,
    "DEQUANTIZE": dequantize,
}


def op_params(op, graph) -> dict:
    """The kernel name and C-ready constants for ``op`` (see the module docstring)."""
    f = OP_PARAMS.get(op.kind)
    if f is None:
        raise TinyCompilerError(f"{op.where()}: no non-conv kernel for {op.kind}; these ops have one: "
                                f"{', '.join(OP_PARAMS)}")
    return f(op, graph)
