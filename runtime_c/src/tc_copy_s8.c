/* RESHAPE / SQUEEZE when the planner cannot alias the buffers: a plain (overlap-safe) copy. */
#include <string.h>

#include "tc_ops.h"

void tc_copy_s8(int32_t size, const int8_t *in, int8_t *out)
{
    if (size > 0 && in != out) {
        memmove(out, in, (size_t)size);
    }
}
