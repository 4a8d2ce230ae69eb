/* int8 DEPTHWISE_CONV_2D fast path on compile-time packed weights (depth multiplier 1, any kernel,
 * stride, dilation and padding); see tc_conv.h for the packed layout and the folded bias.
 *
 * Four channels per step: one LDR of the input, SXTB16 / SXTB16 ROR #8 split it into (c0, c2) and
 * (c1, c3) int16 lanes, the packed int16 weights are already in that order, and SMLABB / SMLATT
 * accumulate each lane separately. The input offset lives in the folded bias, so the inner loop adds
 * nothing; padded taps (border pixels only) multiply the input zero point instead. Interior pixels
 * of 3x3 / 5x5 / 7x7 filters run fully unrolled tap loops.
 *
 * Output is written in raster order (pixel by pixel, NHWC), each pixel after its whole receptive
 * field has been read. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

int tc_depthwise_conv2d_packed_s8_applies(const tc_dw_conv_params *params, const tc_dims *input_dims,
                                          const tc_dims *filter_dims)
{
    (void)input_dims;
    (void)filter_dims;
    return params->depth_multiplier == 1;
}

/* Four channels of one pixel whose taps all lie inside the input; kh, kw are constants when inlined.
 * x: tap (0, 0) of the group; w: the group's packed taps (two words each). */
static inline __attribute__((always_inline)) void tc_dw4_interior(const int8_t *x, const uint32_t *w, int32_t kh,
                                                                  int32_t kw, int32_t row_skip, int32_t tap,
                                                                  int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#pragma GCC unroll 7
    for (int32_t ky = 0; ky < kh; ++ky) {
#pragma GCC unroll 7
        for (int32_t kx = 0; kx < kw; ++kx) {
            const uint32_t v = tc_read_u32(x);
            x += tap;
            const uint32_t x02 = tc_sxtb16(v);
            const uint32_t x13 = tc_sxtb16_ror8(v);
            const uint32_t w02 = w[0], w13 = w[1];
            w += 2;
            a0 = tc_smlabb(x02, w02, a0);
            a2 = tc_smlatt(x02, w02, a2);
            a1 = tc_smlabb(x13, w13, a1);
            a3 = tc_smlatt(x13, w13, a3);
        }
        x += row_skip;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

tc_status tc_depthwise_conv2d_packed_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                        const tc_dims *input_dims, const int8_t *input,
                                        const tc_dims *filter_dims, const int16_t *packed_filter,
                                        const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output)
{
    if (!tc_dw_args_ok(params, quant, input_dims, filter_dims, packed_filter, output_dims) || input == NULL ||
        output == NULL || folded_bias == NULL || params->depth_multiplier != 1) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t dil_h = params->dilation_h, dil_w = params->dilation_w;
    const int32_t zp = -params->input_offset;
    const uint32_t zp2 = tc_pack16(zp, zp);
    const int32_t *mul = quant->multiplier;
    const int32_t *sh = quant->shift;
    const int32_t out_off = params->output_offset;
    const tc_act_range act = params->act;
    const int32_t ch4 = ch & ~3;
    const int32_t taps = kh * kw;
    const int32_t x_row = dil_h * in_w * ch, x_tap = dil_w * ch;
    /* which unrolled interior loop (0: generic) */
    const int32_t unrolled = (dil_h == 1 && dil_w == 1 && kh == kw && (kh == 3 || kh == 5 || kh == 7)) ? kh : 0;

    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)(in_h * in_w * ch);
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * params->stride_h - params->pad_top;
            int32_t ky0, ky1;
            tc_valid_taps(iy0, dil_h, kh, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * params->stride_w - params->pad_left;
                int32_t kx0, kx1;
                tc_valid_taps(ix0, dil_w, kw, in_w, &kx0, &kx1);
                const int interior = ky0 == 0 && ky1 == kh && kx0 == 0 && kx1 == kw;
                const int8_t *x0 = in_b + ((iy0 * in_w) + ix0) * ch; /* tap (0, 0); may point outside */
                int32_t c = 0;
                for (; c < ch4; c += 4) {
                    int32_t acc[4] = {folded_bias[c], folded_bias[c + 1], folded_bias[c + 2], folded_bias[c + 3]};
                    const int16_t *w = packed_filter + c * taps; /* group c / 4: taps * 4 int16 */
                    if (interior) {
                        const uint32_t *w32 = (const uint32_t *)(const void *)w;
                        switch (unrolled) {
                        case 3:
                            tc_dw4_interior(x0 + c, w32, 3, 3, (in_w - 3) * ch, ch, acc);
                            break;
                        case 5:
                            tc_dw4_interior(x0 + c, w32, 5, 5, (in_w - 5) * ch, ch, acc);
                            break;
                        case 7:
                            tc_dw4_interior(x0 + c, w32, 7, 7, (in_w - 7) * ch, ch, acc);
                            break;
                        default:
                            tc_dw4_interior(x0 + c, w32, kh, kw, x_row - kw * x_tap, x_tap, acc);
                            break;
                        }
                    } else {
                        int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
                        for (int32_t ky = 0; ky < kh; ++ky) {
                            const int row_ok = ky >= ky0 && ky < ky1;
                            for (int32_t kx = 0; kx < kw; ++kx) {
                                uint32_t x02 = zp2, x13 = zp2;
                                if (row_ok && kx >= kx0 && kx < kx1) {
                                    const uint32_t v = tc_read_u32(x0 + c + ky * x_row + kx * x_tap);
                                    x02 = tc_sxtb16(v);
                                    x13 = tc_sxtb16_ror8(v);
                                }
                                const uint32_t w02 = tc_read_u32(w), w13 = tc_read_u32(w + 2);
                                w += 4;
                                a0 = tc_smlabb(x02, w02, a0);
                                a2 = tc_smlatt(x02, w02, a2);
                                a1 = tc_smlabb(x13, w13, a1);
                                a3 = tc_smlatt(x13, w13, a3);
                            }
                        }
                        acc[0] = a0;
                        acc[1] = a1;
                        acc[2] = a2;
                        acc[3] = a3;
                    }
                    output[c] = tc_conv_output(acc[0], mul[c], sh[c], out_off, act);
                    output[c + 1] = tc_conv_output(acc[1], mul[c + 1], sh[c + 1], out_off, act);
                    output[c + 2] = tc_conv_output(acc[2], mul[c + 2], sh[c + 2], out_off, act);
                    output[c + 3] = tc_conv_output(acc[3], mul[c + 3], sh[c + 3], out_off, act);
                }
                for (; c < ch; ++c) {
                    int32_t acc = folded_bias[c];
                    const int16_t *w = packed_filter + c * taps;
                    for (int32_t ky = 0; ky < kh; ++ky) {
                        const int row_ok = ky >= ky0 && ky < ky1;
                        for (int32_t kx = 0; kx < kw; ++kx) {
                            const int32_t x = (row_ok && kx >= kx0 && kx < kx1) ? x0[c + ky * x_row + kx * x_tap] : zp;
                            acc += x * *w++;
                        }
                    }
                    output[c] = tc_conv_output(acc, mul[c], sh[c], out_off, act);
                }
                output += ch;
            }
        }
    }
    return TC_OK;
}
