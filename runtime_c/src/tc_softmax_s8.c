/* SOFTMAX int8 -> int8 along the last axis (reference_ops::Softmax, int8 path): differences to
 * the row max scaled to Q5.26, gemmlowp exp, a Q12.19 sum, its reciprocal, and outputs on the
 * fixed 1/256 scale with zero point -128. */
#include "tc_fixedpoint.h"
#include "tc_ops.h"

void tc_softmax_s8(const tc_softmax_params *p, int32_t outer, int32_t depth, const int8_t *in,
                   int8_t *out)
{
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        const int8_t *row = in + (size_t)i * (size_t)depth;
        int8_t *orow = out + (size_t)i * (size_t)depth;
        int32_t max_in_row = -128;
        int32_t sum_of_exps = 0; /* Q12 */
        int32_t headroom_plus_one, num_bits_over_unit, shifted_scale, exponent;
        for (c = 0; c < depth; ++c) {
            max_in_row = row[c] > max_in_row ? row[c] : max_in_row;
        }
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)row[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = tc_requantize(diff, p->input_multiplier, p->input_left_shift);
                sum_of_exps = tc_fp_add(sum_of_exps,
                                        tc_fp_rescale(tc_fp_exp_on_negative_values(scaled, 5), 0, 12));
            }
        }
        /* GetReciprocal(sum, 12): 1/sum as a Q0 value and a power-of-two exponent */
        headroom_plus_one = tc_clz32((uint32_t)sum_of_exps);
        num_bits_over_unit = 12 - headroom_plus_one;
        shifted_scale = tc_fp_one_over_one_plus_x_for_x_in_0_1(
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31)));
        exponent = num_bits_over_unit + 31 - 8;
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)row[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = tc_requantize(diff, p->input_multiplier, p->input_left_shift);
                const int32_t e = tc_fp_exp_on_negative_values(scaled, 5);
                const int32_t v = tc_rounding_divide_by_pot(tc_fp_mul(shifted_scale, e), exponent) - 128;
                orow[c] = (int8_t)tc_clamp(v, -128, 127);
            } else {
                orow[c] = -128;
            }
        }
    }
}
