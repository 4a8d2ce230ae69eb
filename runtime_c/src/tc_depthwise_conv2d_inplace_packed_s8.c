/* In-place int8 DEPTHWISE_CONV_2D on compile-time packed weights, with a small ring of pending outputs
 * instead of a whole output plane of scratch (see tc_conv.h for the contract).
 *
 * Channel group by channel group (four channels, or one when the scratch only holds a one-byte ring),
 * the output pixels of the group are computed in raster order into a ring of R slots. Output pixel j
 * of the group belongs at bytes j * C + c .. of the shared buffer, which are input bytes of the same
 * group (same C), dead once no later output pixel of the group reads input pixel j. After pixel q,
 * every later pixel reads input pixels >= safe(q) (a lower bound from the window origins), so the
 * pending outputs j < safe(q) may be stored. R = tc_depthwise_inplace_ring_pixels() is the most pixels
 * ever pending when they are stored as soon as allowed; tinycompiler/plan/inplace.py computes the same
 * number. The checked loop (other kernels, dilation) stores them that way (eagerly).
 *
 * The specialised runs (unit dilation, square 3x3 / 5x5 / 7x7) store lazily: pixel j only when pixel
 * j + R needs its slot. Same R, same raster store order, later stores (never earlier), so the input is
 * never overwritten sooner than eagerly; and it is allowed then: eagerly, writing pixel q found at most
 * R - 1 pending, so pixels <= q - R were already storable (q - R < safe(q - 1), safe is monotone).
 *
 * Speed (round 5): every pixel of those kernels takes fully unrolled taps (one asm block per tap on
 * DSP cores, see tc_dw4_tap) and tc_rq requantization straight into the ring slot (one SSAT when the
 * activation range is the full int8 range, the usual case). Each row's interior run reads the input
 * directly. Border pixels (and whole rows of narrow 3x3 layers, and the top / bottom rows) read a small
 * stack window buffer instead: their taps copied in, padded taps as the input zero point, so they run
 * the same unrolled code (3x3 with compile-time buffer strides: immediate tap offsets). Narrow 3x3
 * rows keep each input row in the buffer for the next rows. Without a tc_rq table the kernel folds each
 * group's channels itself; channels whose right shift is < 2 (no folded form) are requantized again
 * with the per-channel quant (tc_dwip_fix4). */
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

/* Words of the stack buffer holding the windows of border pixels and narrow rows. */
#define TC_DWIP_BUF_WORDS 126
/* Row stride (words) of the 3x3 window buffer: 2 * 3 rows of it fit the buffer (the narrow rows keep
 * each input row twice, see tc_dwip_group4_run). A compile-time stride makes every tap offset of the
 * buffered 3x3 runs an immediate. */
#define TC_DWIP_BW3 21
/* 3x3 rows at most this wide (output pixels) go through the window buffer whole, one run per row:
 * cheaper than separate calls for the border pixels and a short interior run. */
#define TC_DWIP_NARROW_W 12

/* Requantization modes of the runs: the full int8 range (one SSAT: what RELU, RELU6 and no activation
 * give after quantization); else clamp to [act.min, act.max], and requantize the channels without
 * the folded form again (tc_dwip_fix4) when the group has any. */
enum { TC_DWIP_CLAMP = 0, TC_DWIP_FULL = 1, TC_DWIP_LOWER = 2 };

/* Requantize one channel through tc_rq and clamp. */
static inline __attribute__((always_inline)) int32_t tc_dwip_rq(int32_t acc, const tc_rq *r, int32_t mn,
                                                                int32_t mx, const int mode)
{
    int32_t v = tc_ssat8(tc_rq_output(acc, r));
    if (mode == TC_DWIP_CLAMP) {
        v = v > mx ? mx : v;
    }
    if (mode != TC_DWIP_FULL) {
        v = v < mn ? mn : v;
    }
    return v;
}

/* Ring state of one channel group. rq holds the group's four tc_rq rows (the caller's, or rq4 built
 * from the quant); channel i is requantized through rq[i] when bit i of fold is set, else through
 * mul / sh (right shift < 2: no folded form). The specialised runs flush lazily (pre: pixels left
 * before the ring is full, see tc_dwip_run); the checked loop eagerly (rd, q, flushed, row_next). */
typedef struct {
    const uint32_t *wg;
    const int32_t *bias;
    const tc_rq *rq;
    uint32_t *ring4, *rend, *wr;
    const uint32_t *rd;
    int8_t *outp;
    int32_t q, flushed, row_next, pre, ch, x_step, x_row, x_tap, mn, mx;
    const int32_t *mul, *sh;
    int32_t out_off;
    uint32_t fold;
    tc_rq rq4[4];
} tc_dwip_state;

/* The channels of a group outside the folded form (bits clear in fold), requantized again with the
 * per-channel quant over what the folded path wrote (rare, kept out of line). */
static __attribute__((noinline)) void tc_dwip_fix4(int8_t *dst, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                                   const tc_dwip_state *st)
{
    const int32_t acc[4] = {a0, a1, a2, a3};
    const tc_act_range act = {st->mn, st->mx};
    for (int32_t i = 0; i < 4; ++i) {
        if (!((st->fold >> i) & 1u)) {
            dst[i] = tc_conv_output(acc[i], st->mul[i], st->sh[i], st->out_off, act);
        }
    }
}

/* Four requantized channels to dst[0..3] (the tc_rq rows of channels without the folded form are
 * zero, harmless, and tc_dwip_fix4 overwrites those channels; FULL is only used without them). */
static inline __attribute__((always_inline)) void tc_dwip_out4(int8_t *dst, int32_t a0, int32_t a1, int32_t a2,
                                                               int32_t a3, const tc_rq *rq, int32_t mn,
                                                               int32_t mx, const tc_dwip_state *st,
                                                               const int mode)
{
    dst[0] = (int8_t)tc_dwip_rq(a0, rq, mn, mx, mode);
    dst[1] = (int8_t)tc_dwip_rq(a1, rq + 1, mn, mx, mode);
    dst[2] = (int8_t)tc_dwip_rq(a2, rq + 2, mn, mx, mode);
    dst[3] = (int8_t)tc_dwip_rq(a3, rq + 3, mn, mx, mode);
    if (mode == TC_DWIP_CLAMP && st->fold != 15u) {
        tc_dwip_fix4(dst, a0, a1, a2, a3, st);
    }
}

/* tc_rq rows of four channels from the per-channel quant (what requant_table() gives), and the mask
 * of the channels that have one (right shift e >= 2, |add| < 2^30). */
static uint32_t tc_dwip_fold4(tc_rq *r, const int32_t *mul, const int32_t *sh, int32_t out_off)
{
    /* add = 2^(e-2) + zp * 2^(e-1) = (2 zp + 1) * 2^(e-2), |2 zp + 1| <= 255: in 32 bits for e <= 24
     * (the usual right shifts; codegen drops a layer's table when the kernel folds it here) */
    const int32_t k = 2 * out_off + 1;
    uint32_t fold = 0;
    for (int32_t i = 0; i < 4; ++i) {
        const int32_t e = -sh[i];
        int32_t add = 0;
        int ok = e >= 2 && e <= 31 && mul[i] >= 0;
        if (ok && e <= 24) {
            add = k * (1 << (e - 2));
        } else if (ok) {
            const int64_t a64 = (int64_t)k * ((int64_t)1 << (e - 2));
            ok = a64 > -((int64_t)1 << 30) && a64 < ((int64_t)1 << 30);
            add = ok ? (int32_t)a64 : 0;
        }
        r[i].multiplier = ok ? mul[i] : 0;
        r[i].add = add;
        r[i].rshift = ok ? e - 1 : 0;
        fold |= (uint32_t)ok << i;
    }
    return fold;
}

/* n pixels of one row from xi (tap (0, 0) of the first), every tap readable at xi + ky * x_row +
 * kx * x_tap: the input itself for interior pixels, or the window buffer (bw != 0: its stride, a
 * compile-time constant, so that tap offsets are immediates). Each result goes to the next ring slot;
 * once the ring is full, the slot's previous pixel (the oldest pending) is stored to the output first.
 * Out of line so that the loop gets the registers to itself. */
static inline __attribute__((always_inline)) void tc_dwip_run(tc_dwip_state *st, const int8_t *xi, int32_t n,
                                                              const int32_t kh, const int32_t kw, const int mode,
                                                              const int32_t bw)
{
    const uint32_t *const wg = st->wg;
    const int32_t *const bias = st->bias;
    const tc_rq *const rq = st->rq;
    uint32_t *const ring4 = st->ring4, *const rend = st->rend;
    uint32_t *wr = st->wr;
    int8_t *outp = st->outp;
    int32_t pre = st->pre;
    const int32_t ch = st->ch, mn = st->mn, mx = st->mx;
    const int32_t x_row = bw ? 4 * bw : st->x_row, x_tap = bw ? 4 : st->x_tap, x_step = st->x_step;
    for (; n > 0; --n) {
        /* the weights, bias and tc_rq rows are loop invariant: keep the compiler from hoisting their
         * loads out of the loop (it would spill them all to the stack) */
        const uint32_t *w = wg;
        const int32_t *b = bias;
        const tc_rq *r = rq;
        __asm__("" : "+r"(w), "+r"(b), "+r"(r));
        int32_t a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3];
        tc_dw4_taps(xi, w, kh, kw, x_row, x_tap, &a0, &a1, &a2, &a3);
        const uint32_t oldest = *wr;
        tc_dwip_out4((int8_t *)(void *)wr, a0, a1, a2, a3, r, mn, mx, st, mode);
        if (pre > 0) {
            --pre;
        } else {
            tc_write_u32(outp, oldest);
            outp += ch;
        }
        wr = wr + 1 == rend ? ring4 : wr + 1;
        xi += x_step;
    }
    st->wr = wr;
    st->outp = outp;
    st->pre = pre;
}

typedef void (*tc_dwip_run_fn)(tc_dwip_state *st, const int8_t *xi, int32_t n);

#define TC_DWIP_RUN(name, k, mode, bw)                                                             \
    static __attribute__((noinline)) void name(tc_dwip_state *st, const int8_t *xi, int32_t n)     \
    {                                                                                              \
        tc_dwip_run(st, xi, n, k, k, mode, bw);                                                    \
    }
/* only the variants the model's layers reach (tc_config.h); a missing one means the checked loop */
#if TC_DWIP_K3 && TC_DWIP_RUNS_CLAMP
TC_DWIP_RUN(tc_dw_ip_run3x3, 3, TC_DWIP_CLAMP, 0)
TC_DWIP_RUN(tc_dw_ip_buf3x3, 3, TC_DWIP_CLAMP, TC_DWIP_BW3)
#else
#define tc_dw_ip_run3x3 NULL
#define tc_dw_ip_buf3x3 NULL
#endif
#if TC_DWIP_K3 && TC_DWIP_RUNS_FULL
TC_DWIP_RUN(tc_dw_ip_run3x3_full, 3, TC_DWIP_FULL, 0)
TC_DWIP_RUN(tc_dw_ip_buf3x3_full, 3, TC_DWIP_FULL, TC_DWIP_BW3)
#else
#define tc_dw_ip_run3x3_full NULL
#define tc_dw_ip_buf3x3_full NULL
#endif
#if TC_DWIP_K5 && TC_DWIP_RUNS_CLAMP
TC_DWIP_RUN(tc_dw_ip_run5x5, 5, TC_DWIP_CLAMP, 0)
#else
#define tc_dw_ip_run5x5 NULL
#endif
#if TC_DWIP_K5 && TC_DWIP_RUNS_FULL
TC_DWIP_RUN(tc_dw_ip_run5x5_full, 5, TC_DWIP_FULL, 0)
#else
#define tc_dw_ip_run5x5_full NULL
#endif
#if TC_DWIP_K7 && TC_DWIP_RUNS_CLAMP
TC_DWIP_RUN(tc_dw_ip_run7x7, 7, TC_DWIP_CLAMP, 0)
#else
#define tc_dw_ip_run7x7 NULL
#endif
#if TC_DWIP_K7 && TC_DWIP_RUNS_FULL
TC_DWIP_RUN(tc_dw_ip_run7x7_full, 7, TC_DWIP_FULL, 0)
#else
#define tc_dw_ip_run7x7_full NULL
#endif

/* Flush the pending outputs below safe. */
static inline __attribute__((always_inline)) void tc_dwip_flush(tc_dwip_state *st, int32_t safe)
{
    for (; st->flushed < safe; ++st->flushed) {
        tc_write_u32(st->outp, *st->rd);
        st->outp += st->ch;
        st->rd = st->rd + 1 == st->rend ? st->ring4 : st->rd + 1;
    }
}

/* Layer geometry of the four-channel passes. */
typedef struct {
    int32_t in_h, in_w, in_hw, out_h, out_w, kh, kw, dil_h, dil_w, sh_y, sw, pt, pl, ch;
    int32_t lo, hi;       /* interior columns: all taps inside the input, not the row's last pixel */
    int32_t bw, bpx;      /* window buffer: row stride (words), pixels per fill */
    int narrow;           /* 3x3: every row through the window buffer, input rows loaded once */
    uint32_t zp4;         /* the input zero point in all four bytes */
    tc_dwip_run_fn run;   /* interior pixels, straight from the input */
    tc_dwip_run_fn brun;  /* pixels in the window buffer */
} tc_dwip_geom;

/* m words of input row iy from column cx0 (one word = the group's four channels of a pixel) to dst
 * and dst2 (the same for one copy); outside the input the zero point in all four bytes (sign extended
 * by SXTB16 it is the zp2 of the checked loop, so padded taps still add w * zp). Reads only input
 * bytes that the pixels being computed read, all at or above the current flush bound. */
static void tc_dwip_fill_row(const tc_dwip_geom *g, const int8_t *in_c, uint32_t *dst, uint32_t *dst2, int32_t iy,
                             int32_t cx0, int32_t m)
{
    const uint32_t zp4 = g->zp4;
    const int32_t ch = g->ch;
    int32_t k = 0;
    if (iy >= 0 && iy < g->in_h) {
        int32_t l = cx0 < 0 ? -cx0 : 0;
        l = l < m ? l : m;
        int32_t r = g->in_w - cx0;
        r = r < m ? r : m;
        for (; k < l; ++k) {
            dst[k] = zp4;
            dst2[k] = zp4;
        }
        const int8_t *s = in_c + (size_t)(iy * g->in_w + cx0 + k) * (size_t)ch;
        for (; k < r; ++k, s += ch) {
            const uint32_t v = tc_read_u32(s);
            dst[k] = v;
            dst2[k] = v;
        }
    }
    for (; k < m; ++k) {
        dst[k] = zp4;
        dst2[k] = zp4;
    }
}

/* Pixels [a, b) of the output row whose windows start at input row iy0, through the window buffer,
 * at most bpx per fill. */
static void tc_dwip_seg(const tc_dwip_geom *g, const int8_t *in_c, tc_dwip_state *st, uint32_t *buf, int32_t iy0,
                        int32_t a, int32_t b)
{
    st->x_row = g->bw * 4;
    st->x_tap = 4;
    st->x_step = g->sw * 4;
    while (a < b) {
        const int32_t ix0 = a * g->sw - g->pl;
        const int32_t n = b - a < g->bpx ? b - a : g->bpx;
        for (int32_t ky = 0; ky < g->kh; ++ky) {
            tc_dwip_fill_row(g, in_c, buf + ky * g->bw, buf + ky * g->bw, iy0 + ky, ix0, (n - 1) * g->sw + g->kw);
        }
        g->brun(st, (const int8_t *)(const void *)buf, n);
        a += n;
    }
}

/* One channel group of four with specialised runs (unit dilation, 3x3 / 5x5 / 7x7): every output
 * pixel in raster order through the ring. Interior runs read the input directly; border pixels go
 * through the window buffer, so every pixel takes the unrolled taps. Narrow 3x3 layers run each row
 * whole from the buffer, which keeps every input row twice (slots s and s + 3, s = (iy + pt) % 3), so
 * that the three rows of any window are consecutive and each input row is loaded once. Input rows are
 * loaded when the first pixel that reads them is next, so no output has been stored over them yet. */
static void tc_dwip_group4_run(const tc_dwip_geom *g, const int8_t *in_c, tc_dwip_state *st, int32_t ring)
{
    uint32_t buf[TC_DWIP_BUF_WORDS];
    const int32_t x_row = g->in_w * g->ch, x_step = g->sw * g->ch;
    const int32_t m = (g->out_w - 1) * g->sw + g->kw; /* narrow: words per buffered row */
    int32_t next_iy = -g->pt, next_slot = 0;           /* narrow: next input row to load, its slot */
    st->pre = ring;
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        const int32_t iy0 = oy * g->sh_y - g->pt;
        if (g->narrow) {
            for (; next_iy < iy0 + 3; ++next_iy) {
                if (next_iy >= iy0) {
                    tc_dwip_fill_row(g, in_c, buf + next_slot * TC_DWIP_BW3, buf + (next_slot + 3) * TC_DWIP_BW3,
                                     next_iy, -g->pl, m);
                }
                next_slot = next_slot == 2 ? 0 : next_slot + 1;
            }
            /* the window starts at iy0, whose slot is next_slot (iy0 + 3 comes next) */
            st->x_step = g->sw * 4;
            g->brun(st, (const int8_t *)(const void *)(buf + next_slot * TC_DWIP_BW3), g->out_w);
            continue;
        }
        if (iy0 < 0 || iy0 + g->kh > g->in_h || g->lo >= g->hi) {
            tc_dwip_seg(g, in_c, st, buf, iy0, 0, g->out_w);
            continue;
        }
        if (g->lo > 0) {
            tc_dwip_seg(g, in_c, st, buf, iy0, 0, g->lo);
        }
        st->x_row = x_row;
        st->x_tap = g->ch;
        st->x_step = x_step;
        g->run(st, in_c + (iy0 * g->in_w + g->lo * g->sw - g->pl) * g->ch, g->hi - g->lo);
        tc_dwip_seg(g, in_c, st, buf, iy0, g->hi, g->out_w);
    }
    /* the pending pixels, oldest first: all of them while the ring was never full */
    const uint32_t *rd = st->pre > 0 ? st->ring4 : st->wr;
    for (int32_t k = ring - st->pre; k > 0; --k) {
        tc_write_u32(st->outp, *rd);
        st->outp += st->ch;
        rd = rd + 1 == st->rend ? st->ring4 : rd + 1;
    }
}

/* One channel group of four, any kernel and dilation: the checked tap loop, pixel by pixel. Padded
 * taps multiply the input zero point; valid taps split into column ranges, no per-tap checks. The
 * flush bound safe(q) of tc_ring_safe is kept incrementally (same values, so the same ring). */
static void tc_dwip_group4(const tc_dwip_geom *g, const int8_t *in_c, tc_dwip_state *st)
{
    const int32_t kh = g->kh, kw = g->kw, sw = g->sw, ch = g->ch;
    const int32_t x_row = g->dil_h * g->in_w * ch, x_tap = g->dil_w * ch, x_step = sw * ch;
    const uint32_t zp2 = tc_pack16((int8_t)g->zp4, (int8_t)g->zp4);
    const uint32_t *const wg = st->wg;
    const int32_t *const bias = st->bias;
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
        const int32_t iy0 = oy * g->sh_y - g->pt;
        int32_t ky0, ky1;
        tc_valid_taps(iy0, g->dil_h, kh, g->in_h, &ky0, &ky1);
        const int32_t row_base = tc_max0(iy0) * g->in_w;
        const int32_t row_next = oy + 1 < g->out_h ? tc_max0(iy0 + g->sh_y) * g->in_w : g->in_hw;
        st->row_next = row_next < g->in_hw ? row_next : g->in_hw;
        const int8_t *x = in_c + ((iy0 * g->in_w) - g->pl) * ch;
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            const int32_t ix0 = ox * sw - g->pl;
            const int8_t *xb = x + ox * x_step;
            int32_t kx0, kx1;
            tc_valid_taps(ix0, g->dil_w, kw, g->in_w, &kx0, &kx1);
            int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
            const uint32_t *w = wg;
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
            tc_dwip_out4((int8_t *)(void *)st->wr, a0, a1, a2, a3, st->rq, st->mn, st->mx, st, TC_DWIP_CLAMP);
            st->wr = st->wr + 1 == st->rend ? st->ring4 : st->wr + 1;
            ++st->q;
            int32_t safe = ox + 1 < g->out_w ? row_base + tc_max0(ix0 + sw) : g->in_hw;
            safe = safe < st->row_next ? safe : st->row_next;
            tc_dwip_flush(st, safe < st->q ? safe : st->q);
        }
    }
}

/* One channel group of four of a 1-D layer (in_w == out_w == 1, kw == 1: temporal models, T x 1 x C):
 * any kh, stride, dilation and padding. Pixels whose taps all lie inside the input take a plain tap loop
 * straight from the input (no window checks, no padded taps); the few border pixels the checked taps.
 * Stored eagerly as the checked loop does (same safe bound, so the same ring): with one pixel per row,
 * every later pixel reads input rows >= max(0, iy0 + stride). */
static inline __attribute__((always_inline)) void tc_dwip_col_body(const tc_dwip_geom *g, const int8_t *in_c,
                                                                   tc_dwip_state *st, const int mode)
{
    const int32_t kh = g->kh, ch = g->ch, s = g->sh_y, d = g->dil_h, in_h = g->in_h, out_h = g->out_h;
    const int32_t x_tap = d * ch, span = (kh - 1) * d;
    const uint32_t zp2 = tc_pack16((int8_t)g->zp4, (int8_t)g->zp4);
    const uint32_t *const wg = st->wg, *const wend = st->wg + 2 * kh;
    const int32_t *const bias = st->bias;
    const tc_rq *const rq = st->rq;
    const int32_t mn = st->mn, mx = st->mx;
    /* the ring and the store position live in registers for the whole group */
    uint32_t *const ring4 = st->ring4, *const rend = st->rend;
    uint32_t *wr = st->wr;
    const uint32_t *rd = st->rd;
    int8_t *outp = st->outp;
    int32_t flushed = st->flushed;
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t iy0 = oy * s - g->pt;
        int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
        const uint32_t *w = wg;
        if (iy0 >= 0 && iy0 + span < in_h) {
            const int8_t *xr = in_c + iy0 * ch;
            for (; w != wend; w += 2, xr += x_tap) {
                tc_dw4_tap(tc_read_u32(xr), w[0], w[1], &a0, &a1, &a2, &a3);
            }
        } else {
            int32_t k0, k1;
            tc_valid_taps(iy0, d, kh, in_h, &k0, &k1);
            int32_t ky = 0;
            for (; ky < k0; ++ky, w += 2) {
                tc_dw4_tap_x(zp2, zp2, w[0], w[1], &a0, &a1, &a2, &a3);
            }
            const int8_t *xr = in_c + (iy0 + k0 * d) * ch;
            for (; ky < k1; ++ky, w += 2, xr += x_tap) {
                tc_dw4_tap(tc_read_u32(xr), w[0], w[1], &a0, &a1, &a2, &a3);
            }
            for (; ky < kh; ++ky, w += 2) {
                tc_dw4_tap_x(zp2, zp2, w[0], w[1], &a0, &a1, &a2, &a3);
            }
        }
        tc_dwip_out4((int8_t *)(void *)wr, a0, a1, a2, a3, rq, mn, mx, st, mode);
        wr = wr + 1 == rend ? ring4 : wr + 1;
        /* pixels up to oy are computed; later ones read input rows >= max(0, iy0 + s) */
        int32_t safe = oy + 1 < out_h ? tc_max0(iy0 + s) : in_h;
        safe = safe < oy + 1 ? safe : oy + 1;
        for (; flushed < safe; ++flushed) {
            tc_write_u32(outp, *rd);
            outp += ch;
            rd = rd + 1 == rend ? ring4 : rd + 1;
        }
    }
    st->wr = wr;
    st->rd = rd;
    st->outp = outp;
    st->flushed = flushed;
    st->q += out_h;
}

#if TC_DWIP_COL
/* mode: FULL (every channel folded, the whole int8 range), LOWER (every channel folded, act.max 127:
 * SSAT and the lower bound, as after RELU) or CLAMP */
static __attribute__((noinline)) void tc_dwip_group4_col(const tc_dwip_geom *g, const int8_t *in_c,
                                                         tc_dwip_state *st, const int mode)
{
    if (mode == TC_DWIP_FULL) {
        tc_dwip_col_body(g, in_c, st, TC_DWIP_FULL);
    } else if (mode == TC_DWIP_LOWER) {
        tc_dwip_col_body(g, in_c, st, TC_DWIP_LOWER);
    } else {
        tc_dwip_col_body(g, in_c, st, TC_DWIP_CLAMP);
    }
}
#endif

tc_status tc_depthwise_conv2d_inplace_packed_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                                const tc_rq *rq, const tc_dims *input_dims,
                                                const tc_dims *filter_dims, const int16_t *packed_filter,
                                                const int32_t *folded_bias, const tc_dims *output_dims,
                                                int8_t *data, int8_t *scratch, int32_t scratch_bytes)
{
    if (!tc_rq_or_quant_ok(rq, quant) ||
        !tc_dw_shapes_ok(params, input_dims, filter_dims, packed_filter, output_dims) || data == NULL ||
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
    const int32_t *mul = quant != NULL ? quant->multiplier : NULL; /* read only without rq */
    const int32_t *sh = quant != NULL ? quant->shift : NULL;
    const int32_t out_off = params->output_offset;
    const int32_t mn = params->act.min, mx = params->act.max;
    const int32_t taps = kh * kw;
    const int32_t x_row = dil_h * in_w * ch, x_tap = dil_w * ch;
    const int32_t ch4 = scratch_bytes >= 4 * ring ? (ch & ~3) : 0;
    uint32_t *ring4 = (uint32_t *)(void *)scratch; /* used only when scratch_bytes >= 4 * ring */

    tc_dwip_geom g;
    g.in_h = in_h;
    g.in_w = in_w;
    g.in_hw = in_hw;
    g.out_h = out_h;
    g.out_w = out_w;
    g.kh = kh;
    g.kw = kw;
    g.dil_h = dil_h;
    g.dil_w = dil_w;
    g.sh_y = params->stride_h;
    g.sw = params->stride_w;
    g.pt = params->pad_top;
    g.pl = params->pad_left;
    g.ch = ch;
    g.zp4 = ((uint32_t)zp & 0xFFu) * 0x01010101u;
    /* interior columns: ix0 >= 0 and ix0 + (kw - 1) * dil_w <= in_w - 1, and not the last pixel */
    const int32_t hi_num = in_w - 1 - (kw - 1) * dil_w + g.pl;
    g.hi = hi_num < 0 ? 0 : hi_num / g.sw + 1;
    g.hi = g.hi < out_w - 1 ? g.hi : out_w - 1;
    g.lo = (g.pl + g.sw - 1) / g.sw;
    g.lo = g.lo < g.hi ? g.lo : g.hi;
    /* the specialised runs: unit dilation, square 3 / 5 / 7 kernels, a window that fits the buffer */
    const int fast = dil_h == 1 && dil_w == 1 && kh == kw && (kh == 3 || kh == 5 || kh == 7) &&
                     (kh == 3 ? TC_DWIP_BW3 : TC_DWIP_BUF_WORDS / kh) >= kw + g.sw;
    const int mode = mn == -128 && mx == 127 ? TC_DWIP_FULL : TC_DWIP_CLAMP;
    /* 1-D layers (T x 1 x C, K x 1 kernels) take the column path */
    const int col = TC_DWIP_COL && in_w == 1 && out_w == 1 && kw == 1;
    g.bw = kh == 3 ? TC_DWIP_BW3 : TC_DWIP_BUF_WORDS / kh;
    g.bpx = (g.bw - kw) / g.sw + 1;
    g.narrow = fast && kh == 3 && out_w <= TC_DWIP_NARROW_W && (out_w - 1) * g.sw + kw <= TC_DWIP_BW3;
    g.run = g.brun = NULL;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = data + (size_t)b * (size_t)(in_hw * ch);
        int8_t *out_b = data + (size_t)b * (size_t)(out_h * out_w * ch);
        int32_t c = 0;
        for (; c < ch4; c += 4) {
            tc_dwip_state st;
            st.wg = (const uint32_t *)(const void *)packed_filter + (size_t)(c / 4) * (size_t)(2 * taps);
            st.bias = folded_bias + c;
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
            st.pre = 0;
            st.x_row = x_row;
            st.x_tap = x_tap;
            st.mn = mn;
            st.mx = mx;
            st.mul = mul != NULL ? mul + c : NULL;
            st.sh = sh != NULL ? sh + c : NULL;
            st.out_off = out_off;
            if (rq != NULL) {
                st.rq = rq + c;
                st.fold = 15u;
            } else {
                /* no table: fold this group's channels here; a channel without the folded form
                 * (right shift < 2) is requantized again by tc_dwip_fix4 */
                st.fold = tc_dwip_fold4(st.rq4, mul + c, sh + c, out_off);
                st.rq = st.rq4;
            }
            if (fast) {
                /* FULL needs every channel folded */
                const int full = mode == TC_DWIP_FULL && st.fold == 15u;
                if (kh == 3) {
                    g.run = full ? tc_dw_ip_run3x3_full : tc_dw_ip_run3x3;
                    g.brun = full ? tc_dw_ip_buf3x3_full : tc_dw_ip_buf3x3;
                } else {
                    if (kh == 5) {
                        g.run = full ? tc_dw_ip_run5x5_full : tc_dw_ip_run5x5;
                    } else {
                        g.run = full ? tc_dw_ip_run7x7_full : tc_dw_ip_run7x7;
                    }
                    g.brun = g.run;
                }
            }
            if (col) {
#if TC_DWIP_COL
                tc_dwip_group4_col(&g, in_b + c, &st,
                                   st.fold != 15u ? TC_DWIP_CLAMP : mode == TC_DWIP_FULL ? TC_DWIP_FULL
                                                                   : mx == 127 ? TC_DWIP_LOWER : TC_DWIP_CLAMP);
#endif
            } else if (g.run != NULL) {
                tc_dwip_group4_run(&g, in_b + c, &st, ring);
            } else {
                tc_dwip_group4(&g, in_b + c, &st);
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
