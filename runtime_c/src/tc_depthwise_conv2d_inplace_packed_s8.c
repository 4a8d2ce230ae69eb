/* In-place int8 DEPTHWISE_CONV_2D on compile-time packed weights, with a small ring of pending outputs
 * instead of a whole output plane of scratch (see tc_conv.h for the contract).
 *
 * Channel group by channel group (four channels, or one when the scratch only holds a one-byte ring),
 * the output pixels of the group are computed in raster order into a ring of R slots. Output pixel j
 * of the group belongs at bytes j * C + c .. of the shared buffer, which are input bytes of the same
 * group (same C), dead once no later output pixel of the group reads input pixel j. After pixel q,
 * every later pixel reads input pixels >= safe(q) (a lower bound from the window origins), so the
 * pending outputs j < safe(q) are flushed. R = tc_depthwise_inplace_ring_pixels() is the most pixels
 * ever pending; tinycompiler/plan/inplace.py computes the same number.
 *
 * Speed (round 4): geometry is hoisted per row; each row's interior run (no padded tap, not the last
 * pixel) goes to an out-of-line loop specialised for 3x3 (with an SSAT top clamp when act_max == 127),
 * 5x5 and 7x7 with unit dilation: fully unrolled taps (one asm block per tap on DSP cores, see
 * tc_dw4_tap), tc_rq requantization straight into the ring slot, and safe(q) kept incrementally (the
 * same values as tc_ring_safe, so the same ring). Border pixels split each tap row into padded /
 * valid column ranges instead of testing every tap. */
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

/* Requantize one channel through tc_rq; top127: act_max == 127, so the top clamp is an SSAT. */
static inline __attribute__((always_inline)) int32_t tc_dwip_rq(int32_t acc, const tc_rq *r, int32_t mn,
                                                                int32_t mx, const int top127)
{
    int32_t v = tc_rq_output(acc, r);
    if (top127) {
        v = tc_ssat8(v);
    } else {
        v = v > mx ? mx : v;
    }
    return v < mn ? mn : v;
}

/* Four channels requantized with the per-channel quant (no tc_rq; rare, kept out of line). */
static __attribute__((noinline)) uint32_t tc_dw_ip_out4_quant(int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                                              const int32_t *mul, const int32_t *sh,
                                                              int32_t out_off, int32_t mn, int32_t mx)
{
    uint32_t packed;
    tc_dw_store4((int8_t *)(void *)&packed, a0, a1, a2, a3, NULL, mul, sh, out_off, mn, mx);
    return packed;
}

/* Four requantized channels to dst[0..3]. */
static inline __attribute__((always_inline)) void tc_dwip_out4(int8_t *dst, int32_t a0, int32_t a1, int32_t a2,
                                                               int32_t a3, const tc_rq *rq, const int32_t *mul,
                                                               const int32_t *sh, int32_t out_off, int32_t mn,
                                                               int32_t mx, const int use_rq, const int top127)
{
    if (!use_rq) {
        tc_write_u32(dst, tc_dw_ip_out4_quant(a0, a1, a2, a3, mul, sh, out_off, mn, mx));
        return;
    }
    dst[0] = (int8_t)tc_dwip_rq(a0, rq, mn, mx, top127);
    dst[1] = (int8_t)tc_dwip_rq(a1, rq + 1, mn, mx, top127);
    dst[2] = (int8_t)tc_dwip_rq(a2, rq + 2, mn, mx, top127);
    dst[3] = (int8_t)tc_dwip_rq(a3, rq + 3, mn, mx, top127);
}

/* Ring state of one channel group, shared by the border pixels and the out-of-line interior runs. */
typedef struct {
    const uint32_t *wg;
    const int32_t *bias;
    const tc_rq *rq;
    uint32_t *ring4, *rend, *wr;
    const uint32_t *rd;
    int8_t *outp;
    int32_t q, flushed, row_next, ch, x_step, sw, x_row, x_tap, mn, mx;
} tc_dwip_state;

/* n interior pixels of one row from xi (tap (0, 0) of the first), all taps inside the input, none the
 * last pixel of its row; sx = safe bound of the first (row_base + ix0 + stride). Out of line so that
 * the loop gets the registers to itself. */
static inline __attribute__((always_inline)) void tc_dwip_run(tc_dwip_state *st, const int8_t *xi, int32_t n,
                                                              int32_t sx, const int32_t kh, const int32_t kw,
                                                              const int top127)
{
    const uint32_t *const wg = st->wg;
    const int32_t *const bias = st->bias;
    const tc_rq *const rq = st->rq;
    uint32_t *const ring4 = st->ring4, *const rend = st->rend;
    uint32_t *wr = st->wr;
    const uint32_t *rd = st->rd;
    int8_t *outp = st->outp;
    int32_t q = st->q, flushed = st->flushed;
    const int32_t row_next = st->row_next, ch = st->ch, x_step = st->x_step, sw = st->sw;
    const int32_t x_row = st->x_row, x_tap = st->x_tap, mn = st->mn, mx = st->mx;
    for (; n > 0; --n) {
        /* the weights, bias and tc_rq rows are loop invariant: keep the compiler from hoisting their
         * loads out of the loop (it would spill them all to the stack) */
        const uint32_t *w = wg;
        const int32_t *b = bias;
        const tc_rq *r = rq;
        __asm__("" : "+r"(w), "+r"(b), "+r"(r));
        int32_t a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3];
        tc_dw4_taps(xi, w, kh, kw, x_row, x_tap, &a0, &a1, &a2, &a3);
        tc_dwip_out4((int8_t *)(void *)wr, a0, a1, a2, a3, r, NULL, NULL, 0, mn, mx, 1, top127);
        wr = wr + 1 == rend ? ring4 : wr + 1;
        ++q;
        int32_t safe = sx < row_next ? sx : row_next;
        safe = safe < q ? safe : q;
        for (; flushed < safe; ++flushed) {
            tc_write_u32(outp, *rd);
            outp += ch;
            rd = rd + 1 == rend ? ring4 : rd + 1;
        }
        sx += sw;
        xi += x_step;
    }
    st->wr = wr;
    st->rd = rd;
    st->outp = outp;
    st->q = q;
    st->flushed = flushed;
}

static __attribute__((noinline)) void tc_dw_ip_run3x3(tc_dwip_state *st, const int8_t *xi, int32_t n, int32_t sx)
{
    tc_dwip_run(st, xi, n, sx, 3, 3, 0);
}
static __attribute__((noinline)) void tc_dw_ip_run3x3_top(tc_dwip_state *st, const int8_t *xi, int32_t n, int32_t sx)
{
    tc_dwip_run(st, xi, n, sx, 3, 3, 1);
}
static __attribute__((noinline)) void tc_dw_ip_run5x5(tc_dwip_state *st, const int8_t *xi, int32_t n, int32_t sx)
{
    tc_dwip_run(st, xi, n, sx, 5, 5, 0);
}
static __attribute__((noinline)) void tc_dw_ip_run7x7(tc_dwip_state *st, const int8_t *xi, int32_t n, int32_t sx)
{
    tc_dwip_run(st, xi, n, sx, 7, 7, 0);
}

typedef void (*tc_dwip_run_fn)(tc_dwip_state *st, const int8_t *xi, int32_t n, int32_t sx);

/* Flush the pending outputs below safe. */
static inline __attribute__((always_inline)) void tc_dwip_flush(tc_dwip_state *st, int32_t safe)
{
    for (; st->flushed < safe; ++st->flushed) {
        tc_write_u32(st->outp, *st->rd);
        st->outp += st->ch;
        st->rd = st->rd + 1 == st->rend ? st->ring4 : st->rd + 1;
    }
}

/* One channel group of four: every output pixel of the group in raster order through the ring.
 * Geometry is hoisted per row: the interior run of each row (all taps inside the input, not the
 * row's last pixel) goes to `run` (unrolled taps, no padding checks) or, without one, a plain tap
 * loop; border pixels run the checked tap loop. The flush bound safe(q) of tc_ring_safe is kept
 * incrementally (same values, so the same ring). */
static void tc_dwip_group4(const tc_dw_conv_params *p, int32_t in_h, int32_t in_w, int32_t out_h, int32_t out_w,
                           const int8_t *in_c, tc_dwip_state *st, const int32_t *mul, const int32_t *sh,
                           int32_t kh, int32_t kw, int32_t dil_h, int32_t dil_w, tc_dwip_run_fn run)
{
    const int32_t sh_y = p->stride_h, sw = p->stride_w, pt = p->pad_top, pl = p->pad_left;
    const int32_t in_hw = in_h * in_w;
    const int32_t ch = st->ch, x_row = st->x_row, x_tap = st->x_tap, x_step = st->x_step;
    const uint32_t zp2 = tc_pack16(-p->input_offset, -p->input_offset);
    const int32_t out_off = p->output_offset, mn = p->act.min, mx = p->act.max;
    const uint32_t *const wg = st->wg;
    const int32_t *const bias = st->bias;
    const tc_rq *const rq = st->rq;
    /* interior columns: ix0 >= 0 and ix0 + (kw - 1) * dil_w <= in_w - 1, and not the last pixel */
    int32_t lo = (pl + sw - 1) / sw;
    const int32_t hi_num = in_w - 1 - (kw - 1) * dil_w + pl;
    int32_t hi = hi_num < 0 ? 0 : hi_num / sw + 1;
    hi = hi < out_w - 1 ? hi : out_w - 1;
    lo = lo < hi ? lo : hi;
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t iy0 = oy * sh_y - pt;
        int32_t ky0, ky1;
        tc_valid_taps(iy0, dil_h, kh, in_h, &ky0, &ky1);
        const int rows_in = ky0 == 0 && ky1 == kh;
        const int32_t row_base = tc_max0(iy0) * in_w;
        int32_t row_next = oy + 1 < out_h ? tc_max0(iy0 + sh_y) * in_w : in_hw;
        st->row_next = row_next < in_hw ? row_next : in_hw;
        const int8_t *x = in_c + ((iy0 * in_w) - pl) * ch;
        const int32_t run_lo = rows_in ? lo : out_w, run_hi = rows_in ? hi : out_w;
        for (int32_t ox = 0; ox < out_w; ++ox) {
            const int32_t ix0 = ox * sw - pl;
            const int8_t *xb = x + ox * x_step;
            if (ox == run_lo && run_lo < run_hi) {
                if (run != NULL) {
                    run(st, xb, run_hi - run_lo, row_base + ix0 + sw);
                    ox = run_hi - 1;
                    continue;
                }
            }
            int32_t kx0, kx1;
            tc_valid_taps(ix0, dil_w, kw, in_w, &kx0, &kx1);
            int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
            const uint32_t *w = wg;
            /* padded taps multiply the input zero point; valid taps split into column ranges, no
             * per-tap checks */
            for (int32_t ky = 0; ky < kh; ++ky) {
                const int row_ok = ky >= ky0 && ky < ky1;
                const int32_t c0 = row_ok ? kx0 : kw, c1 = row_ok ? kx1 : kw;
                int32_t kx = 0;
                for (; kx < c0; ++kx, w += 2) {
                    tc_dw4_tap_x(zp2, zp2, w[0], w[1], &a0, &a1, &a2, &a3);
                }
                const int8_t *xr = xb + ky * x_row + kx * x_tap;
                for (; kx < c1; ++kx, w += 2, xr += x_tap) {
                    tc_dw4_tap(tc_read_u32(xr), w[0], w[1], &a0, &a1, &a2, &a3);
                }
                for (; kx < kw; ++kx, w += 2) {
                    tc_dw4_tap_x(zp2, zp2, w[0], w[1], &a0, &a1, &a2, &a3);
                }
            }
            if (rq != NULL) {
                tc_dwip_out4((int8_t *)(void *)st->wr, a0, a1, a2, a3, rq, NULL, NULL, 0, mn, mx, 1, 0);
            } else {
                tc_dwip_out4((int8_t *)(void *)st->wr, a0, a1, a2, a3, NULL, mul, sh, out_off, mn, mx, 0, 0);
            }
            st->wr = st->wr + 1 == st->rend ? st->ring4 : st->wr + 1;
            ++st->q;
            int32_t safe = ox + 1 < out_w ? row_base + tc_max0(ix0 + sw) : in_hw;
            safe = safe < st->row_next ? safe : st->row_next;
            tc_dwip_flush(st, safe < st->q ? safe : st->q);
        }
    }
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
    const int32_t *mul = quant->multiplier;
    const int32_t *sh = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t mn = params->act.min, mx = params->act.max;
    const int32_t taps = kh * kw;
    const int32_t x_row = dil_h * in_w * ch, x_tap = dil_w * ch;
    const int32_t ch4 = scratch_bytes >= 4 * ring ? (ch & ~3) : 0;
    const int unit = dil_h == 1 && dil_w == 1;
    uint32_t *ring4 = (uint32_t *)(void *)scratch; /* used only when scratch_bytes >= 4 * ring */

    tc_dwip_run_fn run = NULL;
    if (rq != NULL && unit && kh == 3 && kw == 3) {
        run = mx == 127 ? tc_dw_ip_run3x3_top : tc_dw_ip_run3x3;
    } else if (rq != NULL && unit && kh == 5 && kw == 5) {
        run = tc_dw_ip_run5x5;
    } else if (rq != NULL && unit && kh == 7 && kw == 7) {
        run = tc_dw_ip_run7x7;
    }
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = data + (size_t)b * (size_t)(in_hw * ch);
        int8_t *out_b = data + (size_t)b * (size_t)(out_h * out_w * ch);
        int32_t c = 0;
        for (; c < ch4; c += 4) {
            tc_dwip_state st;
            st.wg = (const uint32_t *)(const void *)packed_filter + (size_t)(c / 4) * (size_t)(2 * taps);
            st.bias = folded_bias + c;
            st.rq = rq != NULL ? rq + c : NULL;
            st.ring4 = ring4;
            st.rend = ring4 + ring;
            st.wr = ring4;
            st.rd = ring4;
            st.outp = out_b + c;
            st.q = 0;
            st.flushed = 0;
            st.row_next = 0;
            st.ch = ch;
            st.x_step = params->stride_w * ch;
            st.sw = params->stride_w;
            st.x_row = x_row;
            st.x_tap = x_tap;
            st.mn = mn;
            st.mx = mx;
            tc_dwip_group4(params, in_h, in_w, out_h, out_w, in_b + c, &st, mul + c, sh + c, kh, kw, dil_h, dil_w,
                           run);
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
