/* int8 convolution-family kernels: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED.
 *
 * Every kernel is bit-exact with TFLite Micro's reference int8 kernels:
 *
 *   acc   = bias[o] + sum over taps inside the input of (x + input_offset) * w
 *   out   = clamp(tc_requantize(acc, multiplier[o], shift[o]) + output_offset, act.min, act.max)
 *
 * with input_offset = -input_zero_point, output_offset = output_zero_point, and taps that fall in
 * the padding contributing nothing (exactly as if the input held its zero point there).
 *
 * Conventions shared by all kernels below
 * ----------------------------------------
 * - Tensors are NHWC int8, dense, batch n >= 1. Pointers may be unaligned.
 * - Weights are passed exactly as TFLite stores them, with no reordering:
 *     CONV_2D          filter OHWI, filter_dims = {n: out_ch, h: kh, w: kw, c: in_ch}
 *     DEPTHWISE_CONV_2D filter [1, kh, kw, in_ch * depth_multiplier],
 *                       filter_dims = {n: 1, h: kh, w: kw, c: in_ch * depth_multiplier};
 *                       output channel oc = ic * depth_multiplier + m
 *     FULLY_CONNECTED   weights [out_depth, in_depth] (row per output)
 *   Weights must be symmetric (zero point 0), as TFLite requires for int8 conv/FC.
 * - Bias is the raw int32 bias of the model (NOT pre-folded with input_offset * sum(w)); it may be
 *   NULL (no bias). The fast paths add the input offset to the activations themselves, so the same
 *   weight and bias bytes serve every variant of a kernel and the wrappers can switch freely.
 * - Requantization is per output channel: quant->multiplier[o], quant->shift[o] for every output
 *   channel o (TFLite's QuantizeMultiplier of in_scale * w_scale[o] / out_scale; shift > 0 = left).
 *   A per-tensor model passes the same pair replicated per channel; FULLY_CONNECTED can instead set
 *   params->per_channel = 0 to read only element 0.
 * - Padding is given by pad_top / pad_left only (TFLite's SAME offsets, or 0 for VALID); the
 *   bottom/right padding follows from output_dims, so asymmetric SAME padding is exact.
 * - Scratch buffers are owned by the caller (the memory planner puts them in the arena); each
 *   kernel that needs one has a *_scratch_bytes() query returning the exact size in bytes, and
 *   needs 2-byte alignment of the scratch pointer (4 recommended). Scratch size 0 = none.
 * - Kernels return TC_OK, or TC_ERROR_ARGUMENT when the shapes do not fit the kernel (e.g. a fast
 *   path called outside its predicate, or a missing scratch). Nothing is written then.
 *
 * Fast paths and their reference twins
 * ------------------------------------
 * tc_conv2d_s8 and tc_depthwise_conv2d_s8 are the plain, obviously-correct reference kernels that
 * accept every valid argument. Each fast path below gives bit-identical results to its reference
 * (tested on host and on Cortex-M4 under QEMU). The fast paths use the DSP helpers of tc_dsp.h:
 * SMLAD/SXTB16 on cores with __ARM_FEATURE_DSP, portable C elsewhere. Callers normally use the
 * wrappers, which pick the fast path with small predicates.
 */
#ifndef TC_CONV_H
#define TC_CONV_H

#include <stdint.h>

#include "tc_types.h"

typedef struct {
    int32_t stride_h, stride_w;     /* >= 1 */
    int32_t dilation_h, dilation_w; /* >= 1 */
    int32_t pad_top, pad_left;      /* >= 0 */
    int32_t input_offset;           /* -input zero point */
    int32_t output_offset;          /* output zero point */
    tc_act_range act;               /* fused activation clamp, int8 units */
} tc_conv_params;

typedef struct {
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;
    int32_t depth_multiplier; /* >= 1; output channels = input channels * depth_multiplier */
    int32_t input_offset;
    int32_t output_offset;
    tc_act_range act;
} tc_dw_conv_params;

/* Compile-time requantization constants of one output channel (the "folded" form of
 * tc_requantize + output zero point, see tc_conv_internal.h: tc_rq_output). Built by
 * tinycompiler/codegen/weights_layout.py: requant_table(), which returns None (and codegen keeps the
 * tc_per_channel_quant path) when a channel's shift does not allow this form (right shift e >= 2 and
 * |add| < 2^30 are needed). With e = -shift and zp = output zero point:
 *   multiplier = the Q31 multiplier, add = 2^(e-2) + zp * 2^(e-1), rshift = e - 1. */
typedef struct {
    int32_t multiplier;
    int32_t add;
    int32_t rshift;
} tc_rq;

/* The requantization of the CONV_2D packed kernels: tc_rq rows (`rows` != NULL, the fastest), or the
 * same constants lean, in 5 bytes per output channel instead of 12 (what --opt Os takes). add depends on
 * a channel only through its shift (add = (2 * zp + 1) * 2^(rshift - 1)), so one small table per layer
 * holds it, indexed by rshift. Built by weights_layout.requant_table() / requant_lean(). */
typedef struct {
    const tc_rq *rows;         /* [out_ch], or NULL: the lean arrays below */
    const int32_t *multiplier; /* [out_ch] */
    const uint8_t *rshift;     /* [out_ch] */
    const int32_t *add;        /* [max rshift + 1], entry s for the channels with rshift s */
} tc_rq_lean;

typedef struct {
    int32_t input_offset;
    int32_t output_offset;
    tc_act_range act;
    int32_t per_channel; /* 1: quant arrays have out_depth entries; 0: one per-tensor entry */
} tc_fc_params;

/* ------------------------------------------------------------------------------------------ */
/* CONV_2D                                                                                      */

/* Reference convolution: any kernel size, stride, dilation, asymmetric padding, batch. No scratch. */
tc_status tc_conv2d_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                       const tc_dims *input_dims, const int8_t *input,
                       const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                       const tc_dims *output_dims, int8_t *output);

/* im2col fast path (any kernel/stride/dilation/padding): for each output pixel the receptive field
 * is widened to int16 with the input offset added (padding -> 0) into `scratch`, then dotted with
 * two filter rows at a time using SMLAD. scratch: tc_conv2d_im2col_s8_scratch_bytes(). */
tc_status tc_conv2d_im2col_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                              const tc_dims *input_dims, const int8_t *input,
                              const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                              const tc_dims *output_dims, int8_t *output, int16_t *scratch);
int32_t tc_conv2d_im2col_s8_scratch_bytes(const tc_dims *input_dims, const tc_dims *filter_dims);

/* Pointwise fast path. Valid when filter is 1x1 and pad_top == pad_left == 0 (any stride;
 * dilation is irrelevant). scratch: tc_conv2d_1x1_s8_scratch_bytes() = 2 * in_ch bytes. */
int tc_conv2d_1x1_s8_applies(const tc_conv_params *params, const tc_dims *input_dims,
                             const tc_dims *filter_dims);
tc_status tc_conv2d_1x1_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                           const tc_dims *input_dims, const int8_t *input,
                           const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                           const tc_dims *output_dims, int8_t *output, int16_t *scratch);
int32_t tc_conv2d_1x1_s8_scratch_bytes(const tc_dims *input_dims, const tc_dims *filter_dims);

/* First-layer fast path for 3-channel input (RGB images): any kernel/stride/dilation/padding,
 * in_ch == 3. The receptive field is gathered tap by tap (3 bytes each) without per-channel loops.
 * scratch: tc_conv2d_rgb_s8_scratch_bytes() = 2 * kh * kw * 3 bytes. */
int tc_conv2d_rgb_s8_applies(const tc_conv_params *params, const tc_dims *input_dims,
                             const tc_dims *filter_dims);
tc_status tc_conv2d_rgb_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                           const tc_dims *input_dims, const int8_t *input,
                           const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                           const tc_dims *output_dims, int8_t *output, int16_t *scratch);
int32_t tc_conv2d_rgb_s8_scratch_bytes(const tc_dims *input_dims, const tc_dims *filter_dims);

/* One-input-channel fast path on packed weights (what codegen uses for a DEPTHWISE_CONV_2D with one input
 * channel and depth multiplier M, run as the CONV_2D with OHWI filter [M, kh, kw, 1]): in_ch == 1,
 * dilation_w == 1; any kernel, stride, dilation_h, padding, batch. No scratch. Window rows are read as
 * words straight from the input (SXTB16), dotted with int16 weights (SMLAD), four output channels per pass.
 * Weights and bias prepared at compile time (weights_layout.py: conv_c1_packed_weights, folded_bias;
 * layout in src/tc_conv2d_c1_packed_s8.c):
 *   packed_filter  int16, 4-byte aligned (checked);
 *   folded_bias    int32 [out_ch] (required): bias[o] + input_offset * sum of row o.
 * Padded taps take the input zero point, so border pixels stay exact. `rq` (may be NULL): the folded
 * requantization rows (tc_rq); NULL uses quant. Output in raster order, each pixel written block by
 * block after reading only its own window (the one-channel depthwise rule of plan/overlap.py). */
int tc_conv2d_c1_packed_s8_applies(const tc_conv_params *params, const tc_dims *input_dims,
                                   const tc_dims *filter_dims);
tc_status tc_conv2d_c1_packed_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                                 const tc_rq *rq, const tc_dims *input_dims, const int8_t *input,
                                 const tc_dims *filter_dims, const int16_t *packed_filter,
                                 const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output);

/* Packed fast path (what codegen uses for CONV_2D): any kernel size, stride, dilation, padding, batch.
 * Two output pixels x two output channels per inner loop (SXTB16 + SMLAD on int8 columns of both
 * pixels and on the weights), input offset folded into the bias, optional folded requantization (`rq`,
 * the lean form tc_rq_lean; may be NULL: then quant is used, else quant may be NULL). Weights and bias
 * prepared at compile time (weights_layout.py: conv_packed_weights, folded_bias, requant_lean; layout in
 * src/tc_conv2d_packed_s8.c):
 *   packed_filter  4-byte aligned (checked): row pairs sharing int16 lanes 256 * w_o + w_o+1, by groups
 *                  of four k, K padded to a multiple of 4 (only for weights_layout.pair_lanes_ok);
 *   folded_bias    int32 [out_ch] (required): bias[o] + input_offset * sum of row o.
 * Padded taps hold the input zero point in the column, so border pixels stay exact. Pixels are taken
 * in raster order in pairs (per image; an odd last pixel alone); both windows of a pair are copied into
 * scratch before either output pixel is written (the CONV_2D overlap contract of plan/overlap.py).
 * scratch: tc_conv2d_packed_s8_scratch_bytes() = 2 * K4 bytes (K4 = kh * kw * in_ch rounded up to 4),
 * 4-byte aligned (checked). */
int32_t tc_conv2d_packed_s8_scratch_bytes(const tc_dims *input_dims, const tc_dims *filter_dims);
tc_status tc_conv2d_packed_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                              const tc_rq_lean *rq, const tc_dims *input_dims, const int8_t *input,
                              const tc_dims *filter_dims, const int8_t *packed_filter,
                              const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output,
                              int8_t *scratch);

/* tc_conv2d_packed_s8 with wide columns: the pair's receptive fields widened to int16 once, so the inner
 * loop widens only the weights (2 LDRD, 2 LDR, 4 SXTB16, 8 SMLAD per 16 MACs instead of 3 loads, 8 SXTB16,
 * 8 SMLAD). Same weights, bias, rq, overlap contract and bytes out; scratch:
 * tc_conv2d_packed_wide_s8_scratch_bytes() = 4 * K4 bytes, 4-byte aligned (checked). Codegen runs it
 * where the memory plan has that much room free at the layer (plan/scratch_room.py). */
int32_t tc_conv2d_packed_wide_s8_scratch_bytes(const tc_dims *input_dims, const tc_dims *filter_dims);
tc_status tc_conv2d_packed_wide_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                                   const tc_rq_lean *rq, const tc_dims *input_dims, const int8_t *input,
                                   const tc_dims *filter_dims, const int8_t *packed_filter,
                                   const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output,
                                   int8_t *scratch);

/* Dispatcher: 1x1 fast path, else RGB fast path, else im2col fast path; the reference kernel only
 * when scratch is NULL. `scratch` must hold tc_conv2d_s8_scratch_bytes() bytes (the maximum the
 * chosen path needs; 0 is never returned for a valid conv, so pass NULL only to force the reference). */
tc_status tc_conv2d_wrapper_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                               const tc_dims *output_dims, int8_t *output, int16_t *scratch);
int32_t tc_conv2d_s8_scratch_bytes(const tc_conv_params *params, const tc_dims *input_dims,
                                   const tc_dims *filter_dims, const tc_dims *output_dims);

/* ------------------------------------------------------------------------------------------ */
/* DEPTHWISE_CONV_2D                                                                            */

/* Reference depthwise convolution: any depth multiplier, kernel, stride, dilation, padding. */
tc_status tc_depthwise_conv2d_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                 const tc_dims *input_dims, const int8_t *input,
                                 const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                 const tc_dims *output_dims, int8_t *output);

/* 3x3 fast path: valid when kh == kw == 3, depth_multiplier == 1, dilation 1 (any stride/padding).
 * Four channels per step with SXTB16 + SMLABB/SMLATT; padded taps skipped. No scratch. */
int tc_depthwise_conv2d_3x3_s8_applies(const tc_dw_conv_params *params, const tc_dims *input_dims,
                                       const tc_dims *filter_dims);
tc_status tc_depthwise_conv2d_3x3_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                     const tc_dims *input_dims, const int8_t *input,
                                     const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                     const tc_dims *output_dims, int8_t *output);

/* Packed fast path (what codegen uses for out-of-place DEPTHWISE_CONV_2D with depth_multiplier 1):
 * any kernel size, stride, dilation and padding. Weights and bias are prepared at compile time
 * (tinycompiler/codegen/weights_layout.py: depthwise_packed_weights, folded_bias):
 *   packed_filter  int16 [kh * kw * C], 4-byte aligned, channel-group major: for each full group of
 *                  four channels (c0..c3 = 4g..4g+3), for each tap t = ky * kw + kx in order, the four
 *                  weights as (c0, c2, c1, c3) (the lane order SXTB16 gives the input); then for each
 *                  of the C % 4 tail channels, its kh * kw taps in order;
 *   folded_bias    int32 [C] (required): bias[c] + input_offset * sum over taps of w[t][c].
 * Padded taps then contribute zero_point * w (= -input_offset * w), which is what the kernel
 * multiplies for them, so border pixels stay exact. `rq` (may be NULL): the folded requantization
 * constants per channel (tc_rq); NULL uses quant. Output in raster order; no scratch. */
int tc_depthwise_conv2d_packed_s8_applies(const tc_dw_conv_params *params, const tc_dims *input_dims,
                                          const tc_dims *filter_dims);
tc_status tc_depthwise_conv2d_packed_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                        const tc_rq *rq, const tc_dims *input_dims, const int8_t *input,
                                        const tc_dims *filter_dims, const int16_t *packed_filter,
                                        const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output);

/* Dispatcher: 3x3 fast path when it applies, else the reference. No scratch. */
tc_status tc_depthwise_wrapper_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                  const tc_dims *input_dims, const int8_t *input,
                                  const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                  const tc_dims *output_dims, int8_t *output);

/* In-place depthwise convolution (TinyEngine style): the output is written over the input.
 *
 * `data` holds the input tensor (input_dims) on entry and the output tensor (output_dims) on return,
 * both dense NHWC starting at `data`. Channel by channel, the kernel computes output channel c of
 * one image into `scratch` (out_h * out_w bytes), then stores it at the output positions of channel
 * c. Those bytes (p * C + c, p < out_h * out_w) are input bytes of channel c itself (same C, since
 * depth_multiplier == 1) which no later channel reads, and never bytes of a later image.
 *
 * Valid exactly when (checked, TC_ERROR_ARGUMENT otherwise):
 *   depth_multiplier == 1, output_dims->c == input_dims->c, output_dims->n == input_dims->n, and
 *   output_dims->h * output_dims->w <= input_dims->h * input_dims->w   (stride >= 1 with SAME or
 *   VALID padding always satisfies this).
 * Any kernel size, stride, dilation and padding are allowed.
 *
 * Planner contract: give the input and output tensors ONE shared arena buffer starting at the same
 * offset, of size n * in_h * in_w * C bytes (the input's size, which is >= the output's); the input
 * must be dead after this op (no other consumer reads it later, and it is not a graph output).
 * After the call, bytes past n * out_h * out_w * C of the buffer are garbage. Add a separate
 * scratch of tc_depthwise_inplace_scratch_bytes() bytes (no alignment requirement).
 * Results are bit-identical to tc_depthwise_conv2d_s8. */
tc_status tc_depthwise_conv2d_inplace_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                         const tc_dims *input_dims, const tc_dims *filter_dims,
                                         const int8_t *filter, const int32_t *bias,
                                         const tc_dims *output_dims, int8_t *data, int8_t *scratch);
int32_t tc_depthwise_inplace_scratch_bytes(const tc_dims *output_dims);

/* In-place depthwise on packed weights (the layout and folded bias of tc_depthwise_conv2d_packed_s8,
 * optional tc_rq) with a ring of pending outputs instead of a whole plane of scratch. Same buffer
 * contract and validity as tc_depthwise_conv2d_inplace_s8 (one shared buffer at the same offset, the
 * input dead after the op). Scratch: with R = tc_depthwise_inplace_ring_pixels(), scratch_bytes >= 4 * R
 * (4-byte aligned) runs four channels per pass (SXTB16 + SMLABB/SMLATT, as the packed kernel); R <=
 * scratch_bytes < 4 * R runs one channel per pass; less is TC_ERROR_ARGUMENT. Per channel group,
 * output pixels are computed in raster order and each is stored over its own input position once no
 * later pixel of the group reads that input pixel (see the .c file); R <= out_h * out_w always, and
 * about (kh / 2) * in_w + 2 for stride-1 SAME layers. Bit-identical to tc_depthwise_conv2d_s8. */
int32_t tc_depthwise_inplace_ring_pixels(const tc_dw_conv_params *params, const tc_dims *input_dims,
                                         const tc_dims *output_dims);
tc_status tc_depthwise_conv2d_inplace_packed_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                                const tc_rq *rq, const tc_dims *input_dims,
                                                const tc_dims *filter_dims, const int16_t *packed_filter,
                                                const int32_t *folded_bias, const tc_dims *output_dims,
                                                int8_t *data, int8_t *scratch, int32_t scratch_bytes);

/* ------------------------------------------------------------------------------------------ */
/* FULLY_CONNECTED                                                                              */

/* output[b, o] for b < batches, o < out_depth from input [batches, in_depth] and weights
 * [out_depth, in_depth]; bias [out_depth] or NULL. Per-tensor (params->per_channel == 0) or per
 * channel requantization. Uses SMLAD on DSP cores; no scratch. */
tc_status tc_fully_connected_s8(const tc_fc_params *params, const tc_per_channel_quant *quant,
                                int32_t batches, int32_t in_depth, int32_t out_depth,
                                const int8_t *input, const int8_t *weights, const int32_t *bias,
                                int8_t *output);

/* Packed FULLY_CONNECTED (what codegen uses): four output rows per pass over the int8 input, two rows
 * sharing each 16-bit weight lane (SMLAD + UXTB16), input offset folded into the bias, optional folded requantization (`rq`, may be NULL; with
 * params->per_channel == 0 row 0 of rq / quant serves every output). Weights prepared at compile time
 * (weights_layout.py: fc_packed_weights, folded_bias; layout in src/tc_fully_connected_packed_s8.c;
 * any int8 weights). No scratch. */
tc_status tc_fully_connected_packed_s8(const tc_fc_params *params, const tc_per_channel_quant *quant,
                                       const tc_rq *rq, int32_t batches, int32_t in_depth, int32_t out_depth,
                                       const int8_t *input, const int8_t *packed_weights,
                                       const int32_t *folded_bias, int8_t *output);

#endif /* TC_CONV_H */
