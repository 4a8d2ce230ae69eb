/* In-place int8 DEPTHWISE_CONV_2D on compile-time packed weights, with a small ring of pending outputs
 * instead of a whole output plane of scratch (see tc_conv.h for the contract).
 *
 * Channel group by channel group (four channels, or one when the scratch only holds a one-byte ring),
 * the output pixels of the group are computed in raster order into a ring of R slots. Output pixel j
 * of the group belongs at bytes j * C + c .. of the shared buffer, which are input bytes of the same
 * group (same C), dead once no later output pixel of the group reads input pixel j. After pixel q,
 * every later pixel reads input pixels >= safe(q) (a lower bound from the window origins), so the
 * pending outputs j < safe(q) are flushed. R = tc_depthwise_inplace_ring_pixels() is the most pixels
 * ever pending; tinycompiler/plan/inplace.py computes the same number. */
#include "tc_conv.h"
#include "tc_conv_internal.h"
#include "tc_dw_packed_body.h"

static inline int32_t tc_max0(int32_t v)
{
    return v > 0 ? v : 0;
}

/* Lowest input pixel read by any output pixel after (oy, ox) (a lower bound), or in_h * in_w. */
static inline int32_t tc_ring_safe(const tc_dw_conv_params *p, int32_t in_w, int32_t in_hw, int32_t out_h,
                                   int32_t out_w, int32_t oy, int32_t ox)
{
    int32_t safe = in_hw;
    if (ox + 1 < out_w) {
        safe = tc_max0(oy * p->stride_h - p->pad_top) * in_w + tc_max0((ox + 1) * p->stride_w - p->pad_left);
    }
    if (oy + 1 < out_h) {
        const int32_t next = tc_max0((oy + 1) * p->stride_h - p->pad_top) * in_w;
        safe = next < safe ? next : safe;
    }
    return safe < in_hw ? safe : in_hw;
}

int32_t tc_depthwise_inplace_ring_pixels(const tc_dw_conv_params *params, const tc_dims *input_dims,
                                         const tc_dims *output_dims)
{
    const int32_t in_hw = input_dims->h * input_dims->w;
    int32_t ring = 0, flushed = 0, q = 0;
    for (int32_t oy = 0; oy < output_dims->h; ++oy) {
        for (int32_t ox = 0; ox < output_dims->w; ++ox, ++q) {
            if (q + 1 - flushed > ring) {
                ring = q + 1 - flushed;
            }
            const int32_t safe = tc_ring_safe(params, input_dims->w, in_hw, output_dims->h, output_dims->w, oy, ox);
            const int32_t f = safe < q + 1 ? safe : q + 1;
            flushed = f > flushed ? f : flushed;
        }
    }
    return ring;
}

tc_status tc_depthwise_conv2d_inplace_packed_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                                const tc_rq *rq, const tc_dims *input_dims,
                                                const tc_dims *filter_dims, const int16_t *packed_filter,
                                                const int32_t *folded_bias, const tc_dims *output_dims,
                                                int8_t *data, int8_t *scratch, int32_t scratch_bytes)
{
    if (!tc_dw_args_ok(params, quant, input_dims, filter_dims, packed_filter, output_dims) || data == NULL ||
        scratch == NULL || folded_bias == NULL || params->depth_multiplier != 1 ||
        output_dims->h * output_dims->w > input_dims->h * input_dims->w) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t ring = tc_depthwise_inplace_ring_pixels(params, input_dims, output_dims);
    if (scratch_bytes < ring) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t dil_h = params->dilation_h, dil_w = params->dilation_w;
    const int32_t in_hw = in_h * in_w;
    const int32_t zp = -params->input_offset;
    const uint32_t zp2 = tc_pack16(zp, zp);
    const int32_t *mul = quant->multiplier;
    const int32_t *sh = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t mn = params->act.min, mx = params->act.max;
    const int32_t taps = kh * kw;
    const int32_t x_row = dil_h * in_w * ch, x_tap = dil_w * ch;
    const int32_t ch4 = scratch_bytes >= 4 * ring ? (ch & ~3) : 0;
    const int unit3 = dil_h == 1 && dil_w == 1 && kh == 3 && kw == 3;
    uint32_t *ring4 = (uint32_t *)(void *)scratch; /* used only when scratch_bytes >= 4 * ring */

    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = data + (size_t)b * (size_t)(in_hw * ch);
        int8_t *out_b = data + (size_t)b * (size_t)(out_h * out_w * ch);
        int32_t c = 0;
        for (; c < ch4; c += 4) {
            const uint32_t *wg = (const uint32_t *)(const void *)packed_filter + (size_t)(c / 4) * (size_t)(2 * taps);
            const tc_rq *rqc = rq != NULL ? rq + c : NULL;
            int32_t q = 0, flushed = 0, slot = 0, fslot = 0;
            for (int32_t oy = 0; oy < out_h; ++oy) {
                const int32_t iy0 = oy * params->stride_h - params->pad_top;
                int32_t ky0, ky1;
                tc_valid_taps(iy0, dil_h, kh, in_h, &ky0, &ky1);
                const int rows_in = ky0 == 0 && ky1 == kh;
                const int8_t *x = in_b + ((iy0 * in_w) - params->pad_left) * ch + c;
                const int32_t x_step = params->stride_w * ch;
                for (int32_t ox = 0; ox < out_w; ++ox, ++q, x += x_step) {
                    const int32_t ix0 = ox * params->stride_w - params->pad_left;
                    const int cols_in = ix0 >= 0 && ix0 + (kw - 1) * dil_w < in_w;
                    int32_t a0 = folded_bias[c], a1 = folded_bias[c + 1], a2 = folded_bias[c + 2],
                            a3 = folded_bias[c + 3];
                    if (rows_in && cols_in) {
                        if (unit3) {
                            tc_dw4_taps(x, wg, 3, 3, in_w * ch, ch, &a0, &a1, &a2, &a3);
                        } else {
                            tc_dw4_taps(x, wg, kh, kw, x_row, x_tap, &a0, &a1, &a2, &a3);
                        }
                    } else {
                        int32_t kx0, kx1;
                        tc_valid_taps(ix0, dil_w, kw, in_w, &kx0, &kx1);
                        const uint32_t *w = wg;
                        for (int32_t ky = 0; ky < kh; ++ky) {
                            const int row_ok = ky >= ky0 && ky < ky1;
                            for (int32_t kx = 0; kx < kw; ++kx) {
                                uint32_t x02 = zp2, x13 = zp2;
                                if (row_ok && kx >= kx0 && kx < kx1) {
                                    const uint32_t v = tc_read_u32(x + ky * x_row + kx * x_tap);
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
                    }
                    uint32_t packed;
                    tc_dw_store4((int8_t *)(void *)&packed, a0, a1, a2, a3, rqc, mul + c, sh + c, out_off, mn, mx);
                    ring4[slot] = packed;
                    slot = slot + 1 == ring ? 0 : slot + 1;
                    int32_t safe = tc_ring_safe(params, in_w, in_hw, out_h, out_w, oy, ox);
                    safe = safe < q + 1 ? safe : q + 1;
                    for (; flushed < safe; ++flushed) {
                        tc_write_u32(out_b + (size_t)flushed * (size_t)ch + c, ring4[fslot]);
                        fslot = fslot + 1 == ring ? 0 : fslot + 1;
                    }
                }
            }
        }
        /* the remaining channels one at a time (the tail, or all of them with a one-byte ring) */
        for (; c < ch; ++c) {
            const int16_t *wc;
            const int32_t c4 = ch & ~3;
            if (c < c4) {
                /* channel c inside a group of four: its taps are lane (c % 4) of the group's words */
                wc = packed_filter + (size_t)(c / 4) * (size_t)(4 * taps);
            } else {
                wc = packed_filter + (size_t)c4 * (size_t)taps + (size_t)(c - c4) * (size_t)taps;
            }
            /* lane of channel c in a packed group: (c0, c2, c1, c3) */
            static const int8_t lane_of[4] = {0, 2, 1, 3};
            const int32_t step = c < c4 ? 4 : 1;
            const int32_t lane = c < c4 ? lane_of[c & 3] : 0;
            int32_t q = 0, flushed = 0, slot = 0, fslot = 0;
            for (int32_t oy = 0; oy < out_h; ++oy) {
                const int32_t iy0 = oy * params->stride_h - params->pad_top;
                int32_t ky0, ky1;
                tc_valid_taps(iy0, dil_h, kh, in_h, &ky0, &ky1);
                for (int32_t ox = 0; ox < out_w; ++ox, ++q) {
                    const int32_t ix0 = ox * params->stride_w - params->pad_left;
                    int32_t kx0, kx1;
                    tc_valid_taps(ix0, dil_w, kw, in_w, &kx0, &kx1);
                    const int8_t *x = in_b + ((iy0 * in_w) + ix0) * ch + c;
                    int32_t acc = folded_bias[c];
                    const int16_t *w = wc + lane;
                    for (int32_t ky = 0; ky < kh; ++ky) {
                        const int row_ok = ky >= ky0 && ky < ky1;
                        for (int32_t kx = 0; kx < kw; ++kx) {
                            const int32_t v = (row_ok && kx >= kx0 && kx < kx1) ? x[ky * x_row + kx * x_tap] : zp;
                            acc += v * *w;
                            w += step;
                        }
                    }
                    scratch[slot] = tc_dw_store1(acc, c, rq, mul, sh, out_off, mn, mx);
                    slot = slot + 1 == ring ? 0 : slot + 1;
                    int32_t safe = tc_ring_safe(params, in_w, in_hw, out_h, out_w, oy, ox);
                    safe = safe < q + 1 ? safe : q + 1;
                    for (; flushed < safe; ++flushed) {
                        out_b[(size_t)flushed * (size_t)ch + c] = scratch[fslot];
                        fslot = fslot + 1 == ring ? 0 : fslot + 1;
                    }
                }
            }
        }
    }
    return TC_OK;
}
