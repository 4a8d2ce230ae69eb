/* int8 CONV_2D fast path for 3-channel (RGB) input layers: any kernel, stride, dilation, padding. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

int tc_conv2d_rgb_s8_applies(const tc_conv_params *params, const tc_dims *input_dims,
                             const tc_dims *filter_dims)
{
    (void)params;
    return input_dims->c == 3 && filter_dims->c == 3;
}

int32_t tc_conv2d_rgb_s8_scratch_bytes(const tc_dims *input_dims, const tc_dims *filter_dims)
{
    (void)input_dims;
    return 2 * filter_dims->h * filter_dims->w * 3;
}

tc_status tc_conv2d_rgb_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                           const tc_dims *input_dims, const int8_t *input,
                           const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                           const tc_dims *output_dims, int8_t *output, int16_t *scratch)
{
    if (!tc_conv_args_ok(params, quant, input_dims, input, filter_dims, filter, output_dims, output) ||
        scratch == NULL || !tc_conv2d_rgb_s8_applies(params, input_dims, filter_dims)) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t k = k_h * k_w * 3;
    const int32_t off = params->input_offset;
    const int32_t dil_h = params->dilation_h, dil_w = params->dilation_w;

    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)(in_h * in_w * 3);
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * params->stride_h - params->pad_top;
            int32_t ky0, ky1;
            tc_valid_taps(iy0, dil_h, k_h, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * params->stride_w - params->pad_left;
                int32_t kx0, kx1;
                tc_valid_taps(ix0, dil_w, k_w, in_w, &kx0, &kx1);
                if (ky0 > 0 || ky1 < k_h || kx0 > 0 || kx1 < k_w) {
                    memset(scratch, 0, (size_t)k * sizeof(int16_t));
                }
                for (int32_t ky = ky0; ky < ky1 && kx0 < kx1; ++ky) {
                    const int8_t *src = in_b + ((iy0 + ky * dil_h) * in_w + ix0 + kx0 * dil_w) * 3;
                    int16_t *dst = scratch + (ky * k_w + kx0) * 3;
                    const int32_t step = dil_w * 3;
                    for (int32_t kx = kx0; kx < kx1; ++kx) {
                        dst[0] = (int16_t)(src[0] + off);
                        dst[1] = (int16_t)(src[1] + off);
                        dst[2] = (int16_t)(src[2] + off);
                        dst += 3;
                        src += step;
                    }
                }
                tc_reorder_column(scratch, k);
                tc_conv_column_outputs(scratch, k, filter, bias, out_c, quant, params, output);
                output += out_c;
            }
        }
    }
    return TC_OK;
}
