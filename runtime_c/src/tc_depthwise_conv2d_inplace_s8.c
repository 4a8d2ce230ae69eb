/* In-place int8 DEPTHWISE_CONV_2D (depth multiplier 1): the output overwrites the input buffer.
 * See tc_conv.h for when it is valid and how the planner sizes the shared buffer. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

int32_t tc_depthwise_inplace_scratch_bytes(const tc_dims *output_dims)
{
    return output_dims->h * output_dims->w;
}

tc_status tc_depthwise_conv2d_inplace_s8(const tc_dw_conv_params *params, const tc_per_channel_quant *quant,
                                         const tc_dims *input_dims, const tc_dims *filter_dims,
                                         const int8_t *filter, const int32_t *bias,
                                         const tc_dims *output_dims, int8_t *data, int8_t *scratch)
{
    if (!tc_dw_args_ok(params, quant, input_dims, filter_dims, filter, output_dims) || data == NULL ||
        scratch == NULL || params->depth_multiplier != 1 ||
        output_dims->h * output_dims->w > input_dims->h * input_dims->w) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t dil_h = params->dilation_h, dil_w = params->dilation_w;
    const int32_t off = params->input_offset;

    for (int32_t b = 0; b < input_dims->n; ++b) {
        /* image b's input starts at b * in_hw * ch, its output at b * out_hw * ch (<= the former) */
        const int8_t *in_b = data + (size_t)b * (size_t)(in_h * in_w * ch);
        int8_t *out_b = data + (size_t)b * (size_t)(out_h * out_w * ch);
        for (int32_t c = 0; c < ch; ++c) {
            const int8_t *x_c = in_b + c;
            int8_t *t = scratch;
            for (int32_t oy = 0; oy < out_h; ++oy) {
                const int32_t iy0 = oy * params->stride_h - params->pad_top;
                int32_t ky0, ky1;
                tc_valid_taps(iy0, dil_h, k_h, in_h, &ky0, &ky1);
                for (int32_t ox = 0; ox < out_w; ++ox) {
                    const int32_t ix0 = ox * params->stride_w - params->pad_left;
                    int32_t kx0, kx1;
                    tc_valid_taps(ix0, dil_w, k_w, in_w, &kx0, &kx1);
                    int32_t acc = bias != NULL ? bias[c] : 0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int32_t iy = iy0 + ky * dil_h;
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const int32_t ix = ix0 + kx * dil_w;
                            acc += (x_c[(iy * in_w + ix) * ch] + off) * filter[(ky * k_w + kx) * ch + c];
                        }
                    }
                    *t++ = tc_conv_output(acc, quant->multiplier[c], quant->shift[c], params->output_offset,
                                          params->act);
                }
            }
            /* channel c of the input is dead now: store the plane over it */
            const int32_t n_out = out_h * out_w;
            for (int32_t p = 0; p < n_out; ++p) {
                out_b[p * ch + c] = scratch[p];
            }
        }
    }
    return TC_OK;
}
