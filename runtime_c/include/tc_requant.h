/* Fixed-point requantization, bit-exact with TFLite Micro's reference kernels.
 *
 * TFLM rescales int32 accumulators with gemmlowp's "double rounding":
 *   out = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc << left, multiplier), right)
 * Every kernel in this runtime goes through these helpers, so a kernel is exact as soon as its
 * accumulator is. Shifts are done on unsigned values to stay free of undefined behaviour. */
#ifndef TC_REQUANT_H
#define TC_REQUANT_H

#include <stdint.h>

#define TC_INLINE static inline

/* (a * b * 2) >> 32, rounded to nearest (ties away from zero), saturating INT32_MIN * INT32_MIN. */
TC_INLINE int32_t tc_sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    /* C division truncates toward zero, exactly as gemmlowp relies on. */
    return (int32_t)((ab + nudge) / (1LL << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero (exponent in 0..31). */
TC_INLINE int32_t tc_rounding_divide_by_pot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)((1LL << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM's MultiplyByQuantizedMultiplier: shift > 0 shifts left before the multiply. */
TC_INLINE int32_t tc_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return tc_rounding_divide_by_pot(tc_sat_rounding_doubling_high_mul(shifted, multiplier), right);
}

TC_INLINE int32_t tc_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* TC_REQUANT_H */
