/* QUANTIZE float32 -> int8 (TFLM AffineQuantize): round_half_away(x / scale) + zp, clamped.
 * The division is in float32 as in TFLM; the rounding is exact and needs no libm. A quotient
 * outside int32 (or NaN) becomes INT32_MIN before the zero point is added with int32 wrap-around,
 * which is what the TFLM oracle (an x86 build) computes for those inputs. */
#include "tc_ops.h"

void tc_quantize_f32_s8(const tc_affine_params *p, int32_t size, const float *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const float q = in[i] / p->scale;
        int32_t r;
        if (!(q >= -2147483648.0f && q < 2147483648.0f)) {
            r = INT32_MIN;
        } else {
            const float frac = q - (float)(int32_t)q; /* exact; non-zero only when |q| < 2^23 */
            r = (int32_t)q;
            if (frac >= 0.5f) {
                r += 1;
            } else if (frac <= -0.5f) {
                r -= 1;
            }
        }
        r = (int32_t)((uint32_t)r + (uint32_t)p->zero_point);
        out[i] = (int8_t)(r < -128 ? -128 : (r > 127 ? 127 : r));
    }
}
