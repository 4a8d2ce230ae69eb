/* int8 FULLY_CONNECTED: per-tensor or per-channel requantization, optional bias, any batch. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

tc_status tc_fully_connected_s8(const tc_fc_params *params, const tc_per_channel_quant *quant,
                                int32_t batches, int32_t in_depth, int32_t out_depth,
                                const int8_t *input, const int8_t *weights, const int32_t *bias,
                                int8_t *output)
{
    if (params == NULL || quant == NULL || quant->multiplier == NULL || quant->shift == NULL ||
        input == NULL || weights == NULL || output == NULL || batches <= 0 || in_depth <= 0 || out_depth <= 0) {
        return TC_ERROR_ARGUMENT;
    }
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)in_depth;
        for (int32_t o = 0; o < out_depth; ++o) {
            int32_t acc = bias != NULL ? bias[o] : 0;
            acc = tc_dot_s8_offset(x, weights + (size_t)o * (size_t)in_depth, in_depth, params->input_offset, acc);
            const int32_t q = params->per_channel ? o : 0;
            *output++ = tc_conv_output(acc, quant->multiplier[q], quant->shift[q], params->output_offset,
                                       params->act);
        }
    }
    return TC_OK;
}
