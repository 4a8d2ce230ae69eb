/* RELU and RELU6 int8 as TFLM: RELU requantizes to the output scale and clamps at zero; RELU6
 * clamps in input units to [zp_in, q_in(6)] and does not requantize. */
#include "tc_ops.h"
#include "tc_requant.h"

void tc_relu_s8(const tc_relu_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t v = p->output_zp
                          + tc_requantize(in[i] - p->input_zp, p->output_multiplier, p->output_shift);
        out[i] = (int8_t)tc_clamp(v, p->act_min, p->act_max);
    }
}

void tc_relu6_s8(const tc_relu6_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t v = in[i];
        out[i] = (int8_t)(v > p->upper ? p->upper : (v < p->lower ? p->lower : v));
    }
}
