/* int8 CONV_2D fast path for one input channel (also DEPTHWISE_CONV_2D with one input channel and a
 * depth multiplier, whose filter [1, kh, kw, M] is the OHWI filter [M, kh, kw, 1]): no scratch. With
 * in_ch == 1 and dilation_w == 1 a window row is kx1 - kx0 consecutive input bytes, dotted straight
 * from the input with SXTB16 + SADD16 (input offset) + SMLAD, two output channels per pass. Padded
 * taps are skipped. Output in raster order, each pixel after reading only its own window. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

int tc_conv2d_c1_s8_applies(const tc_conv_params *params, const tc_dims *input_dims, const tc_dims *filter_dims)
{
    return input_dims->c == 1 && filter_dims->c == 1 && params->dilation_w == 1;
}

/* acc_a += sum (x[i] + off) * wa[i], acc_b likewise with wb, i < n. */
static inline void tc_dot2_s8_offset(const int8_t *x, const int8_t *wa, const int8_t *wb, int32_t n,
                                     uint32_t offset2, int32_t off, int32_t *acc_a, int32_t *acc_b)
{
    int32_t a = *acc_a, b = *acc_b;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t x02, x13, w02, w13;
        tc_load_s8x4_offset(x + i, offset2, &x02, &x13);
        tc_load_s8x4(wa + i, &w02, &w13);
        a = tc_smlad(x02, w02, a);
        a = tc_smlad(x13, w13, a);
        tc_load_s8x4(wb + i, &w02, &w13);
        b = tc_smlad(x02, w02, b);
        b = tc_smlad(x13, w13, b);
    }
    for (; i < n; ++i) {
        a += (x[i] + off) * wa[i];
        b += (x[i] + off) * wb[i];
    }
    *acc_a = a;
    *acc_b = b;
}

tc_status tc_conv2d_c1_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                          const tc_dims *input_dims, const int8_t *input,
                          const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                          const tc_dims *output_dims, int8_t *output)
{
    if (!tc_conv_args_ok(params, quant, input_dims, input, filter_dims, filter, output_dims, output) ||
        !tc_conv2d_c1_s8_applies(params, input_dims, filter_dims)) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w;
    const int32_t kh = filter_dims->h, kw = filter_dims->w, k = kh * kw;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t off = params->input_offset;
    const uint32_t offset2 = tc_pack16(off, off);
    const int32_t dil_h = params->dilation_h;

    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)(in_h * in_w);
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * params->stride_h - params->pad_top;
            int32_t ky0, ky1;
            tc_valid_taps(iy0, dil_h, kh, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * params->stride_w - params->pad_left;
                int32_t kx0, kx1;
                tc_valid_taps(ix0, 1, kw, in_w, &kx0, &kx1);
                const int32_t n = kx1 - kx0;
                int32_t o = 0;
                for (; o + 2 <= out_c; o += 2) {
                    int32_t a = bias != NULL ? bias[o] : 0;
                    int32_t c = bias != NULL ? bias[o + 1] : 0;
                    const int8_t *wa = filter + (size_t)o * (size_t)k + kx0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *x = in_b + (iy0 + ky * dil_h) * in_w + ix0 + kx0;
                        tc_dot2_s8_offset(x, wa + ky * kw, wa + k + ky * kw, n, offset2, off, &a, &c);
                    }
                    output[o] = tc_conv_output(a, quant->multiplier[o], quant->shift[o], params->output_offset,
                                               params->act);
                    output[o + 1] = tc_conv_output(c, quant->multiplier[o + 1], quant->shift[o + 1],
                                                   params->output_offset, params->act);
                }
                if (o < out_c) {
                    int32_t a = bias != NULL ? bias[o] : 0;
                    const int8_t *wa = filter + (size_t)o * (size_t)k + kx0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *x = in_b + (iy0 + ky * dil_h) * in_w + ix0 + kx0;
                        a = tc_dot_s8_offset(x, wa + ky * kw, n, off, a);
                    }
                    output[o] = tc_conv_output(a, quant->multiplier[o], quant->shift[o], params->output_offset,
                                               params->act);
                }
                output += out_c;
            }
        }
    }
    return TC_OK;
}
