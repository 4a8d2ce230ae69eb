/* int8 DEPTHWISE_CONV_2D fast path on compile-time packed weights (depth multiplier 1, any kernel,
 * stride, dilation and padding); see tc_conv.h for the packed layout and the folded bias.
 *
 * Four channels per step: one LDR of the input, SXTB16 / SXTB16 ROR #8 split it into (c0, c2) and
 * (c1, c3) int16 lanes, the packed int16 weights are already in that order, and SMLABB / SMLATT
 * accumulate each lane separately. The input offset lives in the folded bias, so the inner loop adds
 * nothing; padded taps (border pixels only) multiply the input zero point instead. Interior pixels
 * of 3x3 / 5x5 / 7x7 filters run fully unrolled tap loops, and the requantization uses the folded
 * compile-time constants (tc_rq) when given.
 *
 * Output is written in raster order (pixel by pixel, NHWC), each pixel after its whole receptive
 * field has been read. */
#include "tc_conv.h"
#include "tc_conv_internal.h"
#include "tc_dw_packed_body.h"

int tc_depthwise_conv2d_packed_s8_applies(const tc_dw_conv_params *params, const tc_dims *input_dims,
                                          const tc_dims *filter_dims)
{
    (void)input_dims;
    (void)filter_dims;
    return params->depth_multiplier == 1;
}

tc_status tc_depthwise_conv2d_packed_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                        const tc_rq *rq, const tc_dims *input_dims, const int8_t *input,
                                        const tc_dims *filter_dims, const int16_t *packed_filter,
                                        const int32_t *folded_bias, const tc_dims *output_dims, int8_t *output)
{
    if (!tc_rq_or_quant_ok(rq, quant) ||
        !tc_dw_shapes_ok(params, input_dims, filter_dims, packed_filter, output_dims) || input == NULL ||
        output == NULL || folded_bias == NULL || params->depth_multiplier != 1) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    const int unit = params->dilation_h == 1 && params->dilation_w == 1;
    if (unit && kh == 3 && kw == 3) {
        tc_dw_packed_body(params, quant, rq, input_dims, input, packed_filter, folded_bias, output_dims, output,
                          input_dims->c, 3, 3, 1, 1);
    } else if (unit && kh == 5 && kw == 5) {
        tc_dw_packed_body(params, quant, rq, input_dims, input, packed_filter, folded_bias, output_dims, output,
                          input_dims->c, 5, 5, 1, 1);
    } else if (unit && kh == 7 && kw == 7) {
        tc_dw_packed_body(params, quant, rq, input_dims, input, packed_filter, folded_bias, output_dims, output,
                          input_dims->c, 7, 7, 1, 1);
    } else {
        tc_dw_packed_body(params, quant, rq, input_dims, input, packed_filter, folded_bias, output_dims, output,
                          input_dims->c, kh, kw, params->dilation_h, params->dilation_w);
    }
    return TC_OK;
}
