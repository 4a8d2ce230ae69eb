#include "tc_model_io.h"

#include <string.h>

#include "tc_crc32.h"
#include "tc_model_info.h"
#include "tc_port.h"

uint32_t tc_layer_ticks[TC_NUM_LAYERS];

static uint32_t layer_start;
static int has_outputs;

/* The hooks of tc_layer_hooks.h, called from model.c around every kernel call. */
void tc_layer_begin(int index)
{
    (void)index;
    layer_start = tc_port_ticks();
}

void tc_layer_end(int index)
{
    if (index >= 0 && index < TC_NUM_LAYERS) {
        tc_layer_ticks[index] = tc_port_ticks() - layer_start;
    }
}

/* Quantization of each output (model.h) and its element type (tc_model_info.h). */
static const float out_scale[MODEL_NUM_OUTPUTS > 0 ? MODEL_NUM_OUTPUTS : 1] = {
#ifdef MODEL_OUTPUT0_SCALE
    MODEL_OUTPUT0_SCALE,
#endif
#ifdef MODEL_OUTPUT1_SCALE
    MODEL_OUTPUT1_SCALE,
#endif
#ifdef MODEL_OUTPUT2_SCALE
    MODEL_OUTPUT2_SCALE,
#endif
#ifdef MODEL_OUTPUT3_SCALE
    MODEL_OUTPUT3_SCALE,
#endif
};
static const int32_t out_zero_point[MODEL_NUM_OUTPUTS > 0 ? MODEL_NUM_OUTPUTS : 1] = {
#ifdef MODEL_OUTPUT0_SCALE
    MODEL_OUTPUT0_ZERO_POINT,
#endif
#ifdef MODEL_OUTPUT1_SCALE
    MODEL_OUTPUT1_ZERO_POINT,
#endif
#ifdef MODEL_OUTPUT2_SCALE
    MODEL_OUTPUT2_ZERO_POINT,
#endif
#ifdef MODEL_OUTPUT3_SCALE
    MODEL_OUTPUT3_ZERO_POINT,
#endif
};
const uint8_t tc_input_dtypes[MODEL_NUM_INPUTS > 0 ? MODEL_NUM_INPUTS : 1] = TC_INPUT_DTYPES;
const uint8_t tc_output_dtypes[MODEL_NUM_OUTPUTS > 0 ? MODEL_NUM_OUTPUTS : 1] = TC_OUTPUT_DTYPES;

static uint32_t dtype_bytes(uint8_t dt)
{
    return dt == TC_DT_INT16 ? 2u : (dt == TC_DT_INT32 || dt == TC_DT_FLOAT32) ? 4u : 1u;
}

uint32_t tc_output_total_bytes(void)
{
    uint32_t n = 0;
    for (int i = 0; i < MODEL_NUM_OUTPUTS; ++i) {
        n += model_output_bytes(i);
    }
    return n;
}

uint32_t tc_input_write(uint32_t offset, const uint8_t *data, uint32_t n)
{
    uint32_t base = 0, done = 0;
    /* the inputs may share arena bytes with the last outputs: once written, those are stale */
    has_outputs = 0;
    for (int i = 0; i < MODEL_NUM_INPUTS && done < n; ++i) {
        uint32_t size = model_input_write_bytes(i);
        if (offset + done < base + size) {
            uint32_t from = offset + done - base;
            uint32_t take = size - from < n - done ? size - from : n - done;
            done += model_input_write(i, from, data + done, take);
        }
        base += size;
    }
    return done;
}

uint32_t tc_input_crc(void)
{
    uint32_t crc = 0;
    for (int i = 0; i < MODEL_NUM_INPUTS; ++i) {
        crc = tc_crc32_update(crc, (const uint8_t *)model_input(i), model_input_bytes(i));
    }
    return crc;
}

int32_t tc_model_run(uint32_t *ticks)
{
    uint32_t t0 = tc_port_ticks();
    int status = model_invoke();
    *ticks = tc_port_ticks() - t0;
    has_outputs = 1;
    return (int32_t)status;
}

int tc_model_has_outputs(void)
{
    return has_outputs;
}

uint32_t tc_output_elements(int i)
{
    return model_output_bytes(i) / dtype_bytes(tc_output_dtypes[i]);
}

float tc_output_value(int i, uint32_t j)
{
    const uint8_t *p = (const uint8_t *)model_output(i);
    int32_t q;
    switch (tc_output_dtypes[i]) {
    case TC_DT_FLOAT32: {
        float v;
        memcpy(&v, p + 4u * j, sizeof v);
        return v;
    }
    case TC_DT_UINT8:
        q = p[j];
        break;
    case TC_DT_INT16: {
        int16_t v;
        memcpy(&v, p + 2u * j, sizeof v);
        q = v;
        break;
    }
    case TC_DT_INT32:
        memcpy(&q, p + 4u * j, sizeof q);
        break;
    default:
        q = (int8_t)p[j];
        break;
    }
    return out_scale[i] * (float)(q - out_zero_point[i]);
}

float tc_output_scale(int i)
{
    return out_scale[i];
}

int32_t tc_output_zero_point(int i)
{
    return out_zero_point[i];
}
