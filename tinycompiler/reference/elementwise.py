"""ADD and MUL (int8) with numpy/TFLite broadcasting, bit-exact with TFLM."""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.reference.quant import (
    dtype_range,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_smaller_than_one_exp,
    output_activation_range,
    quantize_multiplier,
    wrap_int32,
)

#: ADD's fixed left shift for int8 inputs (TFLM uses 15 for int16)
ADD_LEFT_SHIFT_INT8 = 20


def _quants(op, graph):
    a, b, out = op.input(graph, 0), op.input(graph, 1), op.output(graph)
    if a.quant is None or b.quant is None or out.quant is None:
        raise TinyCompilerError(f"{op.where()}: only quantized int8 {op.kind} is supported")
    return a.quant, b.quant, out


def add_params(s1: float, s2: float, so: float, left_shift: int = ADD_LEFT_SHIFT_INT8) -> dict:
    """TFLM's ADD multipliers: inputs rescaled to ``2*max(s1, s2)``, then to the output scale."""
    s1, s2, so = float(np.float32(s1)), float(np.float32(s2)), float(np.float32(so))
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * so))
    return dict(left_shift=left_shift, input1_multiplier=m1, input1_shift=sh1,
                input2_multiplier=m2, input2_shift=sh2, output_multiplier=mo, output_shift=sho)


def add(op, graph, inputs):
    q1, q2, out = _quants(op, graph)
    p = add_params(q1.s, q2.s, out.quant.s)
    a = (inputs[0].astype(np.int64) - q1.zp) << p["left_shift"]
    b = (inputs[1].astype(np.int64) - q2.zp) << p["left_shift"]
    sa = multiply_by_quantized_multiplier_smaller_than_one_exp(a, p["input1_multiplier"], p["input1_shift"])
    sb = multiply_by_quantized_multiplier_smaller_than_one_exp(b, p["input2_multiplier"], p["input2_shift"])
    raw = wrap_int32(sa + sb)
    y = multiply_by_quantized_multiplier_smaller_than_one_exp(raw, p["output_multiplier"], p["output_shift"])
    y = y + out.quant.zp
    qmin, qmax = dtype_range(out.dtype)
    act_min, act_max = output_activation_range(op, graph, qmin, qmax)
    return np.clip(y, act_min, act_max).astype(out.dtype).reshape(out.shape)


def mul(op, graph, inputs):
    q1, q2, out = _quants(op, graph)
    real = float(np.float32(q1.s)) * float(np.float32(q2.s)) / float(np.float32(out.quant.s))
    m, sh = quantize_multiplier(real)
    prod = (inputs[0].astype(np.int64) - q1.zp) * (inputs[1].astype(np.int64) - q2.zp)
    y = multiply_by_quantized_multiplier(prod, m, sh) + out.quant.zp
    qmin, qmax = dtype_range(out.dtype)
    act_min, act_max = output_activation_range(op, graph, qmin, qmax)
    return np.clip(y, act_min, act_max).astype(out.dtype).reshape(out.shape)


KERNELS = {"ADD": add, "MUL": mul}
