/* ADD int8 with TFLM's broadcasting and fused activation (reference_integer_ops::AddFunc). */
#include "tc_broadcast_walk.h"
#include "tc_ops.h"
#include "tc_requant.h"

/* TFLM's MultiplyByQuantizedMultiplierSmallerThanOneExp (shift <= 0). */
static inline int32_t add_scale(int32_t x, int32_t multiplier, int32_t shift)
{
    return tc_rounding_divide_by_pot(tc_sat_rounding_doubling_high_mul(x, multiplier), -shift);
}

static inline int8_t add_one(const tc_add_params *p, int8_t a, int8_t b)
{
    /* |x + offset| <= 255, so << 20 stays inside int32 */
    const int32_t x1 = (p->input1_offset + a) * (1 << p->left_shift);
    const int32_t x2 = (p->input2_offset + b) * (1 << p->left_shift);
    const int32_t s1 = add_scale(x1, p->input1_multiplier, p->input1_shift);
    const int32_t s2 = add_scale(x2, p->input2_multiplier, p->input2_shift);
    const int32_t raw = add_scale(s1 + s2, p->output_multiplier, p->output_shift) + p->output_offset;
    return (int8_t)tc_clamp(raw, p->act_min, p->act_max);
}

void tc_add_s8(const tc_add_params *p, const tc_broadcast *b, const int8_t *in1,
               const int8_t *in2, int8_t *out)
{
    const int32_t inner = b->out_dims[b->rank - 1];
    const int32_t is1 = b->in1_strides[b->rank - 1];
    const int32_t is2 = b->in2_strides[b->rank - 1];
    tc_broadcast_walk w;
    tc_broadcast_walk_start(&w, b);
    for (int32_t r = 0; r < w.rows; ++r) {
        const int8_t *a = in1 + w.off1;
        const int8_t *c = in2 + w.off2;
        for (int32_t i = 0; i < inner; ++i) {
            *out++ = add_one(p, a[i * is1], c[i * is2]);
        }
        tc_broadcast_walk_next(&w);
    }
}
