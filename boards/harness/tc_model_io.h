/* The model seen by the protocol: inputs written straight into their tensors in the arena,
 * inference with timing, per-layer ticks, and the outputs dequantized.
 *
 * There is no staging copy of the inputs (it would cost as much RAM as the inputs beside the
 * arena): the host's bytes go where the model reads them. The inference may overwrite them (the
 * planner reuses dead bytes), so a second run on the same input needs the input again; the CRC
 * of what the inputs hold (tc_input_crc) tells whether they are still the host's. */
#ifndef TC_MODEL_IO_H
#define TC_MODEL_IO_H

#include <stdint.h>

#include "model.h"

/* bytes the host writes: float32 values for an input quantized as it is written (model.h) */
#define TC_INPUT_TOTAL_BYTES (MODEL_INPUT_WRITE_TOTAL_BYTES)
#define TC_NUM_LAYERS (MODEL_NUM_LAYERS > 0 ? MODEL_NUM_LAYERS : 1)

/* Write n bytes at `offset` of the inputs seen back to back in input order (`db`, WRITE_INPUT,
 * preloaded samples); returns the bytes written. Marks the outputs stale. */
uint32_t tc_input_write(uint32_t offset, const uint8_t *data, uint32_t n);
/* CRC-32 of every input tensor's bytes as stored (quantized, for a WRITTEN input), back to back. */
uint32_t tc_input_crc(void);
/* Ticks of each layer in the last inference (TC_LAYER_BEGIN/END hooks). */
extern uint32_t tc_layer_ticks[TC_NUM_LAYERS];

/* element type codes (TC_DT_*) of each input and output */
extern const uint8_t tc_input_dtypes[];
extern const uint8_t tc_output_dtypes[];

uint32_t tc_output_total_bytes(void);

/* Run model_invoke() once on what the input tensors hold, return its status (0 ok,
 * layer + 1 if a kernel refused, -1 if the arena guard was overwritten). *ticks = the invoke's ticks. */
int32_t tc_model_run(uint32_t *ticks);

/* True once an inference has run: outputs in the arena are meaningful. */
int tc_model_has_outputs(void);

/* Element count of output i and element j dequantized (int8: scale * (q - zero point); float as is). */
uint32_t tc_output_elements(int i);
float tc_output_value(int i, uint32_t j);
/* the scale and zero point of output i (model.h) */
float tc_output_scale(int i);
int32_t tc_output_zero_point(int i);

#endif /* TC_MODEL_IO_H */
