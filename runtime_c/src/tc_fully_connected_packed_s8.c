/* int8 FULLY_CONNECTED on compile-time packed weights: four output rows per pass, no scratch.
 *
 * Layout (tinycompiler/codegen/weights_layout.py: fc_packed_weights, folded_bias; see tc_conv.h), with
 * K = in_depth, K0 = K rounded down to a multiple of 4: rows go in blocks of four; per block, for each
 * group of four inputs, the four rows' four bytes (row-major inside the group), then the K - K0 tail
 * bytes of the four rows (row by row); the out_depth % 4 last rows follow one by one, natural (K bytes).
 * The input is read as is (int8, SXTB16 + SXTB16 ROR #8 once per four inputs for all four rows): the
 * input offset is folded into the bias. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

#define TC_ALWAYS_INLINE inline __attribute__((always_inline))

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

static TC_ALWAYS_INLINE void tc_fc_run(const tc_fc_params *params, const tc_per_channel_quant *quant,
                                       const tc_rq *rq, int32_t batches, int32_t in_depth, int32_t out_depth,
                                       const int8_t *input, const int8_t *weights, const int32_t *fb,
                                       int8_t *output, const int use_rq)
{
    const int32_t groups = in_depth >> 2;
    const int32_t tail = in_depth & 3;
    const int32_t pc = params->per_channel ? 1 : 0;
    const int32_t out_zp = params->output_offset, act_lo = params->act.min, act_hi = params->act.max;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)in_depth;
        const int8_t *w = weights;
        int32_t o = 0;
        for (; o + 4 <= out_depth; o += 4) {
            int32_t a0 = fb[o], a1 = fb[o + 1], a2 = fb[o + 2], a3 = fb[o + 3];
            const int8_t *xp = x;
#if TC_USE_DSP
            if (groups > 0) {
                const int8_t *const x_end = x + 4 * groups;
                uint32_t x02, x13, wr, w02;
                /* two groups per iteration; an odd group count enters at the second half */
                __asm__ volatile(
                    "tst %[ng], #1\n\t"
                    "bne 2f\n"
                    "1:\n\t"
                    "ldr %[x13], [%[x]], #4\n\t"
                    "ldr %[wr], [%[w]], #4\n\t"
                    "sxtb16 %[x02], %[x13]\n\t"
                    "sxtb16 %[x13], %[x13], ror #8\n\t"
                    "sxtb16 %[w02], %[wr]\n\t"
                    "sxtb16 %[wr], %[wr], ror #8\n\t"
                    "smlad %[a0], %[x02], %[w02], %[a0]\n\t"
                    "smlad %[a0], %[x13], %[wr], %[a0]\n\t"
                    "ldr %[wr], [%[w]], #4\n\t"
                    "sxtb16 %[w02], %[wr]\n\t"
                    "sxtb16 %[wr], %[wr], ror #8\n\t"
                    "smlad %[a1], %[x02], %[w02], %[a1]\n\t"
                    "smlad %[a1], %[x13], %[wr], %[a1]\n\t"
                    "ldr %[wr], [%[w]], #4\n\t"
                    "sxtb16 %[w02], %[wr]\n\t"
                    "sxtb16 %[wr], %[wr], ror #8\n\t"
                    "smlad %[a2], %[x02], %[w02], %[a2]\n\t"
                    "smlad %[a2], %[x13], %[wr], %[a2]\n\t"
                    "ldr %[wr], [%[w]], #4\n\t"
                    "sxtb16 %[w02], %[wr]\n\t"
                    "sxtb16 %[wr], %[wr], ror #8\n\t"
                    "smlad %[a3], %[x02], %[w02], %[a3]\n\t"
                    "smlad %[a3], %[x13], %[wr], %[a3]\n"
                    "2:\n\t"
                    "ldr %[x13], [%[x]], #4\n\t"
                    "ldr %[wr], [%[w]], #4\n\t"
                    "sxtb16 %[x02], %[x13]\n\t"
                    "sxtb16 %[x13], %[x13], ror #8\n\t"
                    "sxtb16 %[w02], %[wr]\n\t"
                    "sxtb16 %[wr], %[wr], ror #8\n\t"
                    "smlad %[a0], %[x02], %[w02], %[a0]\n\t"
                    "smlad %[a0], %[x13], %[wr], %[a0]\n\t"
                    "ldr %[wr], [%[w]], #4\n\t"
                    "sxtb16 %[w02], %[wr]\n\t"
                    "sxtb16 %[wr], %[wr], ror #8\n\t"
                    "smlad %[a1], %[x02], %[w02], %[a1]\n\t"
                    "smlad %[a1], %[x13], %[wr], %[a1]\n\t"
                    "ldr %[wr], [%[w]], #4\n\t"
                    "sxtb16 %[w02], %[wr]\n\t"
                    "sxtb16 %[wr], %[wr], ror #8\n\t"
                    "smlad %[a2], %[x02], %[w02], %[a2]\n\t"
                    "smlad %[a2], %[x13], %[wr], %[a2]\n\t"
                    "ldr %[wr], [%[w]], #4\n\t"
                    "sxtb16 %[w02], %[wr]\n\t"
                    "sxtb16 %[wr], %[wr], ror #8\n\t"
                    "smlad %[a3], %[x02], %[w02], %[a3]\n\t"
                    "smlad %[a3], %[x13], %[wr], %[a3]\n\t"
                    "cmp %[x], %[x_end]\n\t"
                    "bne 1b\n"
                    : [x] "+r"(xp), [w] "+r"(w), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                      [x02] "=&r"(x02), [x13] "=&r"(x13), [wr] "=&r"(wr), [w02] "=&r"(w02)
                    : [x_end] "r"(x_end), [ng] "r"(groups)
                    : "cc", "memory");
            }
#else
            for (int32_t g = groups; g > 0; --g) {
                const uint32_t xw = tc_read_u32(xp);
                xp += 4;
                const uint32_t x02 = tc_sxtb16(xw), x13 = tc_sxtb16_ror8(xw);
                uint32_t wr = tc_read_u32(w);
                a0 = tc_smlad(x02, tc_sxtb16(wr), a0);
                a0 = tc_smlad(x13, tc_sxtb16_ror8(wr), a0);
                wr = tc_read_u32(w + 4);
                a1 = tc_smlad(x02, tc_sxtb16(wr), a1);
                a1 = tc_smlad(x13, tc_sxtb16_ror8(wr), a1);
                wr = tc_read_u32(w + 8);
                a2 = tc_smlad(x02, tc_sxtb16(wr), a2);
                a2 = tc_smlad(x13, tc_sxtb16_ror8(wr), a2);
                wr = tc_read_u32(w + 12);
                a3 = tc_smlad(x02, tc_sxtb16(wr), a3);
                a3 = tc_smlad(x13, tc_sxtb16_ror8(wr), a3);
                w += 16;
            }
#endif
            for (int32_t i = 0; i < tail; ++i) {
                const int32_t xv = xp[i];
                a0 += xv * w[i];
                a1 += xv * w[tail + i];
                a2 += xv * w[2 * tail + i];
                a3 += xv * w[3 * tail + i];
            }
            w += 4 * tail;
            output[o] = tc_fc_out(a0, o * pc, rq, quant, out_zp, act_lo, act_hi, use_rq);
            output[o + 1] = tc_fc_out(a1, (o + 1) * pc, rq, quant, out_zp, act_lo, act_hi, use_rq);
            output[o + 2] = tc_fc_out(a2, (o + 2) * pc, rq, quant, out_zp, act_lo, act_hi, use_rq);
            output[o + 3] = tc_fc_out(a3, (o + 3) * pc, rq, quant, out_zp, act_lo, act_hi, use_rq);
        }
        for (; o < out_depth; ++o) {
            int32_t a0 = fb[o];
            const int8_t *xp = x;
            for (int32_t g = groups; g > 0; --g) {
                const uint32_t xw = tc_read_u32(xp);
                const uint32_t wr = tc_read_u32(w);
                xp += 4;
                w += 4;
                a0 = tc_smlad(tc_sxtb16(xw), tc_sxtb16(wr), a0);
                a0 = tc_smlad(tc_sxtb16_ror8(xw), tc_sxtb16_ror8(wr), a0);
            }
            for (int32_t i = 0; i < tail; ++i) {
                a0 += xp[i] * w[i];
            }
            w += tail;
            output[o] = tc_fc_out(a0, o * pc, rq, quant, out_zp, act_lo, act_hi, use_rq);
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
