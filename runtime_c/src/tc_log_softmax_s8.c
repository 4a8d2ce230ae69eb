/* LOG_SOFTMAX int8 -> int8 along the last axis (reference_ops::LogSoftmaxQuantized): Q5.26
 * differences, gemmlowp exp, a Q12.19 sum, its fixed-point log in Q5.26, outputs on the fixed
 * 16/256 scale with zero point 127. */
#include "tc_fixedpoint.h"
#include "tc_ops.h"

void tc_log_softmax_s8(const tc_log_softmax_params *p, int32_t outer, int32_t depth,
                       const int8_t *in, int8_t *out)
{
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        const int8_t *row = in + (size_t)i * (size_t)depth;
        int8_t *orow = out + (size_t)i * (size_t)depth;
        int32_t max_in_row = -128;
        int32_t sum_q12 = 0;
        int32_t log_sum_q5, adjusted_diff_min, reverse;
        for (c = 0; c < depth; ++c) {
            max_in_row = row[c] > max_in_row ? row[c] : max_in_row;
        }
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)row[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t diff_q5 = tc_requantize(diff, p->input_multiplier, p->input_left_shift);
                sum_q12 = tc_fp_add(sum_q12,
                                    tc_fp_rescale(tc_fp_exp_on_negative_values(diff_q5, 5), 0, 12));
            }
        }
        log_sum_q5 = tc_fp_log_x_ge_1(sum_q12, 12, 5);
        reverse = tc_requantize(tc_fp_add(log_sum_q5, INT32_MIN), p->reverse_scaling_divisor,
                                p->reverse_scaling_shift);
        adjusted_diff_min = p->diff_min - 1 > reverse ? p->diff_min - 1 : reverse;
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)row[c] - max_in_row;
            if (diff > adjusted_diff_min) {
                const int32_t diff_q5 = tc_requantize(diff, p->input_multiplier, p->input_left_shift);
                const int32_t v = tc_rounding_divide_by_pot(tc_fp_sub(diff_q5, log_sum_q5), 31 - 5 - 4)
                                  + 127;
                orow[c] = (int8_t)tc_clamp(v, -128, 127);
            } else {
                orow[c] = -128;
            }
        }
    }
}
