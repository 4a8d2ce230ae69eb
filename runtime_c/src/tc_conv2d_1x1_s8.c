/* int8 pointwise CONV_2D fast path (1x1 filter, no padding, any stride). */
#include "tc_conv.h"
#include "tc_conv_internal.h"

int tc_conv2d_1x1_s8_applies(const tc_conv_params *params, const tc_dims *input_dims,
                             const tc_dims *filter_dims)
{
    (void)input_dims;
    return filter_dims->h == 1 && filter_dims->w == 1 && params->pad_top == 0 && params->pad_left == 0;
}

int32_t tc_conv2d_1x1_s8_scratch_bytes(const tc_dims *input_dims, const tc_dims *filter_dims)
{
    (void)filter_dims;
    return 2 * input_dims->c;
}

tc_status tc_conv2d_1x1_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                           const tc_dims *input_dims, const int8_t *input,
                           const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                           const tc_dims *output_dims, int8_t *output, int16_t *scratch)
{
    if (!tc_conv_args_ok(params, quant, input_dims, input, filter_dims, filter, output_dims, output) ||
        scratch == NULL || !tc_conv2d_1x1_s8_applies(params, input_dims, filter_dims)) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;

    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)(in_h * in_w * in_c);
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy = oy * params->stride_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix = ox * params->stride_w;
                if (iy < in_h && ix < in_w) {
                    (void)tc_widen_s8_offset(in_b + (iy * in_w + ix) * in_c, scratch, in_c, params->input_offset);
                } else {
                    /* only reachable with an output larger than VALID/SAME gives: the tap is padding */
                    memset(scratch, 0, (size_t)in_c * sizeof(int16_t));
                }
                tc_conv_column_outputs(scratch, in_c, filter, bias, out_c, quant, params, output);
                output += out_c;
            }
        }
    }
    return TC_OK;
}
