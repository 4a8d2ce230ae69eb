/* CONCATENATION int8 (TFLM: inputs share the output quantization, so rows are copied); an input
 * with its own quantization is requantized as int8->int8 QUANTIZE does. */
#include <string.h>

#include "tc_ops.h"
#include "tc_requant.h"

void tc_concat_s8(const tc_concat_params *p, const int8_t *const *inputs, int8_t *out)
{
    int32_t k, i, j;
    for (k = 0; k < p->outer_size; ++k) {
        for (i = 0; i < p->num_inputs; ++i) {
            const int32_t n = p->copy_sizes[i];
            const int8_t *src = inputs[i] + (size_t)k * (size_t)n;
            const tc_requant_params *r = p->requant != NULL ? &p->requant[i] : NULL;
            if (r == NULL || r->multiplier == 0) {
                memcpy(out, src, (size_t)n);
            } else {
                for (j = 0; j < n; ++j) {
                    const int32_t v = tc_requantize(src[j] - r->input_zp, r->multiplier, r->shift)
                                      + r->output_zp;
                    out[j] = (int8_t)tc_clamp(v, -128, 127);
                }
            }
            out += n;
        }
    }
}
