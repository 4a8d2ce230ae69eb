/* DEQUANTIZE int8 -> float32 (TFLM: float(double(scale) * (x - zp))). The double product of a
 * float32 and a 9-bit integer is exact, so one float32 multiply rounds to the same value. */
#include "tc_ops.h"

void tc_dequantize_s8_f32(const tc_affine_params *p, int32_t size, const int8_t *in,
                          float *out)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        out[i] = p->scale * (float)((int32_t)in[i] - p->zero_point);
    }
}
