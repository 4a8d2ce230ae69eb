"""QUANTIZE (float32 -> int, int -> int requantize) and DEQUANTIZE (int -> float32), as TFLM.

* float -> int: ``int32(round_half_away(float32(x) / float32(scale))) + zp`` in float32, clamped.
  A value whose rounded quotient does not fit int32 (or NaN) converts to INT32_MIN, as the x86
  host build of TFLM does (``cvttss2si``); the sum with the zero point then wraps as int32.
* int -> int: ``MultiplyByQuantizedMultiplier(x - zp_in, QuantizeMultiplier(s_in / s_out)) + zp_out``.
* int -> float: ``float(double(scale) * (x - zp))``.

:func:`quantize_params`, :func:`dequantize_params` and :func:`requantize_params` compute the
constants once, for these kernels and for the C code generator (:mod:`tinycompiler.codegen.op_params`).
"""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.reference.quant import (
    dtype_range,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    round_half_away,
    wrap_int32,
)


def float_to_int32_x86(v):
    """``static_cast<int32_t>`` of float32 values as x86 SSE does: out of range / NaN -> INT32_MIN."""
    v = np.asarray(v, dtype=np.float32)
    ok = np.isfinite(v) & (v >= np.float32(-2.0**31)) & (v < np.float32(2.0**31))
    return np.where(ok, np.where(ok, v, 0).astype(np.int64), np.int64(-(2**31)))


def affine_quantize(x, scale, zero_point: int, dtype: str):
    """TFLite's AffineQuantize of float32 ``x`` to an integer ``dtype``."""
    q = round_half_away(np.asarray(x, np.float32) / np.float32(scale))
    v = wrap_int32(float_to_int32_x86(q) + int(zero_point))
    lo, hi = dtype_range(dtype)
    return np.clip(v, lo, hi).astype(dtype)


def affine_dequantize(q, scale, zero_point: int):
    """TFLite's Dequantize of integers ``q``: ``float32(double(float32 scale) * (q - zp))``."""
    s = np.float64(np.float32(scale))
    return (s * (np.asarray(q).astype(np.int64) - int(zero_point)).astype(np.float64)).astype(np.float32)


def requantize_params(in_scale, in_zp: int, out_scale, out_zp: int) -> dict:
    """Requantize's constants: ``multiplier``/``shift`` of ``float32(in_scale) / float32(out_scale)``
    (divided in double), ``input_zp``, ``output_zp``."""
    real = float(np.float32(in_scale)) / float(np.float32(out_scale))
    m, s = quantize_multiplier(real)
    return {"multiplier": m, "shift": s, "input_zp": int(in_zp), "output_zp": int(out_zp)}


def requantize(x, in_scale, in_zp: int, out_scale, out_zp: int, dtype: str):
    """TFLite's Requantize between integer types."""
    return _requantize_with(x, requantize_params(in_scale, in_zp, out_scale, out_zp), dtype)


def _requantize_with(x, p: dict, dtype: str):
    v = multiply_by_quantized_multiplier(wrap_int32(x.astype(np.int64) - p["input_zp"]),
                                         p["multiplier"], p["shift"]) + p["output_zp"]
    lo, hi = dtype_range(dtype)
    return np.clip(v, lo, hi).astype(dtype)


def quantize_params(op, graph) -> dict:
    """QUANTIZE's constants: for a float32 input ``scale`` (the output scale as a float32-exact
    float) and ``zero_point``; for an integer input the :func:`requantize_params`."""
    in_t, out = op.input(graph, 0), op.output(graph)
    if out.quant is None:
        raise TinyCompilerError(f"{op.where()}: output has no quantization parameters")
    if out.quant.per_channel:
        raise TinyCompilerError(f"{op.where()}: per-channel QUANTIZE is not supported (TFLM neither)")
    if in_t.dtype == "float32":
        return {"scale": float(np.float32(out.quant.s)), "zero_point": out.quant.zp}
    if in_t.quant is None:
        raise TinyCompilerError(f"{op.where()}: integer input has no quantization parameters")
    return requantize_params(in_t.quant.s, in_t.quant.zp, out.quant.s, out.quant.zp)


def dequantize_params(op, graph) -> dict:
    """DEQUANTIZE's constants: ``scale`` (float32-exact float) and ``zero_point`` of the input."""
    in_t = op.input(graph, 0)
    if in_t.quant is None:
        raise TinyCompilerError(f"{op.where()}: input has no quantization parameters")
    return {"scale": float(np.float32(in_t.quant.s)), "zero_point": in_t.quant.zp}


def quantize(op, graph, inputs):
    x = inputs[0]
    out = op.output(graph)
    p = quantize_params(op, graph)
    if x.dtype == np.float32:
        return affine_quantize(x, p["scale"], p["zero_point"], out.dtype)
    return _requantize_with(x, p, out.dtype)


def dequantize(op, graph, inputs):
    p = dequantize_params(op, graph)
    return affine_dequantize(inputs[0], p["scale"], p["zero_point"])


KERNELS = {"QUANTIZE": quantize, "DEQUANTIZE": dequantize}
