/* Types shared by every kernel of the runtime: tensor dims and quantization parameters.
 * Kernels take caller-owned buffers only; nothing here allocates. */
#ifndef TC_TYPES_H
#define TC_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* An NHWC shape. Rank < 4 tensors use leading 1s. */
typedef struct {
    int32_t n, h, w, c;
} tc_dims;

/* Per-output-channel requantization (TFLM's QuantizeMultiplier result per channel). */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
} tc_per_channel_quant;

/* Clamp range of the fused activation, in output quantized units. */
typedef struct {
    int32_t min, max;
} tc_act_range;

/* Status returned by kernels that can refuse their arguments (e.g. a missing scratch buffer). */
typedef enum {
    TC_OK = 0,
    TC_ERROR_ARGUMENT = -1
} tc_status;

#endif /* TC_TYPES_H */
