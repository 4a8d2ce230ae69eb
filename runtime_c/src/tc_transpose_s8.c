/* TRANSPOSE int8: a strided gather, the output written in row-major order. */
#include "tc_ops.h"

void tc_transpose_s8(const tc_transpose_params *p, const int8_t *in, int8_t *out)
{
    const int rank = (int)p->rank;
    const int32_t inner = p->out_dims[rank - 1];
    const int32_t stride = p->in_strides[rank - 1];
    int32_t idx[TC_MAX_DIMS] = {0};
    int32_t outer = 1, off = 0, o, i;
    int d;
    for (d = 0; d < rank - 1; ++d) {
        outer *= p->out_dims[d];
    }
    for (o = 0; o < outer; ++o) {
        const int8_t *src = in + off;
        for (i = 0; i < inner; ++i) {
            *out++ = src[i * stride];
        }
        for (d = rank - 2; d >= 0; --d) {
            off += p->in_strides[d];
            if (++idx[d] < p->out_dims[d]) {
                break;
            }
            off -= p->in_strides[d] * p->out_dims[d];
            idx[d] = 0;
        }
    }
}
