/* gemmlowp-style fixed-point helpers for the nonlinear int8 kernels (softmax, log-softmax,
 * logistic), written in C99 and bit-exact with the arithmetic TFLM's reference kernels use.
 *
 * A value "Qm" is an int32 whose top bit is the sign, then m integer bits, then 31-m fraction
 * bits. Multiplying Qa by Qb gives Q(a+b) via the rounding doubling high multiply; raw adds and
 * subtracts wrap modulo 2^32 (done on uint32 here so the C stays free of signed overflow).
 * Everything is `static inline`: each kernel file includes what it uses. */
#ifndef TC_FIXEDPOINT_H
#define TC_FIXEDPOINT_H

#include <stdint.h>

#include "tc_requant.h"

/* Wrapping int32 arithmetic (two's complement, as the C++ reference relies on). */
TC_INLINE int32_t tc_fp_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

TC_INLINE int32_t tc_fp_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* Product of two fixed-point values: Qa * Qb -> Q(a+b). */
TC_INLINE int32_t tc_fp_mul(int32_t a, int32_t b)
{
    return tc_sat_rounding_doubling_high_mul(a, b);
}

/* Multiply by 2^exponent, saturating when exponent > 0, rounding (half away) when < 0. */
TC_INLINE int32_t tc_fp_mul_pot(int32_t x, int exponent)
{
    if (exponent == 0) {
        return x;
    }
    if (exponent < 0) {
        return tc_rounding_divide_by_pot(x, -exponent);
    }
    {
        const int32_t threshold = (int32_t)((1LL << (31 - exponent)) - 1);
        if (x > threshold) {
            return INT32_MAX;
        }
        if (x < -threshold) {
            return INT32_MIN;
        }
        return (int32_t)((uint32_t)x << exponent);
    }
}

/* Change the number of integer bits of a value: Q(src) -> Q(dst). */
TC_INLINE int32_t tc_fp_rescale(int32_t x, int src_integer_bits, int dst_integer_bits)
{
    return tc_fp_mul_pot(x, src_integer_bits - dst_integer_bits);
}

/* (a + b) / 2 rounded half away from zero, computed without overflow. */
TC_INLINE int32_t tc_fp_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

TC_INLINE int32_t tc_fp_saturating_add(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)(sum > INT32_MAX ? INT32_MAX : (sum < INT32_MIN ? INT32_MIN : sum));
}

TC_INLINE int32_t tc_fp_saturating_sub(int32_t a, int32_t b)
{
    const int64_t diff = (int64_t)a - (int64_t)b;
    return (int32_t)(diff > INT32_MAX ? INT32_MAX : (diff < INT32_MIN ? INT32_MIN : diff));
}

/* Number of leading zero bits of a uint32 (32 for 0). */
TC_INLINE int tc_clz32(uint32_t x)
{
#if defined(__GNUC__)
    return x == 0 ? 32 : __builtin_clz(x);
#else
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
#endif
}

#define TC_FP_ONE_Q0 INT32_MAX /* 1.0 in Q0 saturates to the largest raw value */

/* exp(a) for a in [-1/4, 0), Q0 -> Q0: Taylor expansion around -1/8. */
TC_INLINE int32_t tc_fp_exp_on_interval_neg_quarter_0(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0 */
    const int32_t x = tc_fp_add(a, 1 << 28);         /* a + 1/8 */
    const int32_t x2 = tc_fp_mul(x, x);
    const int32_t x3 = tc_fp_mul(x2, x);
    const int32_t x4 = tc_fp_mul(x2, x2);
    const int32_t x4_over_4 = tc_fp_mul_pot(x4, -2);
    const int32_t poly = tc_fp_mul_pot(
        tc_fp_add(tc_fp_mul(tc_fp_add(x4_over_4, x3), one_third), x2), -1);
    return tc_fp_add(exp_minus_one_eighth, tc_fp_mul(exp_minus_one_eighth, tc_fp_add(x, poly)));
}

/* exp(a) for a <= 0 given in Q(integer_bits); result in Q0. */
TC_INLINE int32_t tc_fp_exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t barrel[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1)   */
        290630308,  /* exp(-2)   */
        39332535,   /* exp(-4)   */
        720401,     /* exp(-8)   */
        242,        /* exp(-16)  */
    };
    const int fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)(1L << (fractional_bits - 2));
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_quarter = tc_fp_sub(a & mask, one_quarter);
    int32_t result = tc_fp_exp_on_interval_neg_quarter_0(
        tc_fp_rescale(a_mod_quarter_minus_quarter, integer_bits, 0));
    const int32_t remainder = tc_fp_sub(a_mod_quarter_minus_quarter, a);
    int exponent;
    for (exponent = -2; exponent <= 4; ++exponent) {
        if (integer_bits > exponent) {
            const int shift_amount = fractional_bits + exponent;
            if (((uint32_t)remainder & ((uint32_t)1 << shift_amount)) != 0) {
                result = tc_fp_mul(result, barrel[exponent + 2]);
            }
        }
    }
    if (integer_bits > 5) {
        const int32_t clamp = -(int32_t)(1L << (36 - integer_bits)); /* -32.0 */
        if (a < clamp) {
            result = 0;
        }
    }
    if (a == 0) {
        result = TC_FP_ONE_Q0;
    }
    return result;
}

/* 1 / (1 + a) for a in [0, 1), Q0 -> Q0, by three Newton-Raphson steps in Q2. */
TC_INLINE int32_t tc_fp_one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t half_denominator = tc_fp_rounding_half_sum(a, TC_FP_ONE_Q0);
    const int32_t c48_over_17 = 1515870810;      /* 48/17 in Q2 */
    const int32_t c_neg_32_over_17 = -1010580540; /* -32/17 in Q2 */
    const int32_t one_q2 = 1 << 29;
    int32_t x = tc_fp_add(c48_over_17, tc_fp_mul(half_denominator, c_neg_32_over_17));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t hd_times_x = tc_fp_mul(half_denominator, x);          /* Q2 */
        const int32_t one_minus = tc_fp_sub(one_q2, hd_times_x);            /* Q2 */
        x = tc_fp_add(x, tc_fp_rescale(tc_fp_mul(x, one_minus), 4, 2));   /* Q4 -> Q2 */
    }
    /* x / 2 exactly: the same raw bits read as Q1; then Q1 -> Q0 (saturating) */
    return tc_fp_rescale(x, 1, 0);
}

/* logistic(a) for a in Q(integer_bits); result in Q0. */
TC_INLINE int32_t tc_fp_logistic(int32_t a, int integer_bits)
{
    int32_t abs_a;
    int32_t result_if_positive;
    if (a == 0) {
        return 1 << 30; /* 0.5 */
    }
    abs_a = a > 0 ? a : (int32_t)(0u - (uint32_t)a);
    result_if_positive = tc_fp_one_over_one_plus_x_for_x_in_0_1(
        tc_fp_exp_on_negative_values((int32_t)(0u - (uint32_t)abs_a), integer_bits));
    return a > 0 ? result_if_positive : tc_fp_sub(TC_FP_ONE_Q0, result_if_positive);
}

/* log(x) for x >= 1 given in Q(input_integer_bits); result in Q(output_integer_bits). */
TC_INLINE int32_t tc_fp_log_x_ge_1(int32_t input, int input_integer_bits, int output_integer_bits)
{
    const int accum_bits = output_integer_bits + 1;
    const int32_t log_2 = 1488522236;
    const int32_t sqrt_sqrt_half = 1805811301;
    const int32_t sqrt_half = 1518500250;
    const int32_t one_quarter = 536870912;
    const int32_t alpha_n = 117049297;
    const int32_t alpha_d = 127690142;
    const int32_t alpha_i = 1057819769;
    const int32_t alpha_f = 638450708;
    const int32_t shifted_quarter = tc_fp_rescale(one_quarter, 0, accum_bits);

    const int32_t z_a = input;
    const int z_a_headroom_plus_1 = tc_clz32((uint32_t)z_a);
    const int32_t r_a_tmp = tc_fp_mul_pot(z_a, z_a_headroom_plus_1 - 1);
    const int32_t r_a_raw = tc_fp_mul_pot(tc_fp_mul(r_a_tmp, sqrt_half), 1);
    const int32_t z_a_pow_2_adj = tc_fp_saturating_add(
        tc_fp_mul_pot((int32_t)(input_integer_bits - z_a_headroom_plus_1), 31 - accum_bits),
        shifted_quarter);

    const int32_t z_b = tc_fp_mul(z_a, sqrt_half);
    const int z_b_headroom = tc_clz32((uint32_t)z_b) - 1;
    const int32_t r_b_raw = tc_fp_mul_pot(z_a, z_b_headroom);
    const int32_t z_b_pow_2_adj = tc_fp_saturating_sub(
        tc_fp_mul_pot((int32_t)(input_integer_bits - z_b_headroom), 31 - accum_bits),
        shifted_quarter);

    const int32_t r = r_a_raw < r_b_raw ? r_a_raw : r_b_raw;
    const int32_t z_pow_2_adj = z_a_pow_2_adj > z_b_pow_2_adj ? z_a_pow_2_adj : z_b_pow_2_adj;

    const int32_t p = tc_fp_rounding_half_sum(r, sqrt_sqrt_half);
    int32_t q = tc_fp_sub(r, sqrt_sqrt_half);
    int32_t common_sq, num, denom_minus_one, recip_denom, num_scaled;
    q = tc_fp_add(q, q);

    common_sq = tc_fp_mul(q, q);
    num = tc_fp_add(tc_fp_mul(q, r), tc_fp_mul(tc_fp_mul(q, common_sq), alpha_n));
    denom_minus_one = tc_fp_add(
        tc_fp_mul(p, tc_fp_add(tc_fp_add(alpha_i, q), tc_fp_mul(alpha_d, common_sq))),
        tc_fp_mul(alpha_f, q));
    recip_denom = tc_fp_one_over_one_plus_x_for_x_in_0_1(denom_minus_one);

    num_scaled = tc_fp_rescale(num, 0, accum_bits);
    /* Q(accum)*Q0 -> Q(accum); sum, then Q(accum) -> Q(output) */
    return tc_fp_rescale(
        tc_fp_add(tc_fp_mul(z_pow_2_adj, log_2), tc_fp_mul(num_scaled, recip_denom)),
        accum_bits, output_integer_bits);
}

#endif /* TC_FIXEDPOINT_H */
