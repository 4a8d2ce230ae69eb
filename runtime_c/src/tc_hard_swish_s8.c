/* HARD_SWISH int8 (reference_ops::HardSwish, quantized): TFLite's int16 fixed-point pipeline,
 * x * relu6(x + 3) / 6 with a 16-bit "reluish" factor. int16 truncations are reproduced. */
#include "tc_ops.h"
#include "tc_requant.h"

/* gemmlowp's int16 SaturatingRoundingDoublingHighMul. */
static inline int16_t hs_srdhm16(int16_t a, int16_t b)
{
    int32_t ab, nudge;
    if (a == b && a == INT16_MIN) {
        return INT16_MAX;
    }
    ab = (int32_t)a * (int32_t)b;
    nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* TFLite's non-rounding int16 doubling high multiply (hard_swish.h). */
static inline int16_t hs_sdhm16(int16_t a, int16_t b)
{
    if (a == b && a == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

static inline int16_t hs_sat_left_shift16(int16_t v, int amount)
{
    const int64_t r = (int64_t)v * ((int64_t)1 << amount);
    return (int16_t)(r > INT16_MAX ? INT16_MAX : (r < INT16_MIN ? INT16_MIN : r));
}

/* Two's-complement wrap of an int32 to int16 (C++ int16 assignment), written portably. */
static inline int16_t hs_wrap16(int32_t v)
{
    return (int16_t)((int32_t)((uint32_t)v & 0xFFFFu) - ((v & 0x8000) ? 0x10000 : 0));
}

/* gemmlowp's RoundingDivideByPOT on int16, including its int16 mask (all ones when e > 15). */
static inline int16_t hs_rdbpot16(int16_t x, int e)
{
    const int32_t mask = e >= 16 ? -1 : (int32_t)((1L << e) - 1);
    const int32_t remainder = hs_wrap16(x & mask);
    const int32_t threshold = hs_wrap16((mask >> 1) + (x < 0 ? 1 : 0));
    return hs_wrap16((x >> e) + (remainder > threshold ? 1 : 0));
}

void tc_hard_swish_s8(const tc_hard_swish_params *p, int32_t size, const int8_t *in,
                      int8_t *out)
{
    const int16_t out_m = (int16_t)p->output_multiplier_fixedpoint_int16;
    const int16_t relu_m = (int16_t)p->reluish_multiplier_fixedpoint_int16;
    const int relu_exp = (int)p->reluish_multiplier_exponent;
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int16_t v = (int16_t)((int32_t)in[i] - p->input_zp);
        const int16_t hires = (int16_t)(v * 128);
        const int16_t preshift_out = hs_srdhm16(hires, out_m);
        int16_t reluish = hires;
        int16_t o;
        if (relu_exp > 0) {
            reluish = hs_sat_left_shift16(reluish, relu_exp - 1);
        }
        reluish = hs_srdhm16(reluish, relu_m);
        if (relu_exp > 0) {
            reluish = hs_sat_left_shift16(reluish, 1);
        }
        if (relu_exp < 0) {
            reluish = hs_rdbpot16(reluish, -relu_exp);
        }
        reluish = (int16_t)((reluish + (1 << 15)) >> 1);
        o = hs_rdbpot16(hs_sdhm16(reluish, preshift_out), (int)-p->output_multiplier_exponent);
        o = hs_wrap16(o + p->output_zp);
        out[i] = (int8_t)(o > 127 ? 127 : (o < -128 ? -128 : o));
    }
}
