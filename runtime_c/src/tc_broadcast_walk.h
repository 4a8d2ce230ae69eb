/* Walking two broadcast inputs row by row (ADD, MUL): the innermost dimension is a strided row,
 * the outer dimensions advance like an odometer. Shared so both kernels broadcast identically. */
#ifndef TC_BROADCAST_WALK_H
#define TC_BROADCAST_WALK_H

#include "tc_ops.h"

typedef struct {
    const tc_broadcast *b;
    int32_t idx[TC_MAX_DIMS];
    int32_t off1, off2; /* element offsets of the current row in input 1 and input 2 */
    int32_t rows;       /* number of rows (product of the outer dims) */
} tc_broadcast_walk;

static inline void tc_broadcast_walk_start(tc_broadcast_walk *w, const tc_broadcast *b)
{
    w->b = b;
    w->off1 = 0;
    w->off2 = 0;
    w->rows = 1;
    for (int d = 0; d < TC_MAX_DIMS; ++d) {
        w->idx[d] = 0;
    }
    for (int d = 0; d < (int)b->rank - 1; ++d) {
        w->rows *= b->out_dims[d];
    }
}

/* Advance to the next row: the last outer index moves first, carrying into the ones before. */
static inline void tc_broadcast_walk_next(tc_broadcast_walk *w)
{
    const tc_broadcast *b = w->b;
    for (int d = (int)b->rank - 2; d >= 0; --d) {
        w->off1 += b->in1_strides[d];
        w->off2 += b->in2_strides[d];
        if (++w->idx[d] < b->out_dims[d]) {
            return;
        }
        w->off1 -= b->in1_strides[d] * b->out_dims[d];
        w->off2 -= b->in2_strides[d] * b->out_dims[d];
        w->idx[d] = 0;
    }
}

#endif /* TC_BROADCAST_WALK_H */
