/* int8 DEPTHWISE_CONV_2D fast path: 3x3 filter, depth multiplier 1, no dilation, any stride/padding.
 * Four channels per step: SXTB16 splits them into (c0, c2) / (c1, c3) int16 lanes, SMLABB/SMLATT
 * accumulate each lane separately (channels never mix). Padded taps are skipped. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

int tc_depthwise_conv2d_3x3_s8_applies(const tc_dw_conv_params *params, const tc_dims *input_dims,
                                       const tc_dims *filter_dims)
{
    (void)input_dims;
    return filter_dims->h == 3 && filter_dims->w == 3 && params->depth_multiplier == 1 &&
           params->dilation_h == 1 && params->dilation_w == 1;
}

tc_status tc_depthwise_conv2d_3x3_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                     const tc_dims *input_dims, const int8_t *input,
                                     const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                     const tc_dims *output_dims, int8_t *output)
{
    if (!tc_dw_args_ok(params, quant, input_dims, filter_dims, filter, output_dims) || input == NULL ||
        output == NULL || !tc_depthwise_conv2d_3x3_s8_applies(params, input_dims, filter_dims)) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t off = params->input_offset;
    const uint32_t off2 = tc_pack16(off, off);
    const int32_t *mul = quant->multiplier;
    const int32_t *sh = quant->shift;

    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)(in_h * in_w * ch);
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * params->stride_h - params->pad_top;
            int32_t ky0, ky1;
            tc_valid_taps(iy0, 1, 3, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * params->stride_w - params->pad_left;
                int32_t kx0, kx1;
                tc_valid_taps(ix0, 1, 3, in_w, &kx0, &kx1);
                int32_t c = 0;
                for (; c + 4 <= ch; c += 4) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    if (bias != NULL) {
                        a0 = bias[c];
                        a1 = bias[c + 1];
                        a2 = bias[c + 2];
                        a3 = bias[c + 3];
                    }
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int32_t iy = iy0 + ky;
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            uint32_t x02, x13, w02, w13;
                            tc_load_s8x4_offset(in_b + (iy * in_w + ix0 + kx) * ch + c, off2, &x02, &x13);
                            tc_load_s8x4(filter + (ky * 3 + kx) * ch + c, &w02, &w13);
                            a0 = tc_smlabb(x02, w02, a0);
                            a2 = tc_smlatt(x02, w02, a2);
                            a1 = tc_smlabb(x13, w13, a1);
                            a3 = tc_smlatt(x13, w13, a3);
                        }
                    }
                    output[c] = tc_conv_output(a0, mul[c], sh[c], params->output_offset, params->act);
                    output[c + 1] = tc_conv_output(a1, mul[c + 1], sh[c + 1], params->output_offset, params->act);
                    output[c + 2] = tc_conv_output(a2, mul[c + 2], sh[c + 2], params->output_offset, params->act);
                    output[c + 3] = tc_conv_output(a3, mul[c + 3], sh[c + 3], params->output_offset, params->act);
                }
                for (; c < ch; ++c) {
                    int32_t acc = bias != NULL ? bias[c] : 0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int32_t iy = iy0 + ky;
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            acc += (in_b[(iy * in_w + ix0 + kx) * ch + c] + off) * filter[(ky * 3 + kx) * ch + c];
                        }
                    }
                    output[c] = tc_conv_output(acc, mul[c], sh[c], params->output_offset, params->act);
                }
                output += ch;
            }
        }
    }
    return TC_OK;
}
