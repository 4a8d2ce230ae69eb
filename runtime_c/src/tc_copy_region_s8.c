/* Patch copies between a full NHWC (or NCHW, read only) tensor and a dense patch buffer (see tc_patch.h). */
#include <string.h>

#include "tc_patch.h"

void tc_copy_region_s8(const int8_t *src, int32_t src_w, int32_t src_y, int32_t src_x,
                       int8_t *dst, int32_t dst_w, int32_t dst_y, int32_t dst_x,
                       int32_t h, int32_t w, int32_t c)
{
    const size_t row_bytes = (size_t)w * (size_t)c;
    for (int32_t r = 0; r < h; ++r) {
        const int8_t *s = src + ((size_t)(src_y + r) * (size_t)src_w + (size_t)src_x) * (size_t)c;
        int8_t *d = dst + ((size_t)(dst_y + r) * (size_t)dst_w + (size_t)dst_x) * (size_t)c;
        memcpy(d, s, row_bytes);
    }
}

void tc_copy_region_nchw_s8(const int8_t *src, int32_t src_h, int32_t src_w, int32_t y, int32_t x,
                            int8_t *dst, int32_t h, int32_t w, int32_t c)
{
    const size_t plane = (size_t)src_h * (size_t)src_w;
    /* channel-outer: each channel's window rows are contiguous runs of the source */
    for (int32_t ch = 0; ch < c; ++ch) {
        const int8_t *s = src + (size_t)ch * plane + (size_t)y * (size_t)src_w + (size_t)x;
        int8_t *d = dst + ch;
        for (int32_t r = 0; r < h; ++r) {
            for (int32_t col = 0; col < w; ++col) {
                d[((size_t)r * (size_t)w + (size_t)col) * (size_t)c] = s[col];
            }
            s += src_w;
        }
    }
}
