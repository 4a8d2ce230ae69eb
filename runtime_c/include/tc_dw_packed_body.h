/* The body of tc_depthwise_conv2d_packed_s8 as an always-inline function, so that it can be
 * instantiated with compile-time constants: the runtime kernel passes the kernel size for the
 * common 3x3 / 5x5 / 7x7 cases, and generated code may pass every geometry argument as a literal
 * (channel count, width, kernel, stride) to get per-layer code whose tap offsets are immediates.
 * Same contract as tc_depthwise_conv2d_packed_s8 (tc_conv.h); arguments are not checked here. */
#ifndef TC_DW_PACKED_BODY_H
#define TC_DW_PACKED_BODY_H

#include "tc_conv.h"
#include "tc_conv_internal.h"

/* Channels c..c+3 requantized to out[0..3]: folded constants when rq != NULL (then mul / sh may be
 * NULL), else per-channel quant. */
static inline __attribute__((always_inline)) void tc_dw_store4(int8_t *out, int32_t a0, int32_t a1, int32_t a2,
                                                               int32_t a3, int32_t c, const tc_rq *rq,
                                                               const int32_t *mul, const int32_t *sh,
                                                               int32_t out_off, int32_t mn, int32_t mx)
{
    if (rq != NULL) {
        out[0] = tc_rq_clamp(a0, rq + c, mn, mx);
        out[1] = tc_rq_clamp(a1, rq + c + 1, mn, mx);
        out[2] = tc_rq_clamp(a2, rq + c + 2, mn, mx);
        out[3] = tc_rq_clamp(a3, rq + c + 3, mn, mx);
    } else {
        const tc_act_range act = {mn, mx};
        out[0] = tc_conv_output(a0, mul[c], sh[c], out_off, act);
        out[1] = tc_conv_output(a1, mul[c + 1], sh[c + 1], out_off, act);
        out[2] = tc_conv_output(a2, mul[c + 2], sh[c + 2], out_off, act);
        out[3] = tc_conv_output(a3, mul[c + 3], sh[c + 3], out_off, act);
    }
}

/* One requantized channel. */
static inline __attribute__((always_inline)) int8_t tc_dw_store1(int32_t acc, int32_t c, const tc_rq *rq,
                                                                 const int32_t *mul, const int32_t *sh,
                                                                 int32_t out_off, int32_t mn, int32_t mx)
{
    if (rq != NULL) {
        return tc_rq_clamp(acc, rq + c, mn, mx);
    }
    const tc_act_range act = {mn, mx};
    return tc_conv_output(acc, mul[c], sh[c], out_off, act);
}

/* One tap of four channels: v = the four int8 inputs, w02 / w13 = the packed int16 weights of
 * (c0, c2) / (c1, c3). On DSP cores one asm block per tap, so that the compiler keeps the tap order
 * (left to itself it regroups an unrolled tap loop by accumulator and spills the widened inputs). */
static inline __attribute__((always_inline)) void tc_dw4_tap(uint32_t v, uint32_t w02, uint32_t w13, int32_t *a0,
                                                             int32_t *a1, int32_t *a2, int32_t *a3)
{
#if TC_USE_DSP
    uint32_t x02, x13;
    __asm__("sxtb16 %[x02], %[v]\n\t"
            "sxtb16 %[x13], %[v], ror #8\n\t"
            "smlabb %[a0], %[x02], %[w02], %[a0]\n\t"
            "smlatt %[a2], %[x02], %[w02], %[a2]\n\t"
            "smlabb %[a1], %[x13], %[w13], %[a1]\n\t"
            "smlatt %[a3], %[x13], %[w13], %[a3]"
            : [x02] "=&r"(x02), [x13] "=&r"(x13), [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2),
              [a3] "+r"(*a3)
            : [v] "r"(v), [w02] "r"(w02), [w13] "r"(w13));
#else
    const uint32_t x02 = tc_sxtb16(v);
    const uint32_t x13 = tc_sxtb16_ror8(v);
    *a0 = tc_smlabb(x02, w02, *a0);
    *a2 = tc_smlatt(x02, w02, *a2);
    *a1 = tc_smlabb(x13, w13, *a1);
    *a3 = tc_smlatt(x13, w13, *a3);
#endif
}

/* One tap of four channels from already widened inputs x02 / x13. */
static inline __attribute__((always_inline)) void tc_dw4_tap_x(uint32_t x02, uint32_t x13, uint32_t w02,
                                                               uint32_t w13, int32_t *a0, int32_t *a1, int32_t *a2,
                                                               int32_t *a3)
{
    *a0 = tc_smlabb(x02, w02, *a0);
    *a2 = tc_smlatt(x02, w02, *a2);
    *a1 = tc_smlabb(x13, w13, *a1);
    *a3 = tc_smlatt(x13, w13, *a3);
}

/* Four channels of one pixel whose taps all lie inside the input: x = tap (0, 0) of the group,
 * w = the group's packed taps (two words per tap). Accumulates into *a0..*a3. */
static inline __attribute__((always_inline)) void tc_dw4_taps(const int8_t *x, const uint32_t *w, int32_t kh,
                                                              int32_t kw, int32_t x_row, int32_t x_tap,
                                                              int32_t *acc0, int32_t *acc1, int32_t *acc2,
                                                              int32_t *acc3)
{
    int32_t a0 = *acc0, a1 = *acc1, a2 = *acc2, a3 = *acc3;
#pragma GCC unroll 7
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int8_t *xr = x + ky * x_row;
#pragma GCC unroll 7
        for (int32_t kx = 0; kx < kw; ++kx) {
            tc_dw4_tap(tc_read_u32(xr + kx * x_tap), w[0], w[1], &a0, &a1, &a2, &a3);
            w += 2;
        }
    }
    *acc0 = a0;
    *acc1 = a1;
    *acc2 = a2;
    *acc3 = a3;
}

static inline __attribute__((always_inline)) void
tc_dw_packed_body(const tc_dw_conv_params *params, const tc_per_channel_quant *quant, const tc_rq *rq,
                  const tc_dims *input_dims, const int8_t *input, const int16_t *packed_filter,
                  const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output, const int32_t ch,
                  const int32_t kh, const int32_t kw, const int32_t dil_h, const int32_t dil_w)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t zp = -params->input_offset;
    const uint32_t zp2 = tc_pack16(zp, zp);
    const int32_t *mul = quant != NULL ? quant->multiplier : NULL; /* read only without rq */
    const int32_t *sh = quant != NULL ? quant->shift : NULL;
    const int32_t out_off = params->output_offset;
    const int32_t mn = params->act.min, mx = params->act.max;
    const int32_t ch4 = ch & ~3;
    const int32_t taps = kh * kw;
    const int32_t x_row = dil_h * in_w * ch, x_tap = dil_w * ch;

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
                const uint32_t *w = (const uint32_t *)(const void *)packed_filter;
                int32_t c = 0;
                if (interior) {
                    for (; c < ch4; c += 4) {
                        int32_t a0 = folded_bias[c], a1 = folded_bias[c + 1], a2 = folded_bias[c + 2],
                                a3 = folded_bias[c + 3];
                        tc_dw4_taps(x0 + c, w, kh, kw, x_row, x_tap, &a0, &a1, &a2, &a3);
                        w += 2 * taps;
                        tc_dw_store4(output + c, a0, a1, a2, a3, c, rq, mul, sh, out_off, mn, mx);
                    }
                } else {
                    for (; c < ch4; c += 4) {
                        int32_t a0 = folded_bias[c], a1 = folded_bias[c + 1], a2 = folded_bias[c + 2],
                                a3 = folded_bias[c + 3];
                        for (int32_t ky = 0; ky < kh; ++ky) {
                            const int row_ok = ky >= ky0 && ky < ky1;
                            for (int32_t kx = 0; kx < kw; ++kx) {
                                uint32_t x02 = zp2, x13 = zp2;
                                if (row_ok && kx >= kx0 && kx < kx1) {
                                    const uint32_t v = tc_read_u32(x0 + c + ky * x_row + kx * x_tap);
                                    x02 = tc_sxtb16(v);
                                    x13 = tc_sxtb16_ror8(v);
                                }
                                const uint32_t w02 = w[0], w13 = w[1];
                                w += 2;
                                a0 = tc_smlabb(x02, w02, a0);
                                a2 = tc_smlatt(x02, w02, a2);
                                a1 = tc_smlabb(x13, w13, a1);
                                a3 = tc_smlatt(x13, w13, a3);
                            }
                        }
                        tc_dw_store4(output + c, a0, a1, a2, a3, c, rq, mul, sh, out_off, mn, mx);
                    }
                }
                const int16_t *wt = (const int16_t *)(const void *)w;
                for (; c < ch; ++c) {
                    int32_t acc = folded_bias[c];
                    for (int32_t ky = 0; ky < kh; ++ky) {
                        const int row_ok = ky >= ky0 && ky < ky1;
                        for (int32_t kx = 0; kx < kw; ++kx) {
                            const int32_t x = (row_ok && kx >= kx0 && kx < kx1) ? x0[c + ky * x_row + kx * x_tap] : zp;
                            acc += x * *wt++;
                        }
                    }
                    output[c] = tc_dw_store1(acc, c, rq, mul, sh, out_off, mn, mx);
                }
                output += ch;
            }
        }
    }
}

#endif /* TC_DW_PACKED_BODY_H */
