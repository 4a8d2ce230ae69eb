/* int8 CONV_2D with one input channel on compile-time packed weights (also DEPTHWISE_CONV_2D with one
 * input channel and a depth multiplier M: its filter [1, kh, kw, M] is the OHWI filter [M, kh, kw, 1]).
 * No scratch: one border row of at most TC_C1_MAXW words on the stack.
 *
 * With in_ch == 1 a window row is kw consecutive input bytes, read as nw = ceil(kw / 4) words; SXTB16 /
 * SXTB16 ROR #8 turn each word into the int16 pairs (x0, x2), (x1, x3). The weights are int16, packed at
 * compile time in the same lane order (tinycompiler/codegen/weights_layout.py: conv_c1_packed_weights),
 * zero past kw, so one SMLAD per pair and channel and no unpacking at run time:
 *   channels in blocks of four: for each block, for ky < kh, for word j < nw, for each of the block's four
 *   channels the two words (w[4j], w[4j+2]), (w[4j+1], w[4j+3]); then each of the M % 4 tail channels
 *   alone, for ky, for j, its two words.
 * The input offset is folded into the bias (folded_bias), so raw input bytes are multiplied; padded taps
 * take the input zero point instead, which is what the folded bias expects, so border pixels stay exact.
 * Per pixel and block of four channels the window is widened once and dotted into four accumulators.
 * Interior pixels (every word of every row inside the input row): on DSP cores, with rq, the whole int8
 * activation range and M % 4 == 0, a run of them goes through one naked asm loop (nw 1 or 2: LDM of the
 * weights, 13 instructions per word and block, 8 per output to requantize); otherwise a C loop around a
 * per-row asm loop. Border pixels: rows wholly in the padding read a row of zero points with stride 0,
 * rows cut by the left/right padding are built word by word (an edge word is one in-row load shifted).
 *
 * Measured (QEMU mps2-an386, exact instructions, gcc -O2): person_detect layer 0 (3x3 x8, 96x96 -> 48x48,
 * s2) 496,451 = 27 per output (tc_conv2d_packed_s8: 1,337,395); micro_speech layer 0 (10x8 x8, 49x40 ->
 * 25x20, s2, 42% border pixels) 527,820 (packed conv with 160 B scratch: ~761,000); interior outputs 86
 * each for the 80-tap window.
 *
 * Overlap contract (plan/overlap.py, the one-channel depthwise rule): output pixels in raster order;
 * within a pixel, block by block the window is read and the block's outputs written, and no window of an
 * earlier pixel is read afterwards (q' >= q). Bytes outside the window that a word load also touches only
 * meet zero weights or are shifted out, so their values never matter. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

#define TC_ALWAYS_INLINE inline __attribute__((always_inline))
#define TC_C1_MAXW 4 /* words of a border row built on the stack (kw <= 16); wider rows take the slow path */

int tc_conv2d_c1_packed_s8_applies(const tc_conv_params *params, const tc_dims *input_dims,
                                   const tc_dims *filter_dims)
{
    return input_dims->c == 1 && filter_dims->c == 1 && params->dilation_w == 1;
}

typedef struct {
    const tc_conv_params *p;
    const tc_per_channel_quant *quant;
    const tc_rq *rq;
    const uint32_t *w;
    const int32_t *fb;
    int32_t kh, nw, out_c, rstep, sw, in_w;
    uint32_t zp4;
    int fast; /* rq != NULL and the activation range is [-128, 127] */
} tc_conv_c1_ctx;

/* a0..a3 += rows n >= 1 of a window for four channels: row r's nw words at x + r * rstep, weights from *wp on
 * (advanced). One asm loop per row on DSP cores (a C loop leaves GCC free to spread the weight loads over
 * offsets it cannot pair into LDRD). */
static TC_ALWAYS_INLINE void tc_conv_c1_rows4(const int8_t *x, int32_t rstep, int32_t n, int32_t nw,
                                              const uint32_t **wp, int32_t *a0, int32_t *a1, int32_t *a2,
                                              int32_t *a3)
{
    const uint32_t *w = *wp;
    for (; n > 0; --n, x += rstep) {
#if TC_USE_DSP
        const int8_t *xr = x;
        int32_t j = nw;
        uint32_t x02, x13, w0, w1;
        __asm__ volatile("1:\n\t"
                         "ldr %[x13], [%[xr]], #4\n\t"
                         "ldrd %[w0], %[w1], [%[w]], #8\n\t"
                         "sxtb16 %[x02], %[x13]\n\t"
                         "sxtb16 %[x13], %[x13], ror #8\n\t"
                         "smlad %[a0], %[x02], %[w0], %[a0]\n\t"
                         "smlad %[a0], %[x13], %[w1], %[a0]\n\t"
                         "ldrd %[w0], %[w1], [%[w]], #8\n\t"
                         "smlad %[a1], %[x02], %[w0], %[a1]\n\t"
                         "smlad %[a1], %[x13], %[w1], %[a1]\n\t"
                         "ldrd %[w0], %[w1], [%[w]], #8\n\t"
                         "smlad %[a2], %[x02], %[w0], %[a2]\n\t"
                         "smlad %[a2], %[x13], %[w1], %[a2]\n\t"
                         "ldrd %[w0], %[w1], [%[w]], #8\n\t"
                         "smlad %[a3], %[x02], %[w0], %[a3]\n\t"
                         "smlad %[a3], %[x13], %[w1], %[a3]\n\t"
                         "subs %[j], %[j], #1\n\t"
                         "bne 1b\n"
                         : [xr] "+r"(xr), [w] "+r"(w), [j] "+r"(j), [a0] "+r"(*a0), [a1] "+r"(*a1),
                           [a2] "+r"(*a2), [a3] "+r"(*a3), [x02] "=&r"(x02), [x13] "=&r"(x13), [w0] "=&r"(w0),
                           [w1] "=&r"(w1)
                         :
                         : "cc", "memory");
#else
        for (int32_t j = 0; j < nw; ++j, w += 8) {
            const uint32_t v = tc_read_u32(x + 4 * j);
            const uint32_t x02 = tc_sxtb16(v), x13 = tc_sxtb16_ror8(v);
            *a0 = tc_smlad(x13, w[1], tc_smlad(x02, w[0], *a0));
            *a1 = tc_smlad(x13, w[3], tc_smlad(x02, w[2], *a1));
            *a2 = tc_smlad(x13, w[5], tc_smlad(x02, w[4], *a2));
            *a3 = tc_smlad(x13, w[7], tc_smlad(x02, w[6], *a3));
        }
#endif
    }
    *wp = w;
}

/* One channel's output byte (the general path: out of line). */
static __attribute__((noinline)) int8_t tc_conv_c1_out(int32_t acc, int32_t o, const tc_rq *rq,
                                                       const tc_per_channel_quant *quant, int32_t out_zp, int32_t lo,
                                                       int32_t hi)
{
    int32_t v = rq != NULL ? tc_rq_output(acc, &rq[o])
                           : tc_requantize_fast(acc, quant->multiplier[o], quant->shift[o]) + out_zp;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* Channels o..o+3 from a0..a3 into out[o..o+3]. fast: rq != NULL and the activation range is the whole
 * int8 range (then SSAT alone clamps; one asm block on DSP cores, the rows of rq read in order). */
static TC_ALWAYS_INLINE void tc_conv_c1_store4(int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t o,
                                               int8_t *out, const tc_rq *rq, const tc_per_channel_quant *quant,
                                               int32_t out_zp, int32_t lo, int32_t hi, int fast)
{
#if TC_USE_DSP
    if (fast) {
        const tc_rq *r = rq + o;
        int8_t *d = out + o;
        uint32_t m, ad, sh, l;
#define TC_C1_RQ(a)                                                                                               \
    "ldr %[m], [%[r]], #12\n\t"                                                                                   \
    "ldrd %[ad], %[sh], [%[r], #-8]\n\t"                                                                          \
    "and %[l], %[" a "], #0x80000000\n\t"                                                                         \
    "orr %[l], %[l], #0x40000000\n\t"                                                                             \
    "add %[ad], %[ad], %[" a "], asr #31\n\t"                                                                     \
    "smlal %[l], %[ad], %[" a "], %[m]\n\t"                                                                       \
    "asr %[ad], %[ad], %[sh]\n\t"                                                                                 \
    "ssat %[ad], #8, %[ad]\n\t"                                                                                   \
    "strb %[ad], [%[d]], #1\n\t"
        __asm__(TC_C1_RQ("a0") TC_C1_RQ("a1") TC_C1_RQ("a2") TC_C1_RQ("a3")
                : [r] "+r"(r), [d] "+r"(d), [m] "=&r"(m), [ad] "=&r"(ad), [sh] "=&r"(sh), [l] "=&r"(l),
                  "=m"(*(int8_t(*)[4])(void *)(out + o))
                : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), "m"(*(const tc_rq(*)[4])(rq + o)));
#undef TC_C1_RQ
        return;
    }
#endif
    (void)fast;
    out[o] = tc_conv_c1_out(a0, o, rq, quant, out_zp, lo, hi);
    out[o + 1] = tc_conv_c1_out(a1, o + 1, rq, quant, out_zp, lo, hi);
    out[o + 2] = tc_conv_c1_out(a2, o + 2, rq, quant, out_zp, lo, hi);
    out[o + 3] = tc_conv_c1_out(a3, o + 3, rq, quant, out_zp, lo, hi);
}

/* The four input bytes at columns c..c+3 of the image row at `rowp`, zero point for columns outside
 * [0, in_w). A word cut by the left or right edge is one in-row load shifted into place (in_w >= 4). */
static TC_ALWAYS_INLINE uint32_t tc_conv_c1_word(const int8_t *rowp, int32_t c, int32_t in_w, uint32_t zp4)
{
    if (c >= 0 && c + 4 <= in_w) {
        return tc_read_u32(rowp + c);
    }
    if (c + 4 <= 0 || c >= in_w) {
        return zp4;
    }
    if (in_w >= 4 && c < 0) {
        const uint32_t s = (uint32_t)(-8 * c);
        return (tc_read_u32(rowp) << s) | (zp4 >> (32u - s));
    }
    if (in_w >= 4 && c >= 0) {
        const uint32_t s = (uint32_t)(8 * (c + 4 - in_w));
        return (tc_read_u32(rowp + in_w - 4) >> s) | (zp4 << (32u - s));
    }
    uint32_t v = zp4; /* narrower than a word: byte by byte */
    for (int32_t i = 0; i < 4; ++i) {
        if (c + i >= 0 && c + i < in_w) {
            v = (v & ~(0xFFu << (8 * i))) | ((uint32_t)(uint8_t)rowp[c + i] << (8 * i));
        }
    }
    return v;
}

/* The M % 4 tail channels of one pixel (rows outside [ky0, ky1) and columns outside the input take the
 * zero point; so do columns outside the input). */
static void tc_conv_c1_tail(const tc_conv_c1_ctx *k, const int8_t *img, int32_t iy0, int32_t ix0, int32_t ky0,
                            int32_t ky1, int8_t *out)
{
    const int32_t in_w = k->in_w;
    const int32_t kh = k->kh, nw = k->nw, rstep = k->rstep, o4 = k->out_c & ~3;
    const uint32_t *w = k->w + (size_t)o4 * (size_t)(kh * nw * 2);
    for (int32_t o = o4; o < k->out_c; ++o) {
        int32_t acc = k->fb[o];
        for (int32_t ky = 0; ky < kh; ++ky) {
            const int row_in = ky >= ky0 && ky < ky1;
            for (int32_t j = 0; j < nw; ++j, w += 2) {
                const uint32_t v =
                    row_in ? tc_conv_c1_word(img + (iy0 * in_w + ky * rstep), ix0 + 4 * j, in_w, k->zp4) : k->zp4;
                acc = tc_smlad(tc_sxtb16_ror8(v), w[1], tc_smlad(tc_sxtb16(v), w[0], acc));
            }
        }
        out[o] = tc_conv_c1_out(acc, o, k->rq, k->quant, k->p->output_offset, k->p->act.min, k->p->act.max);
    }
}

/* n interior pixels (all rows inside the input, every word readable), the first window's top-left byte
 * at (iy0, ix0), the next ones sw bytes apart. */
static __attribute__((noinline)) void tc_conv_c1_interior(const tc_conv_c1_ctx *k, const int8_t *img, int32_t iy0,
                                                          int32_t ix0, int32_t n, int8_t *out)
{
    const int32_t kh = k->kh, nw = k->nw, rstep = k->rstep, sw = k->sw, out_c = k->out_c;
    const int32_t o4 = out_c & ~3;
    const tc_rq *const rq = k->rq;
    const tc_per_channel_quant *const quant = k->quant;
    const int32_t out_zp = k->p->output_offset, lo = k->p->act.min, hi = k->p->act.max;
    const uint32_t *const w0 = k->w;
    const int32_t *const fb0 = k->fb;
    const int fast = k->fast;
    const int8_t *x = img + iy0 * k->in_w + ix0;
    for (; n > 0; --n, x += sw, out += out_c) {
        const uint32_t *w = w0;
        const int32_t *fb = fb0;
        for (int32_t o = 0; o < o4; o += 4, fb += 4) {
            int32_t a0 = fb[0], a1 = fb[1], a2 = fb[2], a3 = fb[3];
            tc_conv_c1_rows4(x, rstep, kh, nw, &w, &a0, &a1, &a2, &a3);
            tc_conv_c1_store4(a0, a1, a2, a3, o, out, rq, quant, out_zp, lo, hi, fast);
        }
        if (o4 < out_c) {
            tc_conv_c1_tail(k, img, iy0, ix0 + (int32_t)(x - (img + iy0 * k->in_w + ix0)), 0, kh, out);
        }
    }
}

/* One border pixel: rows outside [ky0, ky1) are rows of zero points, rows cut by the padding (or whose
 * last word would run past the input row: !cols_ok) are built word by word; both in brow (TC_C1_MAXW
 * words on the stack), which the row loop then reads with stride 0. */
static __attribute__((noinline)) void tc_conv_c1_border(const tc_conv_c1_ctx *k, const int8_t *img, int32_t iy0,
                                                        int32_t ix0, int32_t ky0, int32_t ky1, int cols_ok,
                                                        int8_t *out)
{
    const int32_t kh = k->kh, nw = k->nw, rstep = k->rstep, out_c = k->out_c, in_w = k->in_w;
    const int32_t o4 = out_c & ~3;
    const uint32_t zp4 = k->zp4;
    uint32_t brow[TC_C1_MAXW];
    const int8_t *const bx = (const int8_t *)brow;
    const uint32_t *w = k->w;
    const int32_t *fb = k->fb;
    for (int32_t o = 0; o < o4; o += 4, fb += 4) {
        int32_t a0 = fb[0], a1 = fb[1], a2 = fb[2], a3 = fb[3];
        if (ky0 > 0 || ky1 < kh) {
            for (int32_t j = 0; j < nw; ++j) {
                brow[j] = zp4;
            }
        }
        if (ky0 > 0) {
            tc_conv_c1_rows4(bx, 0, ky0, nw, &w, &a0, &a1, &a2, &a3);
        }
        if (cols_ok) {
            if (ky1 > ky0) {
                tc_conv_c1_rows4(img + (iy0 * in_w + ky0 * rstep) + ix0, rstep, ky1 - ky0, nw, &w, &a0, &a1, &a2,
                                 &a3);
            }
        } else {
            for (int32_t ky = ky0; ky < ky1; ++ky) {
                const int8_t *const rowp = img + (iy0 * in_w + ky * rstep);
                for (int32_t j = 0; j < nw; ++j) {
                    brow[j] = tc_conv_c1_word(rowp, ix0 + 4 * j, in_w, zp4);
                }
                tc_conv_c1_rows4(bx, 0, 1, nw, &w, &a0, &a1, &a2, &a3);
            }
        }
        if (ky1 < kh) {
            for (int32_t j = 0; j < nw; ++j) {
                brow[j] = zp4;
            }
            tc_conv_c1_rows4(bx, 0, kh - ky1, nw, &w, &a0, &a1, &a2, &a3);
        }
        tc_conv_c1_store4(a0, a1, a2, a3, o, out, k->rq, k->quant, k->p->output_offset, k->p->act.min,
                          k->p->act.max, k->fast);
    }
    if (o4 < out_c) {
        tc_conv_c1_tail(k, img, iy0, ix0, ky0, ky1, out);
    }
}

/* A border pixel whose rows are wider than TC_C1_MAXW words: word by word, channel by channel. */
static __attribute__((noinline)) void tc_conv_c1_border_wide(const tc_conv_c1_ctx *k, const int8_t *img, int32_t iy0,
                                                             int32_t ix0, int32_t ky0, int32_t ky1, int8_t *out)
{
    const int32_t kh = k->kh, nw = k->nw, rstep = k->rstep, out_c = k->out_c, o4 = out_c & ~3, in_w = k->in_w;
    for (int32_t o = 0; o < o4; ++o) {
        int32_t acc = k->fb[o];
        const uint32_t *w = k->w + (size_t)(o >> 2) * (size_t)(kh * nw * 8) + 2 * (o & 3);
        for (int32_t ky = 0; ky < kh; ++ky) {
            const int row_in = ky >= ky0 && ky < ky1;
            for (int32_t j = 0; j < nw; ++j, w += 8) {
                const uint32_t v =
                    row_in ? tc_conv_c1_word(img + (iy0 * in_w + ky * rstep), ix0 + 4 * j, in_w, k->zp4) : k->zp4;
                acc = tc_smlad(tc_sxtb16_ror8(v), w[1], tc_smlad(tc_sxtb16(v), w[0], acc));
            }
        }
        out[o] = tc_conv_c1_out(acc, o, k->rq, k->quant, k->p->output_offset, k->p->act.min, k->p->act.max);
    }
    if (o4 < out_c) {
        tc_conv_c1_tail(k, img, iy0, ix0, ky0, ky1, out);
    }
}

#if TC_USE_DSP
/* A run of interior pixels, all channels, in one hand-scheduled loop (the common case: rq != NULL, the
 * whole int8 activation range, out_ch % 4 == 0, nw 1 or 2). Naked functions taking a tc_conv_c1_run *: its
 * ten words are copied onto the stack, so the loops get all fourteen registers: r0-r3 the accumulators of a
 * block of four channels (LDM of the bias), r4/r5 the widened input pair, r6-r9 four weight words per LDM
 * (two channels), r10 the row pointer, r11 the row counter, r12 the weight pointer, lr the row stride.
 * Per output: 8 instructions of requantization (LDM of the tc_rq row, SMLAL, ASR, SSAT, STRB). */
typedef struct {
    const int8_t *x; /* window top-left of the first pixel */
    int32_t n, sw, rstep, kh, blocks;
    const uint32_t *w;
    const int32_t *fb;
    const tc_rq *rq;
    int8_t *out;
} tc_conv_c1_run;

/* stack frame: [sp] current bias, [sp, #4] current rq row, [sp, #8] blocks left, then the tc_conv_c1_run. */
#define TC_C1_ASM_ENTER                                                                                           \
    "push {r4-r11, lr}\n\t"                                                                                       \
    "ldm r0, {r1-r10}\n\t"                                                                                        \
    "push {r1-r10}\n\t"                                                                                           \
    "sub sp, sp, #12\n"                                                                                           \
    "1:\n\t" /* pixel */                                                                                          \
    "ldr r12, [sp, #36]\n\t"                                                                                      \
    "ldrd r10, r11, [sp, #40]\n\t"                                                                                \
    "strd r10, r11, [sp]\n\t"                                                                                     \
    "ldr r10, [sp, #32]\n\t"                                                                                      \
    "str r10, [sp, #8]\n"                                                                                         \
    "2:\n\t" /* block of four channels */                                                                         \
    "ldr r10, [sp]\n\t"                                                                                           \
    "ldm r10!, {r0-r3}\n\t"                                                                                       \
    "str r10, [sp]\n\t"                                                                                           \
    "ldr r10, [sp, #12]\n\t"                                                                                      \
    "ldr r11, [sp, #28]\n\t"                                                                                      \
    "ldr lr, [sp, #24]\n"                                                                                         \
    "3:\n\t" /* row */
#define TC_C1_ASM_WORD(load)                                                                                      \
    load "sxtb16 r4, r5\n\t"                                                                                      \
    "sxtb16 r5, r5, ror #8\n\t"                                                                                   \
    "ldm r12!, {r6-r9}\n\t"                                                                                       \
    "smlad r0, r4, r6, r0\n\t"                                                                                    \
    "smlad r0, r5, r7, r0\n\t"                                                                                    \
    "smlad r1, r4, r8, r1\n\t"                                                                                    \
    "smlad r1, r5, r9, r1\n\t"                                                                                    \
    "ldm r12!, {r6-r9}\n\t"                                                                                       \
    "smlad r2, r4, r6, r2\n\t"                                                                                    \
    "smlad r2, r5, r7, r2\n\t"                                                                                    \
    "smlad r3, r4, r8, r3\n\t"                                                                                    \
    "smlad r3, r5, r9, r3\n\t"
#define TC_C1_ASM_RQ(a)                                                                                           \
    "ldm r10!, {r6, r7, r8}\n\t"                                                                                  \
    "and r9, " a ", #0x80000000\n\t"                                                                              \
    "orr r9, r9, #0x40000000\n\t"                                                                                 \
    "add r7, r7, " a ", asr #31\n\t"                                                                              \
    "smlal r9, r7, " a ", r6\n\t"                                                                                 \
    "asr r7, r7, r8\n\t"                                                                                          \
    "ssat r7, #8, r7\n\t"                                                                                         \
    "strb r7, [r11], #1\n\t"
#define TC_C1_ASM_LEAVE                                                                                           \
    "subs r11, r11, #1\n\t"                                                                                       \
    "bne 3b\n\t"                                                                                                  \
    "ldr r10, [sp, #4]\n\t"                                                                                       \
    "ldr r11, [sp, #48]\n\t" TC_C1_ASM_RQ("r0") TC_C1_ASM_RQ("r1") TC_C1_ASM_RQ("r2") TC_C1_ASM_RQ("r3")         \
    "str r10, [sp, #4]\n\t"                                                                                       \
    "str r11, [sp, #48]\n\t"                                                                                      \
    "ldr r10, [sp, #8]\n\t"                                                                                       \
    "subs r10, r10, #1\n\t"                                                                                       \
    "str r10, [sp, #8]\n\t"                                                                                       \
    "bne 2b\n\t"                                                                                                  \
    "ldrd r10, r11, [sp, #12]\n\t" /* next pixel: x += sw, --n */                                                 \
    "ldr r4, [sp, #20]\n\t"                                                                                       \
    "add r10, r10, r4\n\t"                                                                                        \
    "subs r11, r11, #1\n\t"                                                                                       \
    "strd r10, r11, [sp, #12]\n\t"                                                                                \
    "bne 1b\n\t"                                                                                                  \
    "add sp, sp, #52\n\t"                                                                                         \
    "pop {r4-r11, pc}\n"

static __attribute__((naked, noinline)) void tc_conv_c1_run_w1(const tc_conv_c1_run *r)
{
    (void)r;
    __asm__(TC_C1_ASM_ENTER TC_C1_ASM_WORD("ldr r5, [r10]\n\tadd r10, r10, lr\n\t") TC_C1_ASM_LEAVE);
}

static __attribute__((naked, noinline)) void tc_conv_c1_run_w2(const tc_conv_c1_run *r)
{
    (void)r;
    __asm__(TC_C1_ASM_ENTER TC_C1_ASM_WORD("ldr r5, [r10]\n\t")
                TC_C1_ASM_WORD("ldr r5, [r10, #4]\n\tadd r10, r10, lr\n\t") TC_C1_ASM_LEAVE);
}
#endif

tc_status tc_conv2d_c1_packed_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                                 const tc_rq *rq, const tc_dims *input_dims, const int8_t *input,
                                 const tc_dims *filter_dims, const int16_t *packed_filter,
                                 const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output)
{
    if (!tc_rq_or_quant_ok(rq, quant) ||
        !tc_conv_shapes_ok(params, input_dims, input, filter_dims, packed_filter, output_dims, output) ||
        !tc_conv2d_c1_packed_s8_applies(params, input_dims, filter_dims) || folded_bias == NULL ||
        ((uintptr_t)packed_filter & 3u) != 0) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w;
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t sh = params->stride_h, sw = params->stride_w, dil_h = params->dilation_h;
    const int32_t nw = (kw + 3) / 4;
    tc_conv_c1_ctx k;
    k.p = params;
    k.quant = quant;
    k.rq = rq;
    k.w = (const uint32_t *)(const void *)packed_filter;
    k.fb = folded_bias;
    k.kh = kh;
    k.in_w = in_w;
    k.nw = nw;
    k.out_c = output_dims->c;
    k.rstep = dil_h * in_w;
    k.zp4 = 0x01010101u * (uint8_t)(-params->input_offset);
    k.sw = sw;
    k.fast = rq != NULL && params->act.min == -128 && params->act.max == 127;
    /* columns whose windows start at column >= 0 and whose nw words end inside the input row */
    int32_t fx0 = (params->pad_left + sw - 1) / sw;
    int32_t fx1 = in_w - 4 * nw + params->pad_left < 0 ? 0 : (in_w - 4 * nw + params->pad_left) / sw + 1;
    fx1 = fx1 > out_w ? out_w : fx1;
    fx0 = fx0 > fx1 ? fx1 : fx0;
    const int32_t out_c = k.out_c;
#if TC_USE_DSP
    const int asm_run = k.fast && (out_c & 3) == 0 && nw <= 2;
#endif
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *img = input + (size_t)b * (size_t)(in_h * in_w);
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * sh - params->pad_top;
            int32_t ky0, ky1;
            tc_valid_taps(iy0, dil_h, kh, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * sw - params->pad_left;
                if (ox >= fx0 && ox < fx1 && ky0 == 0 && ky1 == kh) { /* this row's run of interior pixels */
#if TC_USE_DSP
                    if (asm_run) {
                        const tc_conv_c1_run run = {img + iy0 * in_w + ix0, fx1 - ox, sw, k.rstep, kh,
                                                    out_c >> 2, k.w, folded_bias, rq, output};
                        (nw == 1 ? tc_conv_c1_run_w1 : tc_conv_c1_run_w2)(&run);
                    } else
#endif
                    tc_conv_c1_interior(&k, img, iy0, ix0, fx1 - ox, output);
                    output += (fx1 - ox) * out_c;
                    ox = fx1 - 1;
                    continue;
                }
                /* rows wider than the stack row take the wide path whichever border it is (a row cut by
                 * the top / bottom padding is built in brow too) */
                if (nw > TC_C1_MAXW) {
                    tc_conv_c1_border_wide(&k, img, iy0, ix0, ky0, ky1, output);
                } else if (ox >= fx0 && ox < fx1) {
                    tc_conv_c1_border(&k, img, iy0, ix0, ky0, ky1, 1, output);
                } else {
                    tc_conv_c1_border(&k, img, iy0, ix0, ky0, ky1, 0, output);
                }
                output += out_c;
            }
        }
    }
    return TC_OK;
}
