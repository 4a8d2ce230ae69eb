/* int8 DEPTHWISE_CONV_2D dispatcher: the 3x3 fast path when it applies, else the reference. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

tc_status tc_depthwise_wrapper_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                  const tc_dims *input_dims, const int8_t *input,
                                  const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                  const tc_dims *output_dims, int8_t *output)
{
    if (params == NULL || input_dims == NULL || filter_dims == NULL) {
        return TC_ERROR_ARGUMENT;
    }
    if (tc_depthwise_conv2d_3x3_s8_applies(params, input_dims, filter_dims)) {
        return tc_depthwise_conv2d_3x3_s8(params, quant, input_dims, input, filter_dims, filter, bias,
                                          output_dims, output);
    }
    return tc_depthwise_conv2d_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                                  output);
}
