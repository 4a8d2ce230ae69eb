// TFLM + CMSIS-NN baseline firmware (benchmarks/tflm_baseline.py): one model, one arena, Invoke()
// timed with the board port's counter, the count printed on the console, then exit (semihosting).
// Built outside the repository against fetched TFLM and CMSIS-NN sources; no tinycompiler code runs.
#include <stdint.h>
#include <stdio.h>

#include "model_data.h"
#include "tc_port.h"
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

alignas(16) static uint8_t arena[TC_BASELINE_ARENA_BYTES];

static void put(const char *s)
{
    while (*s) {
        tc_port_putc((uint8_t)*s++);
    }
}

// TFLM's DebugLog goes to the console too, so an error says why
static void log_line(const char *s)
{
    put(s);
}

extern "C" void tc_semihosting_exit(int code);

static int run_model(void)
{
    tc_port_init();
    RegisterDebugLogCallback(log_line);
    tflite::MicroMutableOpResolver<24> ops;  // locals: no static destructors to register
    ops.AddConv2D();
    ops.AddDepthwiseConv2D();
    ops.AddFullyConnected();
    ops.AddAdd();
    ops.AddMul();
    ops.AddAveragePool2D();
    ops.AddMaxPool2D();
    ops.AddMean();
    ops.AddPad();
    ops.AddReshape();
    ops.AddSqueeze();
    ops.AddSoftmax();
    ops.AddLogSoftmax();
    ops.AddLogistic();
    ops.AddHardSwish();
    ops.AddRelu();
    ops.AddRelu6();
    ops.AddConcatenation();
    ops.AddTranspose();
    ops.AddResizeNearestNeighbor();
    ops.AddQuantize();
    ops.AddDequantize();
    ops.AddTanh();
    const tflite::Model *model = tflite::GetModel(tc_baseline_model);
    tflite::MicroInterpreter interpreter(model, ops, arena, sizeof arena);
    char line[96];
    if (interpreter.AllocateTensors() != kTfLiteOk) {
        put("TC_BASELINE ERROR AllocateTensors\n");
        return 1;
    }
    for (size_t i = 0; i < interpreter.inputs_size(); ++i) {  // zeros: the counts do not depend on data
        TfLiteTensor *t = interpreter.input(i);
        for (size_t k = 0; k < t->bytes; ++k) {
            t->data.raw[k] = 0;
        }
    }
    uint32_t ticks[2];
    for (int run = 0; run < 2; ++run) {  // the second Invoke is the one reported (the first warms up)
        const uint32_t t0 = tc_port_ticks();
        const TfLiteStatus s = interpreter.Invoke();
        ticks[run] = tc_port_ticks() - t0;
        if (s != kTfLiteOk) {
            put("TC_BASELINE ERROR Invoke\n");
            return 1;
        }
    }
    snprintf(line, sizeof line, "TC_BASELINE ticks %lu %lu arena_used %lu\n", (unsigned long)ticks[0],
             (unsigned long)ticks[1], (unsigned long)interpreter.arena_used_bytes());
    put(line);
    return 0;
}

// The board port's main() calls the harness entry; here it runs the model once and ends QEMU.
extern "C" void tc_harness_run(void)
{
    tc_semihosting_exit(run_model());
    for (;;) {
    }
}
