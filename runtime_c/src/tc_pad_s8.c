/* PAD int8 with a constant (the output zero point), any rank up to TC_MAX_DIMS. */
#include <string.h>

#include "tc_ops.h"

/* Writes the padded block of dims [d, rank) and returns the number of bytes written. */
static size_t pad_block(const tc_pad_params *p, int d, const size_t *out_inner,
                        const size_t *in_inner, const int8_t *in, int8_t *out)
{
    const size_t before = (size_t)p->pad_before[d] * out_inner[d];
    const size_t after = (size_t)p->pad_after[d] * out_inner[d];
    const int8_t value = (int8_t)p->pad_value;
    size_t pos = 0;
    int32_t i;
    memset(out, value, before);
    pos += before;
    if (d == (int)p->rank - 1) {
        memcpy(out + pos, in, (size_t)p->in_dims[d]);
        pos += (size_t)p->in_dims[d];
    } else {
        for (i = 0; i < p->in_dims[d]; ++i) {
            pos += pad_block(p, d + 1, out_inner, in_inner, in + (size_t)i * in_inner[d], out + pos);
        }
    }
    memset(out + pos, value, after);
    return pos + after;
}

void tc_pad_s8(const tc_pad_params *p, const int8_t *in, int8_t *out)
{
    size_t out_inner[TC_MAX_DIMS]; /* output elements per step along dim d */
    size_t in_inner[TC_MAX_DIMS];
    size_t o = 1, n = 1;
    int d;
    for (d = (int)p->rank - 1; d >= 0; --d) {
        out_inner[d] = o;
        in_inner[d] = n;
        o *= (size_t)(p->in_dims[d] + p->pad_before[d] + p->pad_after[d]);
        n *= (size_t)p->in_dims[d];
    }
    (void)pad_block(p, 0, out_inner, in_inner, in, out);
}
