/* int8 CONV_2D on compile-time packed weights: two output pixels x two output channels per inner loop.
 *
 * Layout (tinycompiler/codegen/weights_layout.py: conv_packed_weights, folded_bias; see tc_conv.h):
 * K = kh * kw * in_ch (HWI order) rounded up to K4, a multiple of 4, with zero weights past K. Rows go
 * in pairs (o, o + 1) sharing 16-bit lanes: lane k holds the int16 256 * w_o[k] + w_o+1[k], so its low
 * byte is w_o+1[k]. Per group of four k a pair has two words, the lanes (k0, k2) and (k1, k3) (the lane
 * order SXTB16 / SXTB16 ROR #8 give the input). Against input lanes X, SMLAD on the word adds
 * 256 * dot_o + dot_o+1 and SMLAD on its SXTB16 adds dot_o+1: both sums start at row o + 1's bias, and
 * (raw - low) >> 8 is dot_o. Five instructions per word and pixel pair where unpacking two rows' words
 * took six, with no more flash; dot_o comes out every TC_PAIR_SEG_K inputs, before 256 * dot_o
 * could leave int32. Codegen keeps this kernel to weights whose lanes fit int16
 * (weights_layout.pair_lanes_ok: no w_o = -128 beside a negative w_o+1). An odd last row follows
 * alone, plain int8 (K4 bytes).
 *
 * The receptive fields of two output pixels A and B are copied as int8 into scratch, interleaved by
 * groups of four: byte 8g + 4P + j holds element 4g + j of pixel P (raw input bytes, no offset: the input
 * offset is folded into the bias), with padded taps holding the input zero point, so the dot product plus
 * the folded bias is exactly TFLite's accumulator. Bytes K..K4 of a column meet zero weights and are
 * never initialised. The inner loop (hand-scheduled on DSP cores) loads both pixels' words with one
 * LDRD and the pair's two words with another: 2 loads, 6 SXTB16, 8 SMLAD per 16 MACs.
 *
 * Overlap contract (plan/overlap.py, CONV_2D): both windows of a pair are copied into scratch before
 * either output pixel is written, and the dot products read only scratch and the filter; pixel q's
 * window is thus read before q is written, and nothing of it afterwards. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

#define TC_ALWAYS_INLINE inline __attribute__((always_inline))


static int32_t tc_conv_packed_k4(const tc_dims *filter_dims)
{
    return (filter_dims->h * filter_dims->w * filter_dims->c + 3) & ~3;
}

int32_t tc_conv2d_packed_s8_scratch_bytes(const tc_dims *input_dims, const tc_dims *filter_dims)
{
    (void)input_dims;
    return 2 * tc_conv_packed_k4(filter_dims);
}

/* Requantized, clamped output of accumulator acc for channel o (act range in registers). */
static TC_ALWAYS_INLINE int32_t tc_conv_packed_rq(int32_t acc, int32_t m, int32_t add, int32_t rshift)
{
    const uint32_t lo = ((uint32_t)acc & 0x80000000u) | 0x40000000u;
    const uint32_t hi = (uint32_t)add + (uint32_t)(acc >> 31);
    uint64_t p = ((uint64_t)hi << 32) | lo;
    p += (uint64_t)((int64_t)acc * (int64_t)m);
    return (int32_t)(uint32_t)(p >> 32) >> rshift;
}

/* Clamp to [lo, hi]; with hi_is_127 (the common no-activation / ReLU range) SSAT does the upper bound. */
static TC_ALWAYS_INLINE int8_t tc_conv_packed_clamp(int32_t v, int32_t lo, int32_t hi, const int hi_is_127)
{
    if (hi_is_127) {
        v = tc_ssat8(v);
    } else {
        v = v > hi ? hi : v;
    }
    v = v < lo ? lo : v;
    return (int8_t)v;
}

/* Channel o of two pixels: accumulators a (pixel A) and b (pixel B). use_rq: 0 quant, 1 tc_rq rows,
 * 2 the lean arrays. */
static TC_ALWAYS_INLINE void tc_conv_packed_store2(int32_t a, int32_t b, int32_t o, const tc_rq_lean *rq,
                                                   const tc_per_channel_quant *quant, int32_t out_zp,
                                                   int32_t act_lo, int32_t act_hi, int8_t *oa, int8_t *ob,
                                                   const int use_rq, const int hi_is_127)
{
    int32_t va, vb;
    if (use_rq == 1) { /* tc_rq rows */
        const int32_t m = rq->rows[o].multiplier, d = rq->rows[o].add, s = rq->rows[o].rshift;
        va = tc_conv_packed_rq(a, m, d, s);
        vb = tc_conv_packed_rq(b, m, d, s);
    } else if (use_rq == 2) { /* lean: the add by shift */
        const int32_t m = rq->multiplier[o], s = rq->rshift[o], d = rq->add[s];
        va = tc_conv_packed_rq(a, m, d, s);
        vb = tc_conv_packed_rq(b, m, d, s);
    } else {
        const int32_t m = quant->multiplier[o], s = quant->shift[o];
        va = tc_requantize_fast(a, m, s) + out_zp;
        vb = tc_requantize_fast(b, m, s) + out_zp;
    }
    oa[o] = tc_conv_packed_clamp(va, act_lo, act_hi, hi_is_127);
    ob[o] = tc_conv_packed_clamp(vb, act_lo, act_hi, hi_is_127);
}

/* Pair word e against pixel lanes xa (A) and xb (B): raw sums a0 / b0, low sums a1 / b1. */
static TC_ALWAYS_INLINE void tc_conv_pair_word(uint32_t e, uint32_t xa, uint32_t xb, int32_t *a0, int32_t *a1,
                                               int32_t *b0, int32_t *b1)
{
    const uint32_t lo = tc_sxtb16(e);
    *a0 = tc_smlad(xa, e, *a0);
    *b0 = tc_smlad(xb, e, *b0);
    *a1 = tc_smlad(xa, lo, *a1);
    *b1 = tc_smlad(xb, lo, *b1);
}

/* One group of four k for the pair (o, o + 1) and pixels (A, B): the portable form of the DSP loop below. */
static TC_ALWAYS_INLINE void tc_conv_packed_mac(const int8_t *c, const int8_t *w, int32_t *a0, int32_t *a1,
                                                int32_t *b0, int32_t *b1)
{
    const uint32_t xa = tc_read_u32(c), xb = tc_read_u32(c + 4);
    tc_conv_pair_word(tc_read_u32(w), tc_sxtb16(xa), tc_sxtb16(xb), a0, a1, b0, b1);
    tc_conv_pair_word(tc_read_u32(w + 4), tc_sxtb16_ror8(xa), tc_sxtb16_ror8(xb), a0, a1, b0, b1);
}


/* One group of four k of tc_conv_wide_dot2x2 (asm text; the loop runs it twice per iteration). */
#define TC_CONV_WIDE_GROUP \
    "ldrd %[xa02], %[xa13], [%[c]], #8\n\t" \
    "ldrd %[e0], %[e1], [%[w]], #8\n\t" \
    "ldrd %[xb02], %[xb13], [%[c]], #8\n\t" \
    "smlad %[a0], %[xa02], %[e0], %[a0]\n\t" \
    "smlad %[b0], %[xb02], %[e0], %[b0]\n\t" \
    "sxtb16 %[e0], %[e0]\n\t" \
    "smlad %[a1], %[xa02], %[e0], %[a1]\n\t" \
    "smlad %[b1], %[xb02], %[e0], %[b1]\n\t" \
    "smlad %[a0], %[xa13], %[e1], %[a0]\n\t" \
    "smlad %[b0], %[xb13], %[e1], %[b0]\n\t" \
    "sxtb16 %[e1], %[e1]\n\t" \
    "smlad %[a1], %[xa13], %[e1], %[a1]\n\t" \
    "smlad %[b1], %[xb13], %[e1], %[b1]\n\t"

/* The pair (o, o + 1) dotted with the pixel pair of a wide column (int16, see tc_conv_packed_widen): per
 * group of four k the words (A0, A2), (A1, A3), (B0, B2), (B1, B3), so only the pair's low lanes are
 * widened in the loop: 3 LDRD, 2 SXTB16, 8 SMLAD per 16 MACs (2 loads, 6 SXTB16, 8 SMLAD for int8
 * columns). Sums as in tc_conv_pair_word. */
static TC_ALWAYS_INLINE const int8_t *tc_conv_wide_dot2x2(const int8_t *c, const int8_t *end, const int8_t *w,
                                                           int32_t *pa0, int32_t *pa1, int32_t *pb0, int32_t *pb1)
{
    int32_t a0 = *pa0, a1 = *pa1, b0 = *pb0, b1 = *pb1;
#if TC_USE_DSP
    const int32_t nbytes = (int32_t)(end - c); /* 16 per group */
    uint32_t xa02, xa13, xb02, xb13, e0, e1;
    /* two groups per iteration; an odd group count enters at the second half */
    __asm__ volatile(
        "tst %[nb], #16\n\t"
        "bne 2f\n"
        "1:\n\t"
        TC_CONV_WIDE_GROUP
        "2:\n\t"
        TC_CONV_WIDE_GROUP
        "cmp %[c], %[end]\n\t"
        "bne 1b\n"
        : [c] "+r"(c), [w] "+r"(w), [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1),
          [xa02] "=&r"(xa02), [xa13] "=&r"(xa13), [xb02] "=&r"(xb02), [xb13] "=&r"(xb13), [e0] "=&r"(e0),
          [e1] "=&r"(e1)
        : [end] "r"(end), [nb] "r"(nbytes)
        : "cc", "memory");
#else
    for (; c < end; c += 16, w += 8) {
        tc_conv_pair_word(tc_read_u32(w), tc_read_u32(c), tc_read_u32(c + 8), &a0, &a1, &b0, &b1);
        tc_conv_pair_word(tc_read_u32(w + 4), tc_read_u32(c + 4), tc_read_u32(c + 12), &a0, &a1, &b0, &b1);
    }
#endif
    *pa0 = a0;
    *pa1 = a1;
    *pb0 = b0;
    *pb1 = b1;
    return w;
}

/* The int8 pair column (8 bytes per group: A's four, then B's) widened in place to int16 (16 bytes per
 * group: SXTB16 and SXTB16 ROR #8 of A's word, then of B's), last group first: group g's 16 bytes only
 * cover int8 groups >= g, which are already done. 4 * k4 bytes of scratch. */
#if TC_CONV_WIDE
static void tc_conv_packed_widen(int8_t *col, int32_t k4)
{
    for (int32_t g = k4 / 4 - 1; g >= 0; --g) {
        const uint32_t xa = tc_read_u32(col + 8 * g), xb = tc_read_u32(col + 8 * g + 4);
        uint32_t *d = (uint32_t *)(void *)(col + 16 * g);
        d[0] = tc_sxtb16(xa);
        d[1] = tc_sxtb16_ror8(xa);
        d[2] = tc_sxtb16(xb);
        d[3] = tc_sxtb16_ror8(xb);
    }
}
#endif

/* One group of four k of tc_conv_int8_dot2x2 (asm text; the loop runs it twice per iteration). */
#define TC_CONV_INT8_GROUP \
    "ldrd %[xa], %[xb], [%[c]], #8\n\t" \
    "ldrd %[e0], %[e1], [%[w]], #8\n\t" \
    "sxtb16 %[a02], %[xa]\n\t" \
    "sxtb16 %[xa], %[xa], ror #8\n\t" \
    "sxtb16 %[b02], %[xb]\n\t" \
    "sxtb16 %[xb], %[xb], ror #8\n\t" \
    "smlad %[a0], %[a02], %[e0], %[a0]\n\t" \
    "smlad %[b0], %[b02], %[e0], %[b0]\n\t" \
    "sxtb16 %[e0], %[e0]\n\t" \
    "smlad %[a1], %[a02], %[e0], %[a1]\n\t" \
    "smlad %[b1], %[b02], %[e0], %[b1]\n\t" \
    "smlad %[a0], %[xa], %[e1], %[a0]\n\t" \
    "smlad %[b0], %[xb], %[e1], %[b0]\n\t" \
    "sxtb16 %[e1], %[e1]\n\t" \
    "smlad %[a1], %[xa], %[e1], %[a1]\n\t" \
    "smlad %[b1], %[xb], %[e1], %[b1]\n\t"

/* The pair (o, o + 1) dotted with the int8 pixel pair column from c to end: 2 loads, 6 SXTB16, 8 SMLAD
 * per 16 MACs. Sums as in tc_conv_pair_word; returns w past the groups read. */
static TC_ALWAYS_INLINE const int8_t *tc_conv_int8_dot2x2(const int8_t *c, const int8_t *end, const int8_t *w,
                                                          int32_t *pa0, int32_t *pa1, int32_t *pb0, int32_t *pb1)
{
    int32_t a0 = *pa0, a1 = *pa1, b0 = *pb0, b1 = *pb1;
#if TC_USE_DSP
    const int32_t nbytes = (int32_t)(end - c); /* 8 per group */
    uint32_t xa, xb, a02, b02, e0, e1;
    /* two groups per iteration; an odd group count enters at the second half */
    __asm__ volatile(
        "tst %[nb], #8\n\t"
        "bne 2f\n"
        "1:\n\t"
        TC_CONV_INT8_GROUP
        "2:\n\t"
        TC_CONV_INT8_GROUP
        "cmp %[c], %[end]\n\t"
        "bne 1b\n"
        : [c] "+r"(c), [w] "+r"(w), [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1),
          [xa] "=&r"(xa), [xb] "=&r"(xb), [a02] "=&r"(a02), [b02] "=&r"(b02), [e0] "=&r"(e0),
          [e1] "=&r"(e1)
        : [end] "r"(end), [nb] "r"(nbytes)
        : "cc", "memory");
#else
    for (; c < end; c += 8) {
        tc_conv_packed_mac(c, w, &a0, &a1, &b0, &b1);
        w += 8;
    }
#endif
    *pa0 = a0;
    *pa1 = a1;
    *pb0 = b0;
    *pb1 = b1;
    return w;
}

/* A pair's sums over a column longer than TC_PAIR_SEG_K inputs, segment by segment (row o's dot
 * taken out after each). sums: row o's and row o + 1's accumulators of pixel A, then of B (in: the
 * biases). Out of line: one copy serves every variant, and the short-row loop keeps its registers. */
static __attribute__((noinline)) const int8_t *tc_conv_pair_dot_long(const int8_t *c, const int8_t *col_end,
                                                                     const int8_t *w, const int wide,
                                                                     int32_t sums[4])
{
    const int32_t seg_bytes = (wide ? 4 : 2) * TC_PAIR_SEG_K;
    int32_t ha = sums[0], a1 = sums[1], hb = sums[2], b1 = sums[3];
    while (c < col_end) {
        const int8_t *stop = col_end - c > seg_bytes ? c + seg_bytes : col_end;
        int32_t a0 = a1, b0 = b1;
#if TC_CONV_WIDE
        if (wide) {
            w = tc_conv_wide_dot2x2(c, stop, w, &a0, &a1, &b0, &b1);
        } else
#endif
        {
            w = tc_conv_int8_dot2x2(c, stop, w, &a0, &a1, &b0, &b1);
        }
        ha = tc_wrap_add(ha, tc_pair_hi_dot(a0, a1));
        hb = tc_wrap_add(hb, tc_pair_hi_dot(b0, b1));
        c = stop;
    }
    sums[0] = ha;
    sums[1] = a1;
    sums[2] = hb;
    sums[3] = b1;
    return w;
}

/* All output channels of the pixel pair in `col` (layout above, k4 / 4 groups) into oa and ob (ob may
 * equal oa). Kept out of line (see the callers): alone, its loop gets every register. */
static TC_ALWAYS_INLINE void tc_conv_packed_pair_body(const int8_t *col, int32_t k4, const int8_t *w,
                                                      const int32_t *fb, int32_t out_c, const tc_rq_lean *rq,
                                                      const tc_per_channel_quant *quant, const tc_conv_params *p,
                                                      int8_t *oa, int8_t *ob, const int use_rq, const int hi_is_127,
                                                      const int wide)
{
    const int8_t *const col_end = col + (wide ? 4 : 2) * k4;
    const int long_k = k4 > TC_PAIR_SEG_K;
    const int32_t out_zp = p->output_offset, act_lo = p->act.min, act_hi = p->act.max;
    /* a local copy: the output byte stores may alias *rq, the copy's pointers stay in registers */
    const tc_rq_lean r = use_rq ? *rq : (tc_rq_lean){NULL, NULL, NULL, NULL};
    rq = &r;
    int32_t o = 0;
    for (; o + 2 <= out_c; o += 2) {
        int32_t ha, hb, a1, b1;
        if (long_k) {
            int32_t sums[4] = {fb[o], fb[o + 1], fb[o], fb[o + 1]};
            w = tc_conv_pair_dot_long(col, col_end, w, wide, sums);
            ha = sums[0];
            a1 = sums[1];
            hb = sums[2];
            b1 = sums[3];
        } else {
            /* raw (a0, b0) and low (a1, b1) sums all start at row o + 1's bias */
            a1 = fb[o + 1];
            int32_t a0 = a1, b0 = a1;
            b1 = a1;
            w = wide ? tc_conv_wide_dot2x2(col, col_end, w, &a0, &a1, &b0, &b1)
                     : tc_conv_int8_dot2x2(col, col_end, w, &a0, &a1, &b0, &b1);
            ha = tc_wrap_add(fb[o], tc_pair_hi_dot(a0, a1));
            hb = tc_wrap_add(fb[o], tc_pair_hi_dot(b0, b1));
        }
        tc_conv_packed_store2(ha, hb, o, rq, quant, out_zp, act_lo, act_hi, oa, ob, use_rq, hi_is_127);
        tc_conv_packed_store2(a1, b1, o + 1, rq, quant, out_zp, act_lo, act_hi, oa, ob, use_rq, hi_is_127);
    }
    if (o < out_c && wide) {
        int32_t a0 = fb[o], b0 = a0;
        for (const int8_t *c = col; c < col_end; c += 16) {
            const uint32_t wr = tc_read_u32(w);
            w += 4;
            const uint32_t w02 = tc_sxtb16(wr), w13 = tc_sxtb16_ror8(wr);
            a0 = tc_smlad(tc_read_u32(c + 4), w13, tc_smlad(tc_read_u32(c), w02, a0));
            b0 = tc_smlad(tc_read_u32(c + 12), w13, tc_smlad(tc_read_u32(c + 8), w02, b0));
        }
        tc_conv_packed_store2(a0, b0, o, rq, quant, out_zp, act_lo, act_hi, oa, ob, use_rq, hi_is_127);
    } else if (o < out_c) {
        int32_t a0 = fb[o], b0 = a0;
        for (const int8_t *c = col; c < col_end; c += 8) {
            const uint32_t xa = tc_read_u32(c), xb = tc_read_u32(c + 4);
            const uint32_t wr = tc_read_u32(w);
            w += 4;
            const uint32_t w02 = tc_sxtb16(wr), w13 = tc_sxtb16_ror8(wr);
            a0 = tc_smlad(tc_sxtb16(xa), w02, a0);
            a0 = tc_smlad(tc_sxtb16_ror8(xa), w13, a0);
            b0 = tc_smlad(tc_sxtb16(xb), w02, b0);
            b0 = tc_smlad(tc_sxtb16_ror8(xb), w13, b0);
        }
        tc_conv_packed_store2(a0, b0, o, rq, quant, out_zp, act_lo, act_hi, oa, ob, use_rq, hi_is_127);
    }
}

/* Only the variants tc_config.h keeps (a bundle drops those its layers never reach); the entry point
 * refuses a call whose variant is compiled out. One pair of functions per column kind (wide = 0: int8
 * columns, 1: int16): with tc_rq (SSAT or generic clamp), and with the per-channel quant. */
#define TC_CONV_PAIR_FNS(rq_fn, q_fn, wide)                                                              \
    static __attribute__((noinline)) void rq_fn(const int8_t *col, int32_t k4, const int8_t *w,          \
                                                const int32_t *fb, int32_t out_c, const tc_rq_lean *rq,  \
                                                const tc_conv_params *p, int8_t *oa, int8_t *ob)         \
    {                                                                                                    \
        const int ssat = TC_CONV_RQ_SSAT && p->act.max == 127;                                           \
        if (TC_CONV_ROWS && rq->rows != NULL) {                                                          \
            if (ssat) {                                                                                  \
                tc_conv_packed_pair_body(col, k4, w, fb, out_c, rq, NULL, p, oa, ob, 1, 1, wide);        \
            } else if (TC_CONV_RQ_CLAMP) {                                                               \
                tc_conv_packed_pair_body(col, k4, w, fb, out_c, rq, NULL, p, oa, ob, 1, 0, wide);        \
            }                                                                                            \
        } else if (TC_CONV_LEAN && rq->rows == NULL) {                                                   \
            if (ssat) {                                                                                  \
                tc_conv_packed_pair_body(col, k4, w, fb, out_c, rq, NULL, p, oa, ob, 2, 1, wide);        \
            } else if (TC_CONV_RQ_CLAMP) {                                                               \
                tc_conv_packed_pair_body(col, k4, w, fb, out_c, rq, NULL, p, oa, ob, 2, 0, wide);        \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                    \
    static __attribute__((noinline)) void q_fn(const int8_t *col, int32_t k4, const int8_t *w,           \
                                               const int32_t *fb, int32_t out_c,                         \
                                               const tc_per_channel_quant *quant, const tc_conv_params *p, \
                                               int8_t *oa, int8_t *ob)                                   \
    {                                                                                                    \
        if (TC_CONV_QUANT) {                                                                             \
            tc_conv_packed_pair_body(col, k4, w, fb, out_c, NULL, quant, p, oa, ob, 0, 0, wide);         \
        }                                                                                                \
    }
TC_CONV_PAIR_FNS(tc_conv_packed_pair_rq, tc_conv_packed_pair_q, 0)
#if TC_CONV_WIDE
TC_CONV_PAIR_FNS(tc_conv_wide_pair_rq, tc_conv_wide_pair_q, 1)
#endif

/* The pair in `col` (int8 columns, or widened first when `wide`) through the variant for the call. */
static TC_ALWAYS_INLINE void tc_conv_packed_pair(int8_t *col, int32_t k4, const int8_t *w, const int32_t *fb,
                                            int32_t out_c, const tc_rq_lean *rq, const tc_per_channel_quant *quant,
                                            const tc_conv_params *p, int8_t *oa, int8_t *ob, const int use_rq,
                                            const int wide)
{
#if TC_CONV_WIDE
    if (wide) {
        tc_conv_packed_widen(col, k4);
        if (use_rq) {
            tc_conv_wide_pair_rq(col, k4, w, fb, out_c, rq, p, oa, ob);
        } else {
            tc_conv_wide_pair_q(col, k4, w, fb, out_c, quant, p, oa, ob);
        }
        return;
    }
#else
    (void)wide;
#endif
    if (use_rq) {
        tc_conv_packed_pair_rq(col, k4, w, fb, out_c, rq, p, oa, ob);
    } else {
        tc_conv_packed_pair_q(col, k4, w, fb, out_c, quant, p, oa, ob);
    }
}

/* n bytes from src into elements e.. of the column slot (slot = col + 4 * P; layout above). */
static TC_ALWAYS_INLINE void tc_conv_packed_put(int8_t *slot, int32_t e, const int8_t *src, int32_t n)
{
    if (((e | n) & 3) == 0) {
        int8_t *d = slot + 2 * e;
        for (int32_t i = 0; i < n; i += 4) {
            tc_write_u32(d, tc_read_u32(src + i));
            d += 8;
        }
        return;
    }
    for (int32_t i = 0; i < n; ++i, ++e) {
        slot[2 * (e & ~3) + (e & 3)] = src[i];
    }
}

/* Receptive field of output pixel (oy, ox) into column slot `slot` (k4 elements). */
static void tc_conv_packed_gather(const tc_conv_params *params, const tc_dims *input_dims, const int8_t *in_b,
                                  const tc_dims *filter_dims, int32_t oy, int32_t ox, int8_t *slot, int32_t k4)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t dil_h = params->dilation_h, dil_w = params->dilation_w;
    const int32_t iy0 = oy * params->stride_h - params->pad_top;
    const int32_t ix0 = ox * params->stride_w - params->pad_left;
    int32_t ky0, ky1, kx0, kx1;
    tc_valid_taps(iy0, dil_h, k_h, in_h, &ky0, &ky1);
    tc_valid_taps(ix0, dil_w, k_w, in_w, &kx0, &kx1);
    if (ky0 > 0 || ky1 < k_h || kx0 > 0 || kx1 < k_w) {
        const uint32_t zp4 = 0x01010101u * (uint8_t)(-params->input_offset); /* the zero point */
        for (int32_t i = 0; i < k4; i += 4) {
            tc_write_u32(slot + 2 * i, zp4);
        }
    }
    if (kx0 >= kx1) {
        return;
    }
    for (int32_t ky = ky0; ky < ky1; ++ky) {
        const int8_t *src = in_b + ((iy0 + ky * dil_h) * in_w + ix0 + kx0 * dil_w) * in_c;
        int32_t e = (ky * k_w + kx0) * in_c;
        if (dil_w == 1) { /* the valid taps of a row are contiguous */
            tc_conv_packed_put(slot, e, src, (kx1 - kx0) * in_c);
            continue;
        }
        for (int32_t kx = kx0; kx < kx1; ++kx) {
            tc_conv_packed_put(slot, e, src, in_c);
            src += dil_w * in_c;
            e += in_c;
        }
    }
}

static void tc_conv_packed_run(const tc_conv_params *params, const tc_per_channel_quant *quant,
                                           const tc_rq_lean *rq, const tc_dims *input_dims, const int8_t *input,
                                           const tc_dims *filter_dims, const int8_t *filter,
                                           const int32_t *fb, const tc_dims *output_dims, int8_t *output,
                                           int8_t *col, const int use_rq, const int wide)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t k4 = tc_conv_packed_k4(filter_dims);
    const int32_t pixels = out_h * out_w;
    /* 1x1, stride 1, no padding, output no larger than the input: pixel q reads input pixel q alone */
    const int pointwise = filter_dims->h == 1 && filter_dims->w == 1 && params->pad_top == 0 &&
                          params->pad_left == 0 && params->stride_h == 1 && params->stride_w == 1 &&
                          out_h <= in_h && out_w == in_w;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)(in_h * in_w * in_c);
        if (pointwise) {
            const int8_t *src = in_b;
            int32_t q = 0;
            for (; q + 2 <= pixels; q += 2) {
                tc_conv_packed_put(col, 0, src, in_c);
                tc_conv_packed_put(col + 4, 0, src + in_c, in_c);
                src += 2 * in_c;
                tc_conv_packed_pair(col, k4, filter, fb, out_c, rq, quant, params, output, output + out_c, use_rq, wide);
                output += 2 * out_c;
            }
            if (q < pixels) {
                tc_conv_packed_put(col, 0, src, in_c);
                tc_conv_packed_put(col + 4, 0, src, in_c);
                tc_conv_packed_pair(col, k4, filter, fb, out_c, rq, quant, params, output, output, use_rq, wide);
                output += out_c;
            }
            continue;
        }
        int32_t oy = 0, ox = 0;
        int32_t q = 0;
        for (; q + 2 <= pixels; q += 2) {
            tc_conv_packed_gather(params, input_dims, in_b, filter_dims, oy, ox, col, k4);
            if (++ox == out_w) {
                ox = 0;
                ++oy;
            }
            tc_conv_packed_gather(params, input_dims, in_b, filter_dims, oy, ox, col + 4, k4);
            if (++ox == out_w) {
                ox = 0;
                ++oy;
            }
            tc_conv_packed_pair(col, k4, filter, fb, out_c, rq, quant, params, output, output + out_c, use_rq, wide);
            output += 2 * out_c;
        }
        if (q < pixels) {
            tc_conv_packed_gather(params, input_dims, in_b, filter_dims, oy, ox, col, k4);
            tc_conv_packed_gather(params, input_dims, in_b, filter_dims, oy, ox, col + 4, k4);
            tc_conv_packed_pair(col, k4, filter, fb, out_c, rq, quant, params, output, output, use_rq, wide);
            output += out_c;
        }
    }
}

/* The checks and the run shared by both entry points. */
static tc_status tc_conv_packed_entry(const tc_conv_params *params, const tc_per_channel_quant *quant,
                                      const tc_rq_lean *rq, const tc_dims *input_dims, const int8_t *input,
                                      const tc_dims *filter_dims, const int8_t *packed_filter,
                                      const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output,
                                      int8_t *scratch, const int wide)
{
    if (!(rq != NULL ? tc_rq_lean_ok(rq) : tc_quant_ok(quant)) ||
        !tc_conv_shapes_ok(params, input_dims, input, filter_dims, packed_filter, output_dims, output) ||
        scratch == NULL || ((uintptr_t)scratch & 3u) != 0 || ((uintptr_t)packed_filter & 3u) != 0 ||
        folded_bias == NULL) {
        return TC_ERROR_ARGUMENT;
    }
    /* a variant this build left out (tc_config.h) */
    if ((rq == NULL && !TC_CONV_QUANT) || (rq != NULL && params->act.max == 127 && !TC_CONV_RQ_SSAT &&
                                           !TC_CONV_RQ_CLAMP) ||
        (rq != NULL && params->act.max != 127 && !TC_CONV_RQ_CLAMP) || (wide && !TC_CONV_WIDE) ||
        (rq != NULL && rq->rows != NULL && !TC_CONV_ROWS) || (rq != NULL && rq->rows == NULL && !TC_CONV_LEAN)) {
        return TC_ERROR_ARGUMENT;
    }
    tc_conv_packed_run(params, quant, rq, input_dims, input, filter_dims, packed_filter, folded_bias, output_dims,
                       output, scratch, rq != NULL, wide);
    return TC_OK;
}

tc_status tc_conv2d_packed_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                              const tc_rq_lean *rq, const tc_dims *input_dims, const int8_t *input,
                              const tc_dims *filter_dims, const int8_t *packed_filter,
                              const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output,
                              int8_t *scratch)
{
    return tc_conv_packed_entry(params, quant, rq, input_dims, input, filter_dims, packed_filter, folded_bias,
                                output_dims, output, scratch, 0);
}

int32_t tc_conv2d_packed_wide_s8_scratch_bytes(const tc_dims *input_dims, const tc_dims *filter_dims)
{
    (void)input_dims;
    return 4 * tc_conv_packed_k4(filter_dims);
}

tc_status tc_conv2d_packed_wide_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                                   const tc_rq_lean *rq, const tc_dims *input_dims, const int8_t *input,
                                   const tc_dims *filter_dims, const int8_t *packed_filter,
                                   const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output,
                                   int8_t *scratch)
{
    return tc_conv_packed_entry(params, quant, rq, input_dims, input, filter_dims, packed_filter, folded_bias,
                                output_dims, output, scratch, 1);
}
