/* Test-vector format of the conv-kernel firmware: generated as conv_vectors.c by
 * tests/test_qemu_dsp_kernels.py from the numpy reference interpreter. */
#ifndef CONV_VECTORS_H
#define CONV_VECTORS_H

#include <stdint.h>

#include "tc_types.h"

enum { TV_CONV = 0, TV_DEPTHWISE = 1, TV_FC = 2 };

typedef struct {
    int32_t kind;
    /* stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, depth_multiplier,
     * input_offset, output_offset, act_min, act_max, per_channel */
    int32_t p[12];
    tc_dims in, filt, out;
    const int8_t *input;
    const int8_t *filter;
    const int32_t *bias; /* may be NULL */
    const int32_t *multiplier;
    const int32_t *shift;
    const int8_t *expected; /* out.n * out.h * out.w * out.c bytes */
    const int16_t *packed_filter; /* depthwise, multiplier 1: tc_depthwise_conv2d_packed_s8's layout */
    const int32_t *folded_bias;   /* with the input offset folded in (depthwise multiplier 1, conv, FC) */
    const int32_t *rq;            /* folded requantization rows (tc_rq), or NULL */
    const int8_t *packed8;        /* conv / FC: tc_conv2d_packed_s8 / tc_fully_connected_packed_s8 weights */
    const int32_t *rq_lean;       /* conv: weights_layout.requant_lean's array, or NULL */
    int32_t rq_lean_c, rq_lean_a; /* ... its channel count and add-table length */
} tv_case;

extern const tv_case tv_cases[];
extern const int32_t tv_n_cases;

#endif
