/* MEAN int8 over any axes, as TFLM's QuantizedMeanOrSum: an int32 sum per output, minus
 * zp_in * count, scaled by the (1/count-adjusted) multiplier, plus zp_out, clamped to int8. */
#include "tc_ops.h"
#include "tc_requant.h"

/* Sum of the reduced sub-tensor at `base`, in wrapping int32 arithmetic (as TFLM's). */
static uint32_t mean_sum(const tc_mean_params *p, const int8_t *base)
{
    const int rank = (int)p->red_rank;
    const int32_t inner = p->red_dims[rank - 1];
    const int32_t stride = p->red_strides[rank - 1];
    int32_t idx[TC_MAX_DIMS] = {0};
    int32_t outer = 1, off = 0, o, i;
    uint32_t sum = 0;
    int d;
    for (d = 0; d < rank - 1; ++d) {
        outer *= p->red_dims[d];
    }
    for (o = 0; o < outer; ++o) {
        const int8_t *row = base + off;
        int32_t acc = 0; /* one row of at most 2^23 int8 values cannot overflow */
        for (i = 0; i < inner; ++i) {
            acc += row[i * stride];
        }
        sum += (uint32_t)acc;
        for (d = rank - 2; d >= 0; --d) {
            off += p->red_strides[d];
            if (++idx[d] < p->red_dims[d]) {
                break;
            }
            off -= p->red_strides[d] * p->red_dims[d];
            idx[d] = 0;
        }
    }
    return sum;
}

void tc_mean_s8(const tc_mean_params *p, const int8_t *in, int8_t *out)
{
    const int rank = (int)p->out_rank;
    int32_t idx[TC_MAX_DIMS] = {0};
    int32_t total = 1, off = 0, o;
    int d;
    for (d = 0; d < rank; ++d) {
        total *= p->out_dims[d];
    }
    for (o = 0; o < total; ++o) {
        const int32_t shifted = (int32_t)(mean_sum(p, in + off) - (uint32_t)p->sum_offset);
        const int32_t v = tc_requantize(shifted, p->multiplier, p->shift) + p->output_zp;
        out[o] = (int8_t)tc_clamp(v, -128, 127);
        for (d = rank - 1; d >= 0; --d) {
            off += p->out_strides[d];
            if (++idx[d] < p->out_dims[d]) {
                break;
            }
            off -= p->out_strides[d] * p->out_dims[d];
            idx[d] = 0;
        }
    }
}
