/* int8 FULLY_CONNECTED on compile-time packed weights: four output rows per pass, no scratch.
 *
 * Rows go in pairs (hi, lo) sharing one 16-bit lane per input k: the int16 256 * w_hi[k] + w_lo[k], so
 * the lane's low byte is w_lo[k]. Against the input lanes X = (x_i, x_j) (SXTB16 of the input word),
 * SMLAD on the raw word E adds 256 * dot_hi + dot_lo and SMLAD on SXTB16(E) adds dot_lo: three
 * instructions per four MACs instead of four (two SXTB16, two SMLAD), with the weights one byte each.
 * The raw sum starts equal to the low one, so (raw - low) >> 8 is dot_hi as long as
 * |256 * dot_hi| < 2^31: it comes out every 504 inputs (|x|, |w| <= 128). Codegen keeps this kernel to
 * weights whose lanes fit int16 (weights_layout.pair_lanes_ok: no w_hi = -128 beside a negative w_lo;
 * TFLite's symmetric weights always fit), else it runs tc_fully_connected_s8.
 *
 * Layout (tinycompiler/codegen/weights_layout.py: fc_packed_weights, folded_bias), K = in_depth,
 * K4 = K rounded down to a multiple of 4. Per group of four inputs 4g.. a pair has two words, the lanes
 * (4g, 4g + 2) and (4g + 1, 4g + 3). Rows go in blocks of four = pairs A (rows 0, 1) and B (2, 3): per
 * group of eight inputs, A's four words then B's; then, when K4 / 4 is odd, the last group's two words
 * of A then of B; then the K - K4 tail bytes of the four rows, plain int8, row by row. The out_depth % 4
 * last rows: a pair (two words per group of four, then its two rows' tails) when two or three are
 * left, and a last single row plain (K bytes). The input offset is folded into the bias. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

#define TC_ALWAYS_INLINE inline __attribute__((always_inline))

/* Groups of eight inputs per chunk (TC_PAIR_SEG_K, tc_conv_internal.h). */
#define TC_FC_CHUNK_GROUPS (TC_PAIR_SEG_K / 8)


static TC_ALWAYS_INLINE int8_t tc_fc_out(int32_t acc, int32_t q, const tc_rq *rq, const tc_per_channel_quant *quant,
                                         int32_t out_zp, int32_t lo, int32_t hi, const int use_rq)
{
    int32_t v;
    if (use_rq) {
        v = tc_rq_output(acc, &rq[q]);
    } else {
        v = tc_requantize_fast(acc, quant->multiplier[q], quant->shift[q]) + out_zp;
    }
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* One pair word e against the input lanes xv. */
static TC_ALWAYS_INLINE void tc_fc_mac(uint32_t xv, uint32_t e, int32_t *raw, int32_t *low)
{
    *raw = tc_smlad(xv, e, *raw);
    *low = tc_smlad(xv, tc_sxtb16(e), *low);
}

/* One pair over n groups of four inputs (x advances 4n bytes, w 8n): adds dot_hi to *hi, dot_lo to
 * *low. n * 4 <= 504. */
static TC_ALWAYS_INLINE void tc_fc_pair_groups(const int8_t **x, const int8_t **w, int32_t n, int32_t *hi,
                                               int32_t *low)
{
    int32_t raw = *low, lo = *low;
    const int8_t *xp = *x, *wp = *w;
    for (; n > 0; --n) {
        const uint32_t xw = tc_read_u32(xp);
        tc_fc_mac(tc_sxtb16(xw), tc_read_u32(wp), &raw, &lo);
        tc_fc_mac(tc_sxtb16_ror8(xw), tc_read_u32(wp + 4), &raw, &lo);
        xp += 4;
        wp += 8;
    }
    *hi = tc_wrap_add(*hi, tc_pair_hi_dot(raw, lo));
    *low = lo;
    *x = xp;
    *w = wp;
}

/* Two pairs (A, B) over n groups of eight inputs, n <= TC_FC_CHUNK_GROUPS. */
static TC_ALWAYS_INLINE void tc_fc_block_groups(const int8_t **x, const int8_t **w, int32_t n, int32_t *ha,
                                                int32_t *la, int32_t *hb, int32_t *lb)
{
    int32_t ra = *la, rb = *lb, a = *la, b = *lb;
    const int8_t *xp = *x, *wp = *w;
#if TC_USE_DSP
    /* LDRD needs a word-aligned address (codegen aligns every constant array to 16 bytes) */
    if (((uintptr_t)wp & 3u) == 0) {
        const int8_t *const x_end = xp + 8 * n;
        uint32_t xa, xb, x02, x46, e0, e1;
        /* one group of eight per step, two steps per iteration; an odd count enters at the second step.
         * xa / xb become the (1, 3) / (5, 7) lanes; each word's raw SMLAD comes before its SXTB16 in place. */
#define TC_FC_STEP                                   \
        "ldr %[xa], [%[x]], #4\n\t"                      \
        "ldrd %[e0], %[e1], [%[w]], #8\n\t"              \
        "ldr %[xb], [%[x]], #4\n\t"                      \
        "sxtb16 %[x02], %[xa]\n\t"                       \
        "sxtb16 %[xa], %[xa], ror #8\n\t"                \
        "smlad %[ra], %[x02], %[e0], %[ra]\n\t"          \
        "sxtb16 %[e0], %[e0]\n\t"                        \
        "smlad %[a], %[x02], %[e0], %[a]\n\t"            \
        "smlad %[ra], %[xa], %[e1], %[ra]\n\t"           \
        "sxtb16 %[e1], %[e1]\n\t"                        \
        "smlad %[a], %[xa], %[e1], %[a]\n\t"             \
        "ldrd %[e0], %[e1], [%[w]], #8\n\t"              \
        "sxtb16 %[x46], %[xb]\n\t"                       \
        "sxtb16 %[xb], %[xb], ror #8\n\t"                \
        "smlad %[ra], %[x46], %[e0], %[ra]\n\t"          \
        "sxtb16 %[e0], %[e0]\n\t"                        \
        "smlad %[a], %[x46], %[e0], %[a]\n\t"            \
        "smlad %[ra], %[xb], %[e1], %[ra]\n\t"           \
        "sxtb16 %[e1], %[e1]\n\t"                        \
        "smlad %[a], %[xb], %[e1], %[a]\n\t"             \
        "ldrd %[e0], %[e1], [%[w]], #8\n\t"              \
        "smlad %[rb], %[x02], %[e0], %[rb]\n\t"          \
        "sxtb16 %[e0], %[e0]\n\t"                        \
        "smlad %[b], %[x02], %[e0], %[b]\n\t"            \
        "smlad %[rb], %[xa], %[e1], %[rb]\n\t"           \
        "sxtb16 %[e1], %[e1]\n\t"                        \
        "smlad %[b], %[xa], %[e1], %[b]\n\t"             \
        "ldrd %[e0], %[e1], [%[w]], #8\n\t"              \
        "smlad %[rb], %[x46], %[e0], %[rb]\n\t"          \
        "sxtb16 %[e0], %[e0]\n\t"                        \
        "smlad %[b], %[x46], %[e0], %[b]\n\t"            \
        "smlad %[rb], %[xb], %[e1], %[rb]\n\t"           \
        "sxtb16 %[e1], %[e1]\n\t"                        \
        "smlad %[b], %[xb], %[e1], %[b]\n\t"
        __asm__ volatile(
            "tst %[n], #1\n\t"
            "bne 2f\n"
            "1:\n\t" TC_FC_STEP
            "2:\n\t" TC_FC_STEP
            "cmp %[x], %[x_end]\n\t"
            "bne 1b\n"
            : [x] "+r"(xp), [w] "+r"(wp), [ra] "+r"(ra), [a] "+r"(a), [rb] "+r"(rb), [b] "+r"(b),
              [xa] "=&r"(xa), [xb] "=&r"(xb), [x02] "=&r"(x02), [x46] "=&r"(x46), [e0] "=&r"(e0), [e1] "=&r"(e1)
            : [x_end] "r"(x_end), [n] "r"(n)
            : "cc", "memory");
#undef TC_FC_STEP
        n = 0;
    }
#endif
    for (; n > 0; --n) {
        const uint32_t x0 = tc_read_u32(xp), x1 = tc_read_u32(xp + 4);
        const uint32_t x02 = tc_sxtb16(x0), x13 = tc_sxtb16_ror8(x0);
        const uint32_t x46 = tc_sxtb16(x1), x57 = tc_sxtb16_ror8(x1);
        tc_fc_mac(x02, tc_read_u32(wp), &ra, &a);
        tc_fc_mac(x13, tc_read_u32(wp + 4), &ra, &a);
        tc_fc_mac(x46, tc_read_u32(wp + 8), &ra, &a);
        tc_fc_mac(x57, tc_read_u32(wp + 12), &ra, &a);
        tc_fc_mac(x02, tc_read_u32(wp + 16), &rb, &b);
        tc_fc_mac(x13, tc_read_u32(wp + 20), &rb, &b);
        tc_fc_mac(x46, tc_read_u32(wp + 24), &rb, &b);
        tc_fc_mac(x57, tc_read_u32(wp + 28), &rb, &b);
        xp += 8;
        wp += 32;
    }
    *ha = tc_wrap_add(*ha, tc_pair_hi_dot(ra, a));
    *hb = tc_wrap_add(*hb, tc_pair_hi_dot(rb, b));
    *la = a;
    *lb = b;
    *x = xp;
    *w = wp;
}

/* The out_depth % 4 (n = 1..3) last rows: a pair when n >= 2, then a single plain row. acc: their biases
 * in, sums out. Out of line: the four-row loop's caller keeps no registers for it. */
static __attribute__((noinline)) void tc_fc_leftover_rows(const int8_t *x, const int8_t *w, int32_t in_depth,
                                                          int32_t n, int32_t acc[3])
{
    const int32_t tail = in_depth & 3;
    int32_t r = 0;
    if (n >= 2) {
        const int8_t *xp = x;
        int32_t ha = acc[0], la = acc[1];
        for (int32_t left = in_depth >> 2; left > 0; left -= 2 * TC_FC_CHUNK_GROUPS) {
            tc_fc_pair_groups(&xp, &w, left < 2 * TC_FC_CHUNK_GROUPS ? left : 2 * TC_FC_CHUNK_GROUPS, &ha, &la);
        }
        for (int32_t i = 0; i < tail; ++i) {
            ha = tc_wrap_add(ha, xp[i] * w[i]);
            la = tc_wrap_add(la, xp[i] * w[tail + i]);
        }
        w += 2 * tail;
        acc[0] = ha;
        acc[1] = la;
        r = 2;
    }
    if (r < n) {
        int32_t a0 = acc[r];
        const int8_t *xp = x;
        for (int32_t g = in_depth >> 2; g > 0; --g) {
            const uint32_t xw = tc_read_u32(xp);
            const uint32_t wr = tc_read_u32(w);
            xp += 4;
            w += 4;
            a0 = tc_smlad(tc_sxtb16(xw), tc_sxtb16(wr), a0);
            a0 = tc_smlad(tc_sxtb16_ror8(xw), tc_sxtb16_ror8(wr), a0);
        }
        for (int32_t i = 0; i < tail; ++i) {
            a0 = tc_wrap_add(a0, xp[i] * w[i]);
        }
        acc[r] = a0;
    }
}

static TC_ALWAYS_INLINE void tc_fc_run(const tc_fc_params *params, const tc_per_channel_quant *quant,
                                       const tc_rq *rq, int32_t batches, int32_t in_depth, int32_t out_depth,
                                       const int8_t *input, const int8_t *weights, const int32_t *fb,
                                       int8_t *output, const int use_rq)
{
    const int32_t groups8 = in_depth >> 3;
    const int32_t odd4 = (in_depth >> 2) & 1;
    const int32_t tail = in_depth & 3;
    const int32_t pc = params->per_channel ? 1 : 0;
    const int32_t out_zp = params->output_offset, act_lo = params->act.min, act_hi = params->act.max;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)in_depth;
        const int8_t *w = weights;
        int32_t o = 0;
        for (; o + 4 <= out_depth; o += 4) {
            int32_t ha = fb[o], la = fb[o + 1], hb = fb[o + 2], lb = fb[o + 3];
            const int8_t *xp = x;
            for (int32_t left = groups8; left > 0; left -= TC_FC_CHUNK_GROUPS) {
                const int32_t n = left < TC_FC_CHUNK_GROUPS ? left : TC_FC_CHUNK_GROUPS;
                tc_fc_block_groups(&xp, &w, n, &ha, &la, &hb, &lb);
            }
            if (odd4) {
                const int8_t *xb = xp;
                tc_fc_pair_groups(&xp, &w, 1, &ha, &la);
                tc_fc_pair_groups(&xb, &w, 1, &hb, &lb);
            }
            for (int32_t i = 0; i < tail; ++i) {
                const int32_t xv = xp[i];
                ha = tc_wrap_add(ha, xv * w[i]);
                la = tc_wrap_add(la, xv * w[tail + i]);
                hb = tc_wrap_add(hb, xv * w[2 * tail + i]);
                lb = tc_wrap_add(lb, xv * w[3 * tail + i]);
            }
            w += 4 * tail;
            output[o] = tc_fc_out(ha, o * pc, rq, quant, out_zp, act_lo, act_hi, use_rq);
            output[o + 1] = tc_fc_out(la, (o + 1) * pc, rq, quant, out_zp, act_lo, act_hi, use_rq);
            output[o + 2] = tc_fc_out(hb, (o + 2) * pc, rq, quant, out_zp, act_lo, act_hi, use_rq);
            output[o + 3] = tc_fc_out(lb, (o + 3) * pc, rq, quant, out_zp, act_lo, act_hi, use_rq);
        }
        if (o < out_depth) {
            int32_t acc[3] = {fb[o], o + 1 < out_depth ? fb[o + 1] : 0, o + 2 < out_depth ? fb[o + 2] : 0};
            tc_fc_leftover_rows(x, w, in_depth, out_depth - o, acc);
            for (int32_t r = 0; o + r < out_depth; ++r) {
                output[o + r] = tc_fc_out(acc[r], (o + r) * pc, rq, quant, out_zp, act_lo, act_hi, use_rq);
            }
        }
        output += out_depth;
    }
}

tc_status tc_fully_connected_packed_s8(const tc_fc_params *params, const tc_per_channel_quant *quant,
                                       const tc_rq *rq, int32_t batches, int32_t in_depth, int32_t out_depth,
                                       const int8_t *input, const int8_t *packed_weights,
                                       const int32_t *folded_bias, int8_t *output)
{
    if (params == NULL || !tc_rq_or_quant_ok(rq, quant) || input == NULL ||
        packed_weights == NULL || folded_bias == NULL || output == NULL || batches <= 0 || in_depth <= 0 ||
        out_depth <= 0) {
        return TC_ERROR_ARGUMENT;
    }
    if (rq != NULL) {
        tc_fc_run(params, quant, rq, batches, in_depth, out_depth, input, packed_weights, folded_bias, output, 1);
    } else {
        tc_fc_run(params, quant, rq, batches, in_depth, out_depth, input, packed_weights, folded_bias, output, 0);
    }
    return TC_OK;
}
