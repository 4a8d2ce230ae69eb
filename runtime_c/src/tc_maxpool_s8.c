/* MAX_POOL_2D int8, NHWC (reference_integer_ops::MaxPool): max over the window clipped to the
 * input, then the activation clamp. */
#include "tc_ops.h"
#include "tc_requant.h"

void tc_maxpool_s8(const tc_pool_params *p, const tc_dims *in_dims, const int8_t *in,
                   const tc_dims *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    int32_t b, oy, ox, ch, fy, fx;
    for (b = 0; b < out_dims->n; ++b) {
        const int8_t *in_b = in + (size_t)b * (size_t)(in_h * in_w * depth);
        for (oy = 0; oy < out_dims->h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t fy_start = y0 < 0 ? -y0 : 0;
            const int32_t fy_end = p->filter_h < in_h - y0 ? p->filter_h : in_h - y0;
            for (ox = 0; ox < out_dims->w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t fx_start = x0 < 0 ? -x0 : 0;
                const int32_t fx_end = p->filter_w < in_w - x0 ? p->filter_w : in_w - x0;
                for (ch = 0; ch < depth; ++ch) {
                    int32_t m = -128;
                    for (fy = fy_start; fy < fy_end; ++fy) {
                        const int8_t *row = in_b + ((size_t)(y0 + fy) * (size_t)in_w) * (size_t)depth;
                        for (fx = fx_start; fx < fx_end; ++fx) {
                            const int32_t v = row[(size_t)(x0 + fx) * (size_t)depth + (size_t)ch];
                            m = v > m ? v : m;
                        }
                    }
                    *out++ = (int8_t)tc_clamp(m, p->act_min, p->act_max);
                }
            }
        }
    }
}
