/* Reference int8 DEPTHWISE_CONV_2D: any depth multiplier, kernel, stride, dilation and padding. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

tc_status tc_depthwise_conv2d_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                 const tc_dims *input_dims, const int8_t *input,
                                 const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                 const tc_dims *output_dims, int8_t *output)
{
    if (!tc_dw_args_ok(params, quant, input_dims, filter_dims, filter, output_dims) || input == NULL ||
        output == NULL) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t mult = params->depth_multiplier;

    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)(in_h * in_w * in_c);
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * params->stride_h - params->pad_top;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * params->stride_w - params->pad_left;
                for (int32_t ic = 0; ic < in_c; ++ic) {
                    for (int32_t m = 0; m < mult; ++m) {
                        const int32_t oc = ic * mult + m;
                        int32_t acc = 0;
                        for (int32_t ky = 0; ky < k_h; ++ky) {
                            const int32_t iy = iy0 + ky * params->dilation_h;
                            if (iy < 0 || iy >= in_h) {
                                continue;
                            }
                            for (int32_t kx = 0; kx < k_w; ++kx) {
                                const int32_t ix = ix0 + kx * params->dilation_w;
                                if (ix < 0 || ix >= in_w) {
                                    continue;
                                }
                                const int32_t x = in_b[(iy * in_w + ix) * in_c + ic];
                                const int32_t w = filter[(ky * k_w + kx) * out_c + oc];
                                acc += (x + params->input_offset) * w;
                            }
                        }
                        if (bias != NULL) {
                            acc += bias[oc];
                        }
                        output[oc] = tc_conv_output(acc, quant->multiplier[oc], quant->shift[oc],
                                                    params->output_offset, params->act);
                    }
                }
                output += out_c;
            }
        }
    }
    return TC_OK;
}
