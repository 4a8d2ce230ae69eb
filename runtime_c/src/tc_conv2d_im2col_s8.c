/* int8 CONV_2D fast path for any geometry: per-pixel im2col into int16 + SMLAD dot products. */
#include "tc_conv.h"
#include "tc_conv_internal.h"

int32_t tc_conv2d_im2col_s8_scratch_bytes(const tc_dims *input_dims, const tc_dims *filter_dims)
{
    (void)input_dims;
    return 2 * filter_dims->h * filter_dims->w * filter_dims->c;
}

tc_status tc_conv2d_im2col_s8(const tc_conv_params *params, const tc_per_channel_quant *quant,
                              const tc_dims *input_dims, const int8_t *input,
                              const tc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                              const tc_dims *output_dims, int8_t *output, int16_t *scratch)
{
    if (!tc_conv_args_ok(params, quant, input_dims, input, filter_dims, filter, output_dims, output) ||
        scratch == NULL) {
        return TC_ERROR_ARGUMENT;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t k = k_h * k_w * in_c;
    const int32_t dil_h = params->dilation_h, dil_w = params->dilation_w;
    /* with in_c % 4 == 0 every tap starts a group of four: widen straight into the reordered layout */
    const int aligned = (in_c % 4) == 0;

    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)(in_h * in_w * in_c);
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * params->stride_h - params->pad_top;
            int32_t ky0, ky1;
            tc_valid_taps(iy0, dil_h, k_h, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * params->stride_w - params->pad_left;
                int32_t kx0, kx1;
                tc_valid_taps(ix0, dil_w, k_w, in_w, &kx0, &kx1);
                if (ky0 > 0 || ky1 < k_h || kx0 > 0 || kx1 < k_w) {
                    memset(scratch, 0, (size_t)k * sizeof(int16_t));
                }
                for (int32_t ky = ky0; ky < ky1; ++ky) {
                    const int32_t iy = iy0 + ky * dil_h;
                    for (int32_t kx = kx0; kx < kx1; ++kx) {
                        int16_t *dst = scratch + (ky * k_w + kx) * in_c;
                        const int8_t *src = in_b + (iy * in_w + ix0 + kx * dil_w) * in_c;
                        if (aligned) {
                            (void)tc_widen_s8_offset(src, dst, in_c, params->input_offset);
                        } else {
                            tc_widen_natural(src, dst, in_c, params->input_offset);
                        }
                    }
                }
                if (!aligned) {
                    tc_reorder_column(scratch, k);
                }
                tc_conv_column_outputs(scratch, k, filter, bias, out_c, quant, params, output);
                output += out_c;
            }
        }
    }
    return TC_OK;
}
