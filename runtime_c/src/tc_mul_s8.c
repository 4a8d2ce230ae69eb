/* MUL int8 with TFLM's broadcasting and fused activation (reference_integer_ops::Mul). */
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
    const int rank = (int)b->rank;
    const int32_t inner = b->out_dims[rank - 1];
    const int32_t is1 = b->in1_strides[rank - 1];
    const int32_t is2 = b->in2_strides[rank - 1];
    int32_t idx[TC_MAX_DIMS] = {0};
    int32_t outer = 1;
    int32_t off1 = 0, off2 = 0, o, i;
    int d;
    for (d = 0; d < rank - 1; ++d) {
        outer *= b->out_dims[d];
    }
    for (o = 0; o < outer; ++o) {
        const int8_t *a = in1 + off1;
        const int8_t *c = in2 + off2;
        for (i = 0; i < inner; ++i) {
            *out++ = mul_one(p, a[i * is1], c[i * is2]);
        }
        for (d = rank - 2; d >= 0; --d) {
            off1 += b->in1_strides[d];
            off2 += b->in2_strides[d];
            if (++idx[d] < b->out_dims[d]) {
                break;
            }
            off1 -= b->in1_strides[d] * b->out_dims[d];
            off2 -= b->in2_strides[d] * b->out_dims[d];
            idx[d] = 0;
        }
    }
}
