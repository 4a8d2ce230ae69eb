/* int8 CONV_2D dispatcher: picks a fast path with small predicates; the caller owns the scratch. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

typedef enum { TC_CONV_REF, TC_CONV_1X1, TC_CONV_RGB, TC_CONV_IM2COL } tc_conv_kind;

static tc_conv_kind tc_conv_choose(const tc_conv_params *params, const tc_dims *input_dims,
                                   const tc_dims *filter_dims)
{
    if (tc_conv2d_1x1_s8_applies(params, input_dims, filter_dims)) {
        return TC_CONV_1X1;
    }
    if (tc_conv2d_rgb_s8_applies(params, input_dims, filter_dims)) {
        return TC_CONV_RGB;
    }
    return TC_CONV_IM2COL;
}

int32_t tc_conv2d_s8_scratch_bytes(const tc_conv_params *params, const tc_dims *input_dims,
                                   const tc_dims *filter_dims, const tc_dims *output_dims)
{
    (void)output_dims;
    switch (tc_conv_choose(params, input_dims, filter_dims)) {
    case TC_CONV_1X1:
        return tc_conv2d_1x1_s8_scratch_bytes(input_dims, filter_dims);
    case TC_CONV_RGB:
        return tc_conv2d_rgb_s8_scratch_bytes(input_dims, filter_dims);
    case TC_CONV_IM2COL:
        return tc_conv2d_im2col_s8_scratch_bytes(input_dims, filter_dims);
    case TC_CONV_REF:
    default:
        return 0;
    }
}

tc_status tc_conv2d_wrapper_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                               const tc_dims *output_dims, int8_t *output, int16_t *scratch)
{
    if (params == NULL || input_dims == NULL || filter_dims == NULL) {
        return TC_ERROR_ARGUMENT;
    }
    const tc_conv_kind kind = scratch == NULL ? TC_CONV_REF : tc_conv_choose(params, input_dims, filter_dims);
    switch (kind) {
    case TC_CONV_1X1:
        return tc_conv2d_1x1_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                                output, scratch);
    case TC_CONV_RGB:
        return tc_conv2d_rgb_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                                output, scratch);
    case TC_CONV_IM2COL:
        return tc_conv2d_im2col_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                                   output, scratch);
    case TC_CONV_REF:
    default:
        return tc_conv2d_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output);
    }
}
