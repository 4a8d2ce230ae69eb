"""QUANTIZE (float32 -> int, int -> int requantize) and DEQUANTIZE (int -> float32), as TFLM.

* float -> int: ``int32(round_half_away(float32(x) / float32(scale))) + zp`` in float32, clamped.
  A value whose rounded quotient does not fit int32 (or NaN) converts to INT32_MIN, as the x86
  host build of TFLM does (``cvttss2si``); the sum with the zero point then wraps as int32.
* int -> int: ``MultiplyByQuantizedMultiplier(x - zp_in, QuantizeMultiplier(s_in / s_out)) + zp_out``.
* int -> float: ``float(double(scale) * (x - zp))``.
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


def requantize(x, in_scale, in_zp: int, out_scale, out_zp: int, dtype: str):
    """TFLite's Requantize between integer types."""
    real = float(np.float32(in_scale)) / float(np.float32(out_scale))
    m, s = quantize_multiplier(real)
    v = multiply_by_quantized_multiplier(wrap_int32(x.astype(np.int64) - int(in_zp)), m, s) + int(out_zp)
    lo, hi = dtype_range(dtype)
    return np.clip(v, lo, hi).astype(dtype)


def quantize(op, graph, inputs):
    x = inputs[0]
    in_t, out = op.input(graph, 0), op.output(graph)
    if out.quant is None:
        raise TinyCompilerError(f"{op.where()}: output has no quantization parameters")
    if out.quant.per_channel:
        raise TinyCompilerError(f"{op.where()}: per-channel QUANTIZE is not supported (TFLM neither)")
    if x.dtype == np.float32:
        return affine_quantize(x, out.quant.s, out.quant.zp, out.dtype)
    if in_t.quant is None:
        raise TinyCompilerError(f"{op.where()}: integer input has no quantization parameters")
    return requantize(x, in_t.quant.s, in_t.quant.zp, out.quant.s, out.quant.zp, out.dtype)


def dequantize(op, graph, inputs):
    x = inputs[0]
    in_t = op.input(graph, 0)
    if in_t.quant is None:
        raise TinyCompilerError(f"{op.where()}: input has no quantization parameters")
    scale = np.float64(np.float32(in_t.quant.s))
    return (scale * (x.astype(np.int64) - in_t.quant.zp).astype(np.float64)).astype(np.float32)


KERNELS = {"QUANTIZE": quantize, "DEQUANTIZE": dequantize}
