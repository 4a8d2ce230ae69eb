/* ADD int8 with TFLM's broadcasting and fused activation (reference_integer_ops::AddFunc). */
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
            *out++ = add_one(p, a[i * is1], c[i * is2]);
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
