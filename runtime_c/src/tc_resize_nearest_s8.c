/* RESIZE_NEAREST_NEIGHBOR int8, NHWC, with TFLM's float index arithmetic reproduced exactly
 * (float32 scale and product; floor, or round-half-away with align_corners). */
#include <string.h>

#include "tc_ops.h"

/* The source index for output index `o`; `v` is never negative so truncation is floor. */
static int32_t nearest_index(int32_t o, int32_t in_size, int32_t out_size, int32_t align_corners,
                             int32_t half_pixel_centers)
{
    const float scale = (align_corners && out_size > 1)
                            ? (float)(in_size - 1) / (float)(out_size - 1)
                            : (float)in_size / (float)out_size;
    const float offset = half_pixel_centers ? 0.5f : 0.0f;
    const float v = ((float)o + offset) * scale;
    int32_t idx = (int32_t)v;
    if (align_corners && v - (float)idx >= 0.5f) { /* v - trunc(v) is exact */
        idx += 1;
    }
    if (idx > in_size - 1) {
        idx = in_size - 1;
    }
    if (half_pixel_centers && idx < 0) {
        idx = 0;
    }
    return idx;
}

void tc_resize_nearest_s8(const tc_resize_params *p, const tc_dims *in_dims, const int8_t *in,
                          const tc_dims *out_dims, int8_t *out)
{
    const size_t depth = (size_t)in_dims->c;
    const size_t row = (size_t)in_dims->w * depth;
    const size_t batch = (size_t)in_dims->h * row;
    int32_t b, y, x;
    for (b = 0; b < out_dims->n; ++b) {
        const int8_t *in_b = in + (size_t)b * batch;
        for (y = 0; y < out_dims->h; ++y) {
            const int32_t iy = nearest_index(y, in_dims->h, out_dims->h, p->align_corners,
                                             p->half_pixel_centers);
            const int8_t *in_row = in_b + (size_t)iy * row;
            for (x = 0; x < out_dims->w; ++x) {
                const int32_t ix = nearest_index(x, in_dims->w, out_dims->w, p->align_corners,
                                                 p->half_pixel_centers);
                memcpy(out, in_row + (size_t)ix * depth, depth);
                out += depth;
            }
        }
    }
}
