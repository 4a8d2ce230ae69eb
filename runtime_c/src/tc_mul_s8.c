/* MUL int8 with TFLM's broadcasting and fused activation (reference_integer_ops::Mul). */
#include "tc_broadcast_walk.h"
#include "tc_ops.h"
#include "tc_requant.h"

static inline int8_t mul_one(const tc_mul_params *p, int8_t a, int8_t b)
{
    const int32_t prod = (p->input1_offset + a) * (p->input2_offset + b); /* |.| <= 255*255 */
    const int32_t raw = p->output_offset + tc_requantize(prod, p->output_multiplier, p->output_shift);
    return (int8_t)tc_clamp(raw, p->act_min, p->act_max);
}

void tc_mul_s8(const tc_mul_params *p, const tc_broadcast *b, const int8_t *in1,
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
            *out++ = mul_one(p, a[i * is1], c[i * is2]);
        }
        tc_broadcast_walk_next(&w);
    }
}
