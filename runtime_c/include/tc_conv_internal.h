/* Private helpers of the conv-family kernels (not part of the public API). */
#ifndef TC_CONV_INTERNAL_H
#define TC_CONV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tc_config.h"
#include "tc_conv.h"
#include "tc_dsp.h"
#include "tc_requant.h"

/* tc_requantize (TFLM's double rounding) in one 32x32->64 multiply-accumulate, for multipliers
 * 0 <= m < 2^31 (what TFLite's QuantizeMultiplier produces) and right shifts e = -shift >= 2.
 *
 * With P = acc * m + 2^30, TFLM computes t = floor(P / 2^31) (SaturatingRoundingDoublingHighMul;
 * no saturation since m != INT32_MIN) and then rounds t / 2^e half away from zero:
 * floor((t + 2^(e-1) - [t < 0]) / 2^e). Nested floors of divisions by positive integers compose, and
 * [t < 0] may be replaced by [acc < 0] (they differ only when 0 <= P <= 2^30, where both give 0), so
 *   out = floor((acc * m + 2^30 - [acc < 0] * 2^31 + 2^(30+e)) / 2^(31+e))
 *       = (hi + 2^(e-2)) >> (e-1),  hi = the high word of acc * m + (2^30 - [acc < 0] * 2^31)
 * (the low word cannot carry into the rounding for e >= 2). |hi| < 2^30, so nothing overflows.
 * Other shifts fall back to tc_requantize. Checked exhaustively on random and edge values by
 * tests/test_c_conv_kernels.py::test_fast_requantize. */
static inline int32_t tc_requantize_fast(int32_t acc, int32_t multiplier, int32_t shift)
{
    if (__builtin_expect(shift <= -2, 1)) {
        const int32_t init = (int32_t)(((uint32_t)acc & 0x80000000u) | 0x40000000u);
        const int64_t r = (int64_t)init + (int64_t)acc * (int64_t)multiplier;
        const int32_t hi = (int32_t)((uint64_t)r >> 32);
        /* (hi + 2^(e-2)) >> (e-1) == ((hi >> (e-2)) + 1) >> 1 (nested floors again) */
        return ((hi >> (-2 - shift)) + 1) >> 1;
    }
    return tc_requantize(acc, multiplier, shift);
}

/* tc_requantize_fast(acc, m, shift) + output zero point in the folded form of tc_rq: the zero point
 * and the rounding term 2^(e-2) are added (as `add`) to the high word of the 64-bit accumulator
 * before the multiply-accumulate, which is exact because they are multiples of 2^(e-1) and 2^(e-2):
 *   out = (hi + 2^(e-2) + zp * 2^(e-1)) >> (e - 1)  with hi as in tc_requantize_fast.
 * One SMLAL, one ASR (no per-output shift arithmetic). Valid for e >= 2 and |add| < 2^30 (then
 * |hi + add| < 2^31); checked by tests/test_c_conv_kernels.py::test_folded_requantize. */
static inline int32_t tc_rq_output(int32_t acc, const tc_rq *r)
{
    const uint32_t lo = ((uint32_t)acc & 0x80000000u) | 0x40000000u;
    const uint32_t hi = (uint32_t)r->add + (uint32_t)(acc >> 31);
    uint64_t p = ((uint64_t)hi << 32) | lo;
    p += (uint64_t)((int64_t)acc * (int64_t)r->multiplier);
    return (int32_t)(uint32_t)(p >> 32) >> r->rshift;
}

/* Row pairs sharing int16 weight lanes (tc_conv2d_packed_s8, tc_fully_connected_packed_s8): lane k is
 * 256 * w_hi[k] + w_lo[k]; SMLAD on a pair's word adds 256 * dot_hi + dot_lo to the raw sum, SMLAD on
 * its SXTB16 adds dot_lo to the low sum. Both start equal, so the high row's dot product is
 * (raw - low) >> 8 while |256 * dot_hi| < 2^31: with |x|, |w| <= 128 that holds for TC_PAIR_SEG_K
 * inputs (504 * 128 * 128 < 2^23), after which the kernels take it out. */
#define TC_PAIR_SEG_K 504

static inline int32_t tc_pair_hi_dot(int32_t raw, int32_t low)
{
    return (int32_t)((uint32_t)raw - (uint32_t)low) >> 8;
}

/* Wrapping int32 add (the accumulators wrap like TFLite's). */
static inline int32_t tc_wrap_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* tc_rq_output then the activation clamp: the int8 output byte. */
static inline int8_t tc_rq_clamp(int32_t acc, const tc_rq *r, int32_t act_min, int32_t act_max)
{
    int32_t v = tc_rq_output(acc, r);
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}

/* The common epilogue: requantize, add the output zero point, clamp to the activation range. */
static inline int8_t tc_conv_output(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_offset,
                                    tc_act_range act)
{
    const int32_t v = tc_requantize_fast(acc, multiplier, shift) + output_offset;
    return (int8_t)tc_clamp(v, act.min, act.max);
}

static inline int tc_dims_ok(const tc_dims *d)
{
    return d != NULL && d->n > 0 && d->h > 0 && d->w > 0 && d->c > 0;
}

/* The per-channel quant is complete. */
static inline int tc_quant_ok(const tc_per_channel_quant *q)
{
    return q != NULL && q->multiplier != NULL && q->shift != NULL;
}

/* What a packed kernel requantizes with: its tc_rq rows (then quant may be NULL: codegen emits no
 * multiplier / shift arrays beside a table), else the per-channel quant. */
static inline int tc_rq_or_quant_ok(const tc_rq *rq, const tc_per_channel_quant *q)
{
    return rq != NULL || tc_quant_ok(q);
}

/* A lean requantization table is complete. */
static inline int tc_rq_lean_ok(const tc_rq_lean *rq)
{
    return rq->rows != NULL || (rq->multiplier != NULL && rq->rshift != NULL && rq->add != NULL);
}

/* Shared shape checks of the CONV_2D kernels (the quant is checked by the caller). */
static inline int tc_conv_shapes_ok(const tc_conv_params *p, const tc_dims *in, const void *input, const tc_dims *f,
                                    const void *filter, const tc_dims *out, const void *output)
{
    return p != NULL && input != NULL && filter != NULL && output != NULL && tc_dims_ok(in) && tc_dims_ok(f) &&
           tc_dims_ok(out) && f->c == in->c && f->n == out->c && in->n == out->n && p->stride_h > 0 && p->stride_w > 0 &&
           p->dilation_h > 0 && p->dilation_w > 0 && p->pad_top >= 0 && p->pad_left >= 0;
}

/* Shared argument checks of the CONV_2D kernels. */
static inline int tc_conv_args_ok(const tc_conv_params *p, const tc_per_channel_quant *q,
                                  const tc_dims *in, const void *input, const tc_dims *f, const void *filter,
                                  const tc_dims *out, const void *output)
{
    return tc_quant_ok(q) && tc_conv_shapes_ok(p, in, input, f, filter, out, output);
}

/* Shared shape checks of the DEPTHWISE_CONV_2D kernels (the quant is checked by the caller). */
static inline int tc_dw_shapes_ok(const tc_dw_conv_params *p, const tc_dims *in, const tc_dims *f,
                                  const void *filter, const tc_dims *out)
{
    return p != NULL && filter != NULL && tc_dims_ok(in) && tc_dims_ok(f) && tc_dims_ok(out) &&
           p->depth_multiplier > 0 &&
           f->n == 1 && f->c == in->c * p->depth_multiplier && out->c == f->c && in->n == out->n &&
           p->stride_h > 0 && p->stride_w > 0 && p->dilation_h > 0 && p->dilation_w > 0 &&
           p->pad_top >= 0 && p->pad_left >= 0;
}

/* Shared argument checks of the DEPTHWISE_CONV_2D kernels. */
static inline int tc_dw_args_ok(const tc_dw_conv_params *p, const tc_per_channel_quant *q,
                                const tc_dims *in, const tc_dims *f, const void *filter, const tc_dims *out)
{
    return tc_quant_ok(q) && tc_dw_shapes_ok(p, in, f, filter, out);
}

/* First/one-past-last filter tap index k with 0 <= origin + k * dilation < size. */
static inline void tc_valid_taps(int32_t origin, int32_t dilation, int32_t taps, int32_t size,
                                 int32_t *k_begin, int32_t *k_end)
{
    int32_t b = 0;
    int32_t e = taps;
    if (origin < 0) {
        b = (-origin + dilation - 1) / dilation;
        if (b > taps) {
            b = taps;
        }
    }
    if (origin + (taps - 1) * dilation >= size) {
        /* largest k with origin + k * dilation <= size - 1 */
        const int32_t room = size - 1 - origin;
        e = room < 0 ? 0 : room / dilation + 1;
    }
    if (e < b) {
        e = b;
    }
    *k_begin = b;
    *k_end = e;
}


/* ---- im2col helpers of the CONV_2D fast paths ----
 * A "column" is one output pixel's receptive field, K = kh * kw * in_ch int16 values in filter (HWI)
 * order, each x + input_offset (0 for padded taps), stored in the reordered layout of tc_dsp.h:
 * every full group of four starting at a multiple of 4 holds (x0, x2, x1, x3); the K % 4 tail is
 * natural. Filter rows (natural int8, OHWI) are then dotted with tc_dot2_s16_s8. */

/* Natural-order widening with offset (no reordering). */
static inline void tc_widen_natural(const int8_t *src, int16_t *dst, int32_t n, int32_t offset)
{
    for (int32_t i = 0; i < n; ++i) {
        dst[i] = (int16_t)(src[i] + offset);
    }
}

/* Turn a natural-order column into the reordered layout (swap elements 1 and 2 of each group). */
static inline void tc_reorder_column(int16_t *col, int32_t n)
{
    for (int32_t i = 0; i + 4 <= n; i += 4) {
        const int16_t t = col[i + 1];
        col[i + 1] = col[i + 2];
        col[i + 2] = t;
    }
}

/* All output channels of one pixel from a filled column. */
static inline void tc_conv_column_outputs(const int16_t *col, int32_t k, const int8_t *filter,
                                          const int32_t *bias, int32_t out_c,
                                          const tc_per_channel_quant *quant, const tc_conv_params *params,
                                          int8_t *out)
{
    int32_t o = 0;
    for (; o + 2 <= out_c; o += 2) {
        int32_t a = bias != NULL ? bias[o] : 0;
        int32_t b = bias != NULL ? bias[o + 1] : 0;
        const int8_t *wa = filter + (size_t)o * (size_t)k;
        tc_dot2_s16_s8(col, wa, wa + k, k, &a, &b);
        out[o] = tc_conv_output(a, quant->multiplier[o], quant->shift[o], params->output_offset, params->act);
        out[o + 1] = tc_conv_output(b, quant->multiplier[o + 1], quant->shift[o + 1], params->output_offset,
                                    params->act);
    }
    if (o < out_c) {
        int32_t a = bias != NULL ? bias[o] : 0;
        a = tc_dot_s16_s8(col, filter + (size_t)o * (size_t)k, k, a);
        out[o] = tc_conv_output(a, quant->multiplier[o], quant->shift[o], params->output_offset, params->act);
    }
}

#endif /* TC_CONV_INTERNAL_H */
