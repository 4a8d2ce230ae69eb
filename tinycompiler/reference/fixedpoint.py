"""gemmlowp-style fixed-point math for the nonlinear int8 kernels, vectorized over numpy.

Values are int32 held in ``int64`` arrays. A fixed-point number with ``k`` integer bits ("Qk")
has raw value ``real * 2**(31 - k)``. The functions follow the arithmetic TFLM uses for SOFTMAX,
LOG_SOFTMAX and LOGISTIC step by step, with the same int32 semantics: plain additions and
subtractions wrap (two's complement) and the multiplications by powers of two saturate, so the
results are bit-exact with TFLM, including in the corners.

The basic requantization primitives (doubling high multiply, rounding shift, multiplier
quantization) live in :mod:`tinycompiler.reference.quant`; this module builds the transcendental
functions on top of them.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.reference.quant import (
    INT32_MAX,
    INT32_MIN,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "add",
    "sub",
    "neg",
    "mul",
    "rdbpot",
    "saturating_add",
    "saturating_sub",
    "saturating_shift_left",
    "rescale",
    "rounding_half_sum",
    "count_leading_zeros32",
    "exp_on_negative_values",
    "one_over_one_plus_x_for_x_in_0_1",
    "logistic",
    "log_x_for_x_greater_than_or_equal_to_1",
    "get_reciprocal",
    "srdhm16",
    "saturating_doubling_high_mul16",
    "rdbpot16",
]


def _i64(x):
    return np.asarray(x, dtype=np.int64)


# ------------------------------------------------------------------------------------------------
# int32 primitives


def add(a, b):
    """int32 ``a + b`` with two's-complement wraparound."""
    return wrap_int32(_i64(a) + _i64(b))


def sub(a, b):
    """int32 ``a - b`` with two's-complement wraparound."""
    return wrap_int32(_i64(a) - _i64(b))


def neg(a):
    """int32 ``-a`` (``-INT32_MIN`` wraps to ``INT32_MIN``)."""
    return wrap_int32(-_i64(a))


def mul(a, b):
    """Fixed-point product (``Qa * Qb -> Q(a+b)``): the saturating rounding doubling high multiply."""
    return saturating_rounding_doubling_high_mul(a, b)


def rdbpot(x, exponent):
    """Rounding (half away from zero) division by ``2**exponent``, ``exponent >= 0``."""
    return rounding_divide_by_pot(x, exponent)


def saturating_add(a, b):
    """int32 ``a + b`` clamped to the int32 range."""
    return np.clip(_i64(a) + _i64(b), INT32_MIN, INT32_MAX)


def saturating_sub(a, b):
    """int32 ``a - b`` clamped to the int32 range."""
    return np.clip(_i64(a) - _i64(b), INT32_MIN, INT32_MAX)


def saturating_shift_left(x, exponent):
    """Multiply by ``2**exponent`` (``exponent >= 0``), saturating to the int32 range.

    Values with ``|x| > 2**(31 - exponent) - 1`` saturate, exactly like gemmlowp's
    ``SaturatingRoundingMultiplyByPOT`` for positive exponents (so ``-2**(31-e)`` saturates to
    ``INT32_MIN`` too, where the exact product would have fit).
    """
    x = _i64(x)
    exponent = _i64(exponent)
    threshold = (np.int64(1) << (31 - exponent)) - 1
    shifted = wrap_int32(x << exponent)
    out = np.where(x > threshold, np.int64(INT32_MAX), shifted)
    out = np.where(x < -threshold, np.int64(INT32_MIN), out)
    return np.where(exponent == 0, x, out)


def saturating_rounding_multiply_by_pot(x, exponent: int):
    """gemmlowp ``SaturatingRoundingMultiplyByPOT<exponent>`` for a scalar exponent of either sign."""
    if exponent > 0:
        return saturating_shift_left(x, exponent)
    if exponent < 0:
        return rdbpot(x, -exponent)
    return _i64(x)


def rescale(x, src_integer_bits: int, dst_integer_bits: int):
    """Change a raw value from ``Q(src)`` to ``Q(dst)`` (gemmlowp ``Rescale``)."""
    return saturating_rounding_multiply_by_pot(x, src_integer_bits - dst_integer_bits)


def rounding_half_sum(a, b):
    """``(a + b) / 2`` rounded half away from zero, computed in 64 bits (gemmlowp ``RoundingHalfSum``)."""
    s = _i64(a) + _i64(b)
    s = s + np.where(s >= 0, np.int64(1), np.int64(-1))
    # C division truncates toward zero
    return np.where(s >= 0, s >> 1, -((-s) >> 1))


def count_leading_zeros32(x):
    """Leading zero bits of ``x`` read as uint32 (32 for zero)."""
    u = _i64(x) & 0xFFFFFFFF
    # frexp is exact for integers below 2**53: u = m * 2**e with m in [0.5, 1) -> bit length e
    _, e = np.frexp(u.astype(np.float64))
    return 32 - e.astype(np.int64)


def _one(integer_bits: int) -> int:
    """Raw value of 1.0 in Q(integer_bits); Q0 cannot hold 1.0 and uses INT32_MAX (gemmlowp)."""
    return INT32_MAX if integer_bits == 0 else 1 << (31 - integer_bits)


# ------------------------------------------------------------------------------------------------
# transcendental functions (raw in, raw out)

# Q0.31 constants (their real values in the comments); the magic numbers are the rounded values.
_EXP_MINUS_1_8 = 1895147668  # exp(-1/8)
_ONE_THIRD = 715827883  # 1/3
_EXP_BARREL = (  # (bit exponent, Q0.31 of exp(-2**exponent))
    (-2, 1672461947),
    (-1, 1302514674),
    (0, 790015084),
    (1, 290630308),
    (2, 39332535),
    (3, 720401),
    (4, 242),
)
_Q2_48_OVER_17 = 1515870810  # 48/17 in Q2
_Q2_NEG_32_OVER_17 = -1010580540  # -32/17 in Q2


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a):
    """exp(a) for Q0 ``a`` in [-1/4, 0): Taylor series around -1/8, result in Q0."""
    x = add(a, 1 << 28)  # a + 1/8
    x2 = mul(x, x)
    x3 = mul(x2, x)
    x4 = mul(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = rdbpot(add(mul(add(x4_over_4, x3), _ONE_THIRD), x2), 1)
    return add(_EXP_MINUS_1_8, mul(_EXP_MINUS_1_8, add(x, poly)))


def exp_on_negative_values(a, integer_bits: int):
    """exp(a) for ``a <= 0`` given in Q(integer_bits); result in Q0 (raw ``INT32_MAX`` for 1.0).

    Splits ``a`` into a part in [-1/4, 0) (polynomial) and a multiple of 1/4, applied bit by bit
    with precomputed exp(-2**k) factors.
    """
    a = _i64(a)
    frac_bits = 31 - integer_bits
    one_quarter = 1 << (frac_bits - 2)
    a_mod_quarter_minus_one_quarter = sub(a & (one_quarter - 1), one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0))
    remainder = sub(a_mod_quarter_minus_one_quarter, a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = np.int64(1) << (frac_bits + exponent)
            result = np.where((remainder & bit) != 0, mul(result, multiplier), result)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))  # -32.0
        result = np.where(a < clamp, np.int64(0), result)
    return np.where(a == 0, np.int64(INT32_MAX), result)


def _newton_reciprocal_half_denominator(a):
    """Three Newton-Raphson steps for 1/(1+a), a in Q0 [0, 1); returns the Q2 estimate of 2/(1+a)."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = add(_Q2_48_OVER_17, mul(half_denominator, _Q2_NEG_32_OVER_17))
    for _ in range(3):
        half_denominator_times_x = mul(half_denominator, x)
        one_minus = sub(_one(2), half_denominator_times_x)
        x = add(x, rescale(mul(x, one_minus), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a):
    """1 / (1 + a) for Q0 ``a`` in [0, 1); result in Q0."""
    x = _newton_reciprocal_half_denominator(a)
    # x is 2/(1+a) in Q2, i.e. 1/(1+a) in Q1: rescale Q1 -> Q0
    return rescale(x, 1, 0)


def logistic(a, integer_bits: int):
    """1 / (1 + exp(-a)) for ``a`` in Q(integer_bits); result in Q0."""
    a = _i64(a)
    positive = a > 0
    abs_a = np.where(positive, a, neg(a))
    result_if_positive = one_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(neg(abs_a), integer_bits))
    result_if_negative = sub(INT32_MAX, result_if_positive)
    out = np.where(positive, result_if_positive, result_if_negative)
    return np.where(a == 0, np.int64(1 << 30), out)


# constants of TFLite's log(x) (Q0.31)
_LOG_2 = 1488522236  # log(2)
_SQRT_SQRT_HALF = 1805811301  # 0.5 ** 0.25
_SQRT_HALF = 1518500250  # sqrt(0.5)
_ONE_QUARTER = 536870912  # 1/4
_ALPHA_N = 117049297  # 11/240 * 2**0.25
_ALPHA_D = 127690142  # 1/20 * 2**0.25
_ALPHA_I = 1057819769  # 2 / 2**0.25 - 2**0.25
_ALPHA_F = 638450708  # 1/4 * 2**0.25


def log_x_for_x_greater_than_or_equal_to_1(x, input_integer_bits: int, output_integer_bits: int):
    """Natural log of ``x >= 1`` in Q(input_integer_bits); result in Q(output_integer_bits).

    TFLite's method: split off the power of two (to a quarter-octave via two candidate
    normalizations), then a rational approximation of the log of the remaining mantissa.
    """
    z_a = _i64(x)
    accum_bits = output_integer_bits + 1
    shifted_quarter = rescale(_ONE_QUARTER, 0, accum_bits)

    z_a_headroom_plus_1 = count_leading_zeros32(z_a)
    r_a_tmp = saturating_shift_left(z_a, z_a_headroom_plus_1 - 1)
    r_a_raw = saturating_shift_left(mul(r_a_tmp, _SQRT_HALF), 1)
    z_a_pow_2_adj = saturating_add(
        saturating_shift_left(input_integer_bits - z_a_headroom_plus_1, 31 - accum_bits),
        shifted_quarter)

    z_b = mul(z_a, _SQRT_HALF)
    z_b_headroom = count_leading_zeros32(z_b) - 1
    r_b_raw = saturating_shift_left(z_a, z_b_headroom)
    z_b_pow_2_adj = saturating_sub(
        saturating_shift_left(input_integer_bits - z_b_headroom, 31 - accum_bits),
        shifted_quarter)

    r = np.minimum(r_a_raw, r_b_raw)
    z_pow_2_adj = np.maximum(z_a_pow_2_adj, z_b_pow_2_adj)

    p = rounding_half_sum(r, _SQRT_SQRT_HALF)
    q = sub(r, _SQRT_SQRT_HALF)
    q = add(q, q)

    common_sq = mul(q, q)
    num = add(mul(q, r), mul(mul(q, common_sq), _ALPHA_N))
    denom_minus_one_0 = add(mul(p, add(add(_ALPHA_I, q), mul(_ALPHA_D, common_sq))),
                            mul(_ALPHA_F, q))
    recip_denom = one_over_one_plus_x_for_x_in_0_1(denom_minus_one_0)

    num_scaled = rescale(num, 0, accum_bits)
    total = add(mul(z_pow_2_adj, _LOG_2), mul(num_scaled, recip_denom))
    return rescale(total, accum_bits, output_integer_bits)


def get_reciprocal(x, x_integer_digits: int):
    """1/x for positive ``x`` in Q(x_integer_digits), as ``(Q0 raw, num_bits_over_unit)``.

    The result times ``2**-num_bits_over_unit`` is 1/x: x is normalized into [1, 2) first.
    """
    x = _i64(x)
    headroom_plus_one = count_leading_zeros32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((x & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    shifted_sum_minus_one = wrap_int32(shifted - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


# ------------------------------------------------------------------------------------------------
# int16 variants (HARD_SWISH)


def _trunc_div_pow2(v, n: int):
    return np.where(v >= 0, v >> n, -((-v) >> n))


def srdhm16(a, b):
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` on int16 values."""
    a = _i64(a)
    b = _i64(b)
    ab = a * b
    nudge = np.where(ab >= 0, np.int64(1 << 14), np.int64(1 - (1 << 14)))
    out = _trunc_div_pow2(ab + nudge, 15)
    return np.where((a == -32768) & (b == -32768), np.int64(32767), out)


def rdbpot16(x, exponent: int):
    """gemmlowp ``RoundingDivideByPOT`` instantiated for int16 values.

    Same as :func:`rdbpot` for exponents up to 15. From 16 on, gemmlowp's mask
    ``(1 << exponent) - 1`` is truncated to int16 (all ones, i.e. -1), and the result degenerates
    to ``-1`` for negative and ``+1`` for non-negative ``x``; TFLM's HARD_SWISH reaches this with
    very small input-to-output scale ratios, so it is reproduced.
    """
    x = _i64(x)
    mask = ((((1 << int(exponent)) - 1) + 32768) & 0xFFFF) - 32768
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    out = (x >> int(exponent)) + (remainder > threshold).astype(np.int64)
    return ((out + 32768) & 0xFFFF) - 32768


def saturating_doubling_high_mul16(a, b):
    """Like :func:`srdhm16` but truncating toward zero instead of rounding (TFLite hard-swish)."""
    a = _i64(a)
    b = _i64(b)
    out = _trunc_div_pow2(a * b, 15)
    return np.where((a == -32768) & (b == -32768), np.int64(32767), out)
