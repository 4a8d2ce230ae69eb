/* QUANTIZE int8 -> int8 (TFLM Requantize): rescale to the output quantization and clamp. */
#include "tc_ops.h"
#include "tc_requant.h"

void tc_requantize_s8(const tc_requant_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t v = tc_requantize(in[i] - p->input_zp, p->multiplier, p->shift) + p->output_zp;
        out[i] = (int8_t)tc_clamp(v, -128, 127);
    }
}
