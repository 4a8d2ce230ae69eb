/* LOGISTIC int8 (reference_integer_ops::Logistic): the input in Q4.27, gemmlowp's fixed-point
 * sigmoid, the Q0 result rounded to 8 bits and offset by -128. */
#include "tc_fixedpoint.h"
#include "tc_ops.h"

void tc_logistic_s8(const tc_logistic_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t x = (int32_t)in[i] - p->input_zp;
        if (x <= -p->input_range_radius) {
            out[i] = -128;
        } else if (x >= p->input_range_radius) {
            out[i] = 127;
        } else {
            const int32_t x_q4 = tc_requantize(x, p->input_multiplier, p->input_left_shift);
            const int32_t y_q0 = tc_fp_logistic(x_q4, 4);
            const int32_t y = tc_rounding_divide_by_pot(y_q0, 31 - 8) - 128;
            out[i] = (int8_t)tc_clamp(y, -128, 127);
        }
    }
}
