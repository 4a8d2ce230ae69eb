/* Non-convolution int8 kernels: elementwise arithmetic, pooling, reductions, data movement,
 * nonlinear activations and (de)quantization. Each is bit-exact with the TFLite Micro reference
 * kernel of the same op (the tflite-micro PyPI interpreter is the oracle).
 *
 * Every constant (multipliers, shifts, clamp ranges, strides, radii) is computed at compile time
 * by tinycompiler/codegen/op_params.py from the model's quantization, exactly as TFLM's Prepare
 * computes it, and passed in here as a const struct. Field names below are the keys of the dicts
 * op_params.py returns, in the same order.
 *
 * Conventions:
 *  - "multiplier, shift" pairs are TFLite QuantizeMultiplier results: real ~= multiplier *
 *    2^(shift - 31), shift > 0 meaning a left shift (see tc_requant.h).
 *  - "zp"/"offset": an *_offset is added as is (TFLM's ArithmeticParams: input offsets are the
 *    negated zero points, output offsets the zero point itself).
 *  - act_min/act_max: the fused activation clamp in output units
 *    (CalculateActivationRangeQuantized).
 *  - Buffers are caller-owned; kernels never allocate. No kernel may be run in place unless its
 *    comment says so.
 */
#ifndef TC_OPS_H
#define TC_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "tc_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest rank the strided kernels (broadcast, transpose, pad, mean) handle. TFLM's own limits
 * are 6 (broadcast add/mul), 6 (transpose), 5 (pad); op_params collapses dims first. */
#define TC_MAX_DIMS 6

/* ---------------------------------------------------------------------------------------------
 * Broadcasting (ADD, MUL). The output is walked in row-major order over `rank` dims; in1/in2
 * advance by their element strides per dim (stride 0 along a broadcast dim). Equal shapes
 * collapse to rank 1 with strides 1. */
typedef struct {
    int32_t rank;                    /* 1..TC_MAX_DIMS */
    int32_t out_dims[TC_MAX_DIMS];   /* output extent per dim */
    int32_t in1_strides[TC_MAX_DIMS];/* element stride of input 1 per output dim (0 = broadcast) */
    int32_t in2_strides[TC_MAX_DIMS];/* element stride of input 2 per output dim (0 = broadcast) */
} tc_broadcast;

/* ADD (TFLM int8 path with left_shift 20 and three SmallerThanOne multipliers). */
typedef struct {
    int32_t input1_offset;     /* -zp(input1) */
    int32_t input2_offset;     /* -zp(input2) */
    int32_t left_shift;        /* 20 for int8 */
    int32_t input1_multiplier; /* Q31 of s1 / (2 max(s1,s2)) */
    int32_t input1_shift;      /* <= 0 */
    int32_t input2_multiplier; /* Q31 of s2 / (2 max(s1,s2)) */
    int32_t input2_shift;      /* <= 0 */
    int32_t output_multiplier; /* Q31 of 2 max(s1,s2) / (2^left_shift * s_out) */
    int32_t output_shift;      /* <= 0 */
    int32_t output_offset;     /* zp(output) */
    int32_t act_min;
    int32_t act_max;
} tc_add_params;

void tc_add_s8(const tc_add_params *p, const tc_broadcast *b, const int8_t *in1,
               const int8_t *in2, int8_t *out);

/* MUL: out = clamp(zp_out + MBQM((x1 - zp1) * (x2 - zp2), multiplier, shift)). */
typedef struct {
    int32_t input1_offset;     /* -zp(input1) */
    int32_t input2_offset;     /* -zp(input2) */
    int32_t output_offset;     /* zp(output) */
    int32_t output_multiplier; /* QuantizeMultiplier(s1 * s2 / s_out) */
    int32_t output_shift;
    int32_t act_min;
    int32_t act_max;
} tc_mul_params;

void tc_mul_s8(const tc_mul_params *p, const tc_broadcast *b, const int8_t *in1,
               const int8_t *in2, int8_t *out);

/* ---------------------------------------------------------------------------------------------
 * Pooling (NHWC). The window at output (y, x) starts at (y*stride_h - pad_top,
 * x*stride_w - pad_left) and is clipped to the input; the average divides by the clipped count,
 * rounding half away from zero. No requantization: TFLM pools in the input's units. */
typedef struct {
    int32_t stride_h, stride_w;
    int32_t filter_h, filter_w;
    int32_t pad_top, pad_left; /* the "before" padding (SAME puts the odd pixel after) */
    int32_t act_min, act_max;
} tc_pool_params;

/* Returns TC_ERROR_ARGUMENT if some window is entirely outside the input (TFLM fails too). */
tc_status tc_avgpool_s8(const tc_pool_params *p, const tc_dims *in_dims, const int8_t *in,
                        const tc_dims *out_dims, int8_t *out);
void tc_maxpool_s8(const tc_pool_params *p, const tc_dims *in_dims, const int8_t *in,
                   const tc_dims *out_dims, int8_t *out);

/* ---------------------------------------------------------------------------------------------
 * MEAN over any set of axes (TFLM QuantizedMeanOrSum, int8). The input is seen as a strided view:
 * the kept dims (in output order) then the reduced dims. Each output is
 *   clamp(zp_out + MBQM(sum - sum_offset, multiplier, shift), -128, 127)
 * where multiplier/shift already fold in 1/count the way TFLM does. */
typedef struct {
    int32_t out_rank;                     /* 1..TC_MAX_DIMS (1 with out_dims[0]=1 for a scalar) */
    int32_t out_dims[TC_MAX_DIMS];
    int32_t out_strides[TC_MAX_DIMS];     /* input element stride per kept dim */
    int32_t red_rank;                     /* 1..TC_MAX_DIMS */
    int32_t red_dims[TC_MAX_DIMS];
    int32_t red_strides[TC_MAX_DIMS];     /* input element stride per reduced dim */
    int32_t sum_offset;                   /* zp(input) * count, wrapped to int32 */
    int32_t multiplier;                   /* s_in/s_out multiplier adjusted by 1/count */
    int32_t shift;
    int32_t output_zp;
} tc_mean_params;

void tc_mean_s8(const tc_mean_params *p, const int8_t *in, int8_t *out);

/* ---------------------------------------------------------------------------------------------
 * Data movement. */

/* PAD (constant): out has in_dims[d] + pad_before[d] + pad_after[d] along d; filled with
 * pad_value (the output zero point). */
typedef struct {
    int32_t rank;                       /* 1..TC_MAX_DIMS */
    int32_t in_dims[TC_MAX_DIMS];
    int32_t pad_before[TC_MAX_DIMS];
    int32_t pad_after[TC_MAX_DIMS];
    int32_t pad_value;
} tc_pad_params;

void tc_pad_s8(const tc_pad_params *p, const int8_t *in, int8_t *out);

/* TRANSPOSE: out (row-major over out_dims) [i0..ik] = in[sum_d i_d * in_strides[d]]. */
typedef struct {
    int32_t rank;                       /* 1..TC_MAX_DIMS */
    int32_t out_dims[TC_MAX_DIMS];
    int32_t in_strides[TC_MAX_DIMS];    /* input element stride for each output dim */
} tc_transpose_params;

void tc_transpose_s8(const tc_transpose_params *p, const int8_t *in, int8_t *out);

/* CONCATENATION along one axis: for each of outer_size rows, copy each input's
 * copy_sizes[i] (= its axis extent * inner size) elements in turn. TFLM requires every input to
 * share the output quantization (then requant == NULL: pure copies). As an extension, an input
 * with different quantization is requantized like int8->int8 QUANTIZE: requant[i] holds
 * {multiplier, shift, input_zp, output_zp}; multiplier 0 marks an input that is copied as is. */
typedef struct {
    int32_t multiplier;
    int32_t shift;
    int32_t input_zp;
    int32_t output_zp;
} tc_requant_params;

typedef struct {
    int32_t num_inputs;
    int32_t outer_size;
    const int32_t *copy_sizes;           /* [num_inputs] */
    const tc_requant_params *requant;    /* [num_inputs] or NULL */
} tc_concat_params;

void tc_concat_s8(const tc_concat_params *p, const int8_t *const *inputs, int8_t *out);

/* RESIZE_NEAREST_NEIGHBOR (NHWC; batch and channels kept). Source indices are computed in
 * float exactly as TFLM does (scale = in/out, or (in-1)/(out-1) with align_corners; +0.5 with
 * half_pixel_centers; round with align_corners, floor otherwise; clamped to [0, in-1]). */
typedef struct {
    int32_t align_corners;      /* 0/1 */
    int32_t half_pixel_centers; /* 0/1 */
} tc_resize_params;

void tc_resize_nearest_s8(const tc_resize_params *p, const tc_dims *in_dims, const int8_t *in,
                          const tc_dims *out_dims, int8_t *out);

/* RESHAPE/SQUEEZE when the planner cannot alias: memmove (in-place safe). */
void tc_copy_s8(int32_t size, const int8_t *in, int8_t *out);

/* ---------------------------------------------------------------------------------------------
 * Nonlinear activations (gemmlowp fixed point, see tc_fixedpoint.h). Softmax-like kernels work
 * on `outer` rows of `depth` contiguous elements (the last axis). */

/* SOFTMAX: output scale 1/256, zero point -128 (TFLM requires it). */
typedef struct {
    int32_t input_multiplier; /* PreprocessSoftmaxScaling(beta, s_in, 5): Q31 multiplier */
    int32_t input_left_shift; /* its left shift (>= 0) */
    int32_t diff_min;         /* -CalculateInputRadius(5, input_left_shift) */
} tc_softmax_params;

void tc_softmax_s8(const tc_softmax_params *p, int32_t outer, int32_t depth, const int8_t *in,
                   int8_t *out);

/* LOG_SOFTMAX: output scale 16/256, zero point 127 (TFLM requires it). */
typedef struct {
    int32_t input_multiplier;        /* PreprocessSoftmaxScaling(1, s_in, 5) */
    int32_t input_left_shift;        /* >= 0 */
    int32_t reverse_scaling_divisor; /* QuantizeMultiplier(2^(31-left_shift) / multiplier) */
    int32_t reverse_scaling_shift;   /* its shift (<= 0) */
    int32_t diff_min;                /* -CalculateInputRadius(5, input_left_shift) */
} tc_log_softmax_params;

void tc_log_softmax_s8(const tc_log_softmax_params *p, int32_t outer, int32_t depth,
                       const int8_t *in, int8_t *out);

/* LOGISTIC: output zero point -128 (scale assumed 1/256). In place is fine. */
typedef struct {
    int32_t input_zp;
    int32_t input_range_radius; /* CalculateInputRadius(4, input_left_shift, 31) */
    int32_t input_multiplier;   /* round(frexp(s_in * 2^27).q * 2^31) */
    int32_t input_left_shift;   /* frexp exponent */
} tc_logistic_params;

void tc_logistic_s8(const tc_logistic_params *p, int32_t size, const int8_t *in, int8_t *out);

/* HARD_SWISH through TFLite's int16 pipeline. In place is fine. */
typedef struct {
    int32_t input_zp;
    int32_t output_zp;
    int32_t reluish_multiplier_fixedpoint_int16; /* Q15 of (s_in/128) / (3/32768) */
    int32_t reluish_multiplier_exponent;         /* its shift (either sign) */
    int32_t output_multiplier_fixedpoint_int16;  /* Q15 of (s_in/128) / s_out */
    int32_t output_multiplier_exponent;          /* its shift (<= 0) */
} tc_hard_swish_params;

void tc_hard_swish_s8(const tc_hard_swish_params *p, int32_t size, const int8_t *in,
                      int8_t *out);

/* RELU: out = clamp(zp_out + MBQM(x - zp_in, multiplier, shift), act_min, act_max).
 * In place is fine. */
typedef struct {
    int32_t input_zp;
    int32_t output_zp;
    int32_t output_multiplier; /* QuantizeMultiplier(double(s_in) / double(s_out)) (as the wheel) */
    int32_t output_shift;
    int32_t act_min;           /* max(-128, zp_out + round(0 / s_out)) */
    int32_t act_max;           /* 127 */
} tc_relu_params;

void tc_relu_s8(const tc_relu_params *p, int32_t size, const int8_t *in, int8_t *out);

/* RELU6: TFLM clamps in *input* units to [zp_in, q_in(6.0)] and never requantizes.
 * In place is fine. */
typedef struct {
    int32_t lower; /* zp(input) */
    int32_t upper; /* zp(input) + round(6 / s_in), clamped to int8 */
} tc_relu6_params;

void tc_relu6_s8(const tc_relu6_params *p, int32_t size, const int8_t *in, int8_t *out);

/* ---------------------------------------------------------------------------------------------
 * (De)quantization. */

/* QUANTIZE float32 -> int8: clamp(round_half_away(x / scale) + zp) with a float division,
 * as TFLM's AffineQuantize. A NaN or out-of-int32 quotient converts to INT32_MIN and then wraps
 * when zp is added: what the oracle (TFLM built for x86) gives; TFLM on an Arm core would
 * saturate instead. Only inputs beyond +-2^31 * scale are affected. */
typedef struct {
    float scale;    /* the output scale, float32 as stored */
    int32_t zero_point;
} tc_affine_params;

void tc_quantize_f32_s8(const tc_affine_params *p, int32_t size, const float *in, int8_t *out);

/* DEQUANTIZE int8 -> float32: float(double(scale) * (x - zp)); computed in float, which gives
 * the same bits (the product of a float and a 9-bit integer is exact in double). */
void tc_dequantize_s8_f32(const tc_affine_params *p, int32_t size, const int8_t *in,
                          float *out);

/* QUANTIZE int8 -> int8 (TFLM Requantize): clamp(zp_out + MBQM(x - zp_in, multiplier, shift)),
 * multiplier/shift = QuantizeMultiplier(s_in / s_out). In place is fine. */
void tc_requantize_s8(const tc_requant_params *p, int32_t size, const int8_t *in, int8_t *out);

/* ---------------------------------------------------------------------------------------------
 * The float32 tail after a DEQUANTIZE (tc_float_tail_f32.c): TFLM's float reference kernels, with
 * sums in order and no fused multiply-add, so a host build is bit-exact with TFLM's host build.
 * exp/log/tanh come from the C library: on a device results are within a few ulps of TFLM's. */
void tc_softmax_f32(int32_t outer, int32_t depth, float beta, const float *in, float *out);
void tc_log_softmax_f32(int32_t outer, int32_t depth, const float *in, float *out);
void tc_logistic_f32(int32_t size, const float *in, float *out);
void tc_tanh_f32(int32_t size, const float *in, float *out);
void tc_relu_f32(int32_t size, const float *in, float *out);
/* out = clamp(in1 (+ or *) in2, act_min, act_max), broadcast as tc_broadcast says */
void tc_add_f32(const tc_broadcast *b, float act_min, float act_max, const float *in1, const float *in2,
                float *out);
void tc_mul_f32(const tc_broadcast *b, float act_min, float act_max, const float *in1, const float *in2,
                float *out);
/* rows x depth input, units x depth weights, optional bias[units]: total += x*w in order, + bias */
void tc_fully_connected_f32(int32_t rows, int32_t depth, int32_t units, const float *in, const float *weights,
                            const float *bias, float act_min, float act_max, float *out);
/* MEAN over the reduced dims of p (its int8 requantization fields unused): in-order sum / count */
void tc_mean_f32(const tc_mean_params *p, const float *in, float *out);
/* CONCATENATION of float32 inputs (p->requant unused): copies */
void tc_concat_f32(const tc_concat_params *p, const float *const *inputs, float *out);

#ifdef __cplusplus
}
#endif

#endif /* TC_OPS_H */
