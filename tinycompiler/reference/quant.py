"""Fixed-point arithmetic shared by every reference kernel, written as TFLite/TFLM computes it.

Everything here is vectorized over numpy ``int64`` arrays that hold int32 values, so kernels can
accumulate in int64 and requantize whole tensors at once. Names are stable: the nonlinear kernels
and the C back-ends' tests import them.

* :func:`quantize_multiplier` -- TFLite's ``QuantizeMultiplier``: ``frexp`` of the double multiplier,
  significand rounded (half away from zero) to Q31, ``q == 2**31`` renormalised, shifts below -31
  flushed to zero. Returns ``(multiplier, shift)`` with ``shift > 0`` meaning a left shift.
* :func:`multiply_by_quantized_multiplier` -- gemmlowp double rounding:
  ``rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x << left, m), right)``.
* :func:`activation_range` -- ``CalculateActivationRangeQuantized`` for a fused activation.
"""

from __future__ import annotations

import math

import numpy as np

from tinycompiler.errors import TinyCompilerError

INT8_MIN, INT8_MAX = -128, 127
INT16_MIN, INT16_MAX = -32768, 32767
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


# --------------------------------------------------------------------------------------------------
# rounding helpers


def round_half_away(x):
    """``std::round`` / ``TfLiteRound``: round to nearest, ties away from zero, exactly.

    Keeps the floating dtype of ``x`` (float32 stays float32), so float32 kernels round in float32
    as the C++ ``std::round(float)`` does. ``x - trunc(x)`` is exact, so no ``+0.5`` error.
    """
    x = np.asarray(x)
    t = np.trunc(x)
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, and NaN in gives NaN out, as std::round
        frac = x - t
    return np.where(np.abs(frac) >= 0.5, t + np.sign(x), t).astype(x.dtype, copy=False)


def wrap_int32(x):
    """Two's-complement wrap of int64 values to the int32 range (what int32 C arithmetic does)."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


# --------------------------------------------------------------------------------------------------
# multipliers


def quantize_multiplier(double_multiplier: float) -> tuple:
    """TFLite ``QuantizeMultiplier``: ``(quantized_multiplier int32, shift int)``.

    ``real ~= quantized_multiplier * 2**(shift - 31)``; ``shift > 0`` is a left shift.
    """
    m = float(double_multiplier)
    if m == 0.0:
        return 0, 0
    if not math.isfinite(m):
        raise TinyCompilerError(f"quantization multiplier {m!r} is not finite; fix the model's scales")
    q, shift = math.frexp(m)
    # q in [0.5, 1): q * 2**31 is exact and below 2**31, so +-0.5 and floor are exact too
    qs = q * (1 << 31)
    q_fixed = int(math.floor(qs + 0.5)) if qs >= 0 else -int(math.floor(-qs + 0.5))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift = 0
        q_fixed = 0
    if q_fixed > INT32_MAX:
        raise TinyCompilerError(f"quantization multiplier {m!r} does not fit Q31")
    return int(q_fixed), int(shift)


def quantize_multiplier_array(multipliers) -> tuple:
    """:func:`quantize_multiplier` over an array of doubles: ``(int64[] multipliers, int64[] shifts)``."""
    arr = np.asarray(multipliers, dtype=np.float64).reshape(-1)
    ms = np.empty(arr.size, dtype=np.int64)
    ss = np.empty(arr.size, dtype=np.int64)
    for i, v in enumerate(arr):
        ms[i], ss[i] = quantize_multiplier(float(v))
    return ms, ss


def effective_scale(input_scale, filter_scale, output_scale):
    """``double(input_scale) * double(filter_scale) / double(output_scale)`` as TFLM derives it.

    Arguments are float32 scalars or arrays (as stored in the model); the result is float64.
    """
    return (np.float64(np.float32(input_scale)) * np.asarray(filter_scale, np.float32).astype(np.float64)
            / np.float64(np.float32(output_scale)))


def conv_multipliers(input_scale, filter_scales, output_scale, channels: int) -> tuple:
    """Per-output-channel ``(multiplier, shift)`` arrays for conv/depthwise/FC (per-tensor broadcast)."""
    fs = np.asarray(filter_scales, dtype=np.float32).reshape(-1)
    if fs.size == 1:
        fs = np.repeat(fs, channels)
    return quantize_multiplier_array(effective_scale(input_scale, fs, output_scale))


# --------------------------------------------------------------------------------------------------
# gemmlowp fixed-point primitives (vectorized over int64 arrays holding int32 values)


def _trunc_div_pow2(v, n: int):
    """C integer division ``v / 2**n`` (truncates toward zero) for int64 arrays."""
    return np.where(v >= 0, v >> n, -((-v) >> n))


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` on int32 values (given as int64 arrays)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    high = _trunc_div_pow2(ab + nudge, 31)
    return np.where(overflow, np.int64(INT32_MAX), high)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp ``RoundingDivideByPOT``: ``x / 2**exponent`` rounded half away from zero."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    return (x >> exponent) + (remainder > threshold).astype(np.int64)


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLite ``MultiplyByQuantizedMultiplier`` (int32 x, double rounding), vectorized.

    ``multiplier``/``shift`` may be scalars or arrays broadcasting against ``x`` (e.g. per channel
    on the last axis). ``x << left_shift`` wraps as int32 arithmetic does.
    """
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    if np.any(left):
        x = wrap_int32(x << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), right)


def multiply_by_quantized_multiplier_smaller_than_one_exp(x, multiplier, left_shift):
    """``MultiplyByQuantizedMultiplierSmallerThanOneExp`` (``left_shift <= 0``) as used by ADD."""
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier),
                                  -np.asarray(left_shift, dtype=np.int64))


def multiply_by_quantized_multiplier_greater_than_one(x, multiplier, left_shift):
    """``MultiplyByQuantizedMultiplierGreaterThanOne`` (``left_shift >= 0``)."""
    x = np.asarray(x, dtype=np.int64)
    return saturating_rounding_doubling_high_mul(wrap_int32(x << np.asarray(left_shift, np.int64)),
                                                 multiplier)


# --------------------------------------------------------------------------------------------------
# activation ranges and affine quantization


def quantize_value(scale, zero_point: int, f: float) -> int:
    """The helper behind CalculateActivationRangeQuantized: ``zp + int(round(float32(f) / scale))``.

    Computed in float32 as TFLite does (``float f / float scale``).
    """
    tmp = round_half_away(np.float32(f) / np.float32(scale))
    return int(zero_point) + int(tmp)


def activation_range(activation, scale, zero_point: int, qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple:
    """``CalculateActivationRangeQuantized``: ``(act_min, act_max)`` for a fused activation.

    ``activation`` is one of ``None``/"NONE", "RELU", "RELU6", "RELU_N1_TO_1".
    """
    act = activation or "NONE"
    if act == "NONE":
        return qmin, qmax
    if act == "RELU":
        return max(qmin, quantize_value(scale, zero_point, 0.0)), qmax
    if act == "RELU6":
        return (max(qmin, quantize_value(scale, zero_point, 0.0)),
                min(qmax, quantize_value(scale, zero_point, 6.0)))
    if act == "RELU_N1_TO_1":
        return (max(qmin, quantize_value(scale, zero_point, -1.0)),
                min(qmax, quantize_value(scale, zero_point, 1.0)))
    raise TinyCompilerError(f"unsupported fused activation {act!r}; use NONE, RELU, RELU6 or RELU_N1_TO_1")


def output_activation_range(op, graph, qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple:
    """:func:`activation_range` for ``op``'s fused activation and output tensor quantization."""
    out = op.output(graph)
    q = out.quant
    return activation_range(op.attrs.get("activation", "NONE"), q.s, q.zp, qmin, qmax)


def dtype_range(dtype: str) -> tuple:
    """(min, max) of an integer IR dtype."""
    info = np.iinfo(np.dtype(dtype))
    return int(info.min), int(info.max)


def requantize(acc, multiplier, shift, output_zero_point: int, act_min: int, act_max: int, dtype="int8"):
    """The common epilogue: ``clamp(mbqm(acc) + zp, act_min, act_max)`` cast to ``dtype``."""
    out = multiply_by_quantized_multiplier(acc, multiplier, shift) + int(output_zero_point)
    return np.clip(out, act_min, act_max).astype(dtype)
