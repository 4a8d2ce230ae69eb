"""ADD and MUL (int8) with numpy/TFLite broadcasting, bit-exact with TFLM.

:func:`add_params` and :func:`mul_params` compute each op's constants (TFLM's Prepare) once, for
these kernels and for the C code generator (:mod:`tinycompiler.codegen.op_params`); their keys
are the fields of the C params structs (tc_ops.h).
"""

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


def add_multipliers(s1: float, s2: float, so: float, left_shift: int = ADD_LEFT_SHIFT_INT8) -> dict:
    """TFLM's ADD multipliers: inputs rescaled to ``2*max(s1, s2)``, then to the output scale."""
    s1, s2, so = float(np.float32(s1)), float(np.float32(s2)), float(np.float32(so))
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * so))
    return dict(left_shift=left_shift, input1_multiplier=m1, input1_shift=sh1,
                input2_multiplier=m2, input2_shift=sh2, output_multiplier=mo, output_shift=sho)


def _act_range(op, graph, out):
    qmin, qmax = dtype_range(out.dtype)
    return output_activation_range(op, graph, qmin, qmax)


def add_params(op, graph) -> dict:
    """ADD's constants: ``input1_offset``, ``input2_offset`` (minus the zero points),
    ``left_shift``, the :func:`add_multipliers`, ``output_offset`` and ``act_min``/``act_max``
    (the fused activation's clamp)."""
    q1, q2, out = _quants(op, graph)
    m = add_multipliers(q1.s, q2.s, out.quant.s)
    act_min, act_max = _act_range(op, graph, out)
    return {
        "input1_offset": -q1.zp, "input2_offset": -q2.zp, "left_shift": m["left_shift"],
        "input1_multiplier": m["input1_multiplier"], "input1_shift": m["input1_shift"],
        "input2_multiplier": m["input2_multiplier"], "input2_shift": m["input2_shift"],
        "output_multiplier": m["output_multiplier"], "output_shift": m["output_shift"],
        "output_offset": out.quant.zp, "act_min": act_min, "act_max": act_max,
    }


def mul_params(op, graph) -> dict:
    """MUL's constants: ``input1_offset``, ``input2_offset``, ``output_offset``, the
    ``output_multiplier``/``output_shift`` of ``s1 * s2 / s_out`` and ``act_min``/``act_max``."""
    q1, q2, out = _quants(op, graph)
    real = float(np.float32(q1.s)) * float(np.float32(q2.s)) / float(np.float32(out.quant.s))
    m, sh = quantize_multiplier(real)
    act_min, act_max = _act_range(op, graph, out)
    return {"input1_offset": -q1.zp, "input2_offset": -q2.zp, "output_offset": out.quant.zp,
            "output_multiplier": m, "output_shift": sh, "act_min": act_min, "act_max": act_max}


def add(op, graph, inputs):
    out = op.output(graph)
    p = add_params(op, graph)
    a = (inputs[0].astype(np.int64) + p["input1_offset"]) << p["left_shift"]
    b = (inputs[1].astype(np.int64) + p["input2_offset"]) << p["left_shift"]
    sa = multiply_by_quantized_multiplier_smaller_than_one_exp(a, p["input1_multiplier"], p["input1_shift"])
    sb = multiply_by_quantized_multiplier_smaller_than_one_exp(b, p["input2_multiplier"], p["input2_shift"])
    raw = wrap_int32(sa + sb)
    y = multiply_by_quantized_multiplier_smaller_than_one_exp(raw, p["output_multiplier"], p["output_shift"])
    y = y + p["output_offset"]
    return np.clip(y, p["act_min"], p["act_max"]).astype(out.dtype).reshape(out.shape)


def mul(op, graph, inputs):
    out = op.output(graph)
    p = mul_params(op, graph)
    prod = (inputs[0].astype(np.int64) + p["input1_offset"]) * (inputs[1].astype(np.int64) + p["input2_offset"])
    y = multiply_by_quantized_multiplier(prod, p["output_multiplier"], p["output_shift"]) + p["output_offset"]
    return np.clip(y, p["act_min"], p["act_max"]).astype(out.dtype).reshape(out.shape)


KERNELS = {"ADD": add, "MUL": mul}
