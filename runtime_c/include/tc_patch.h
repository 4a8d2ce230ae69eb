/* Patch-based inference (MCUNetV2): moving one patch between a full NHWC tensor and a dense
 * patch buffer. The generated model runs the first stage of a network patch by patch: it copies
 * each patch's receptive field of the stage input into a dense buffer, runs the stage kernels on
 * it, and copies the resulting patch into the full split tensor (tinycompiler/plan/patch.py). */
#ifndef TC_PATCH_H
#define TC_PATCH_H

#include <stdint.h>

/* A rectangle of an NHWC tensor (batch 1): rows [y, y + h), columns [x, x + w). */
typedef struct {
    int32_t y, x, h, w;
} tc_patch_region;

/* Copy an h x w window of c-channel int8 pixels from `src` (an image `src_w` pixels wide, window
 * at row src_y, column src_x) to `dst` (`dst_w` pixels wide, at dst_y, dst_x). One memcpy per
 * row: both images are dense NHWC, so a window row is contiguous. The buffers must not overlap. */
void tc_copy_region_s8(const int8_t *src, int32_t src_w, int32_t src_y, int32_t src_x,
                       int8_t *dst, int32_t dst_w, int32_t dst_y, int32_t dst_x,
                       int32_t h, int32_t w, int32_t c);

/* Gather an h x w window (rows from y, columns from x) of a c-channel NCHW int8 tensor `src`
 * (height src_h, width src_w, batch 1) into `dst` as dense NHWC: the TRANSPOSE NCHW -> NHWC
 * fused into a patch stage's reads, so the transposed full tensor never exists. */
void tc_copy_region_nchw_s8(const int8_t *src, int32_t src_h, int32_t src_w, int32_t y, int32_t x,
                            int8_t *dst, int32_t h, int32_t w, int32_t c);

#endif /* TC_PATCH_H */
