/* Binary commands (PROTOCOL.md): HELLO, WRITE_INPUT, INFER, READ_OUTPUT, READ_LAYERS, RESET, STATS.
 * Every request is idempotent, so the host may resend one whose reply it did not get. */
#include <stdint.h>
#include <string.h>

#include "tc_commands.h"
#include "tc_crc32.h"
#include "tc_model_info.h"
#include "tc_model_io.h"
#include "tc_port.h"
#include "tc_stack.h"

enum {
    CMD_HELLO = 0x01,
    CMD_WRITE_INPUT = 0x02,
    CMD_INFER = 0x03,
    CMD_READ_OUTPUT = 0x04,
    CMD_READ_LAYERS = 0x05,
    CMD_RESET = 0x06,
    CMD_STATS = 0x07,
    REPLY_OK = 0x80, /* reply type = request type | 0x80 */
    REPLY_BUSY = 0xEB, /* INFER accepted and running: the host may now wait as long as a model takes */
    REPLY_ERROR = 0xEE,
    REPLY_NAK = 0xEF,
};

enum {
    ERR_UNKNOWN_COMMAND = 1,
    ERR_BAD_LENGTH = 2,
    ERR_OUT_OF_RANGE = 3,
    ERR_INPUT_CRC = 4,
    ERR_NO_OUTPUTS = 5,
    ERR_NO_PRELOAD = 6,
};

#ifdef TC_ARENA_GUARD
#define TC_FLAG_GUARD 1u
#else
#define TC_FLAG_GUARD 0u
#endif
#define TC_FLAG_LAYER_TIMING 2u

static void error_reply(const tc_frame *f, uint8_t code, const char *msg)
{
    uint16_t n = (uint16_t)strlen(msg);
    tc_frame_begin(REPLY_ERROR, f->seq, (uint16_t)(2u + n));
    tc_frame_write_u8(code);
    tc_frame_write_u8(f->type);
    tc_frame_write(msg, n);
    tc_frame_end();
}

void tc_binary_nak(uint8_t seq, uint8_t reason)
{
    tc_frame_begin(REPLY_NAK, seq, 1u);
    tc_frame_write_u8(reason);
    tc_frame_end();
}

static void hello(const tc_frame *f)
{
    static const char name[] = TC_MODEL_NAME;
    uint16_t name_len = (uint16_t)(sizeof name - 1u);
    uint16_t len = (uint16_t)(36u + 5u * MODEL_NUM_INPUTS + 13u * MODEL_NUM_OUTPUTS + name_len);
    uint32_t preload_bytes = 0;
    (void)tc_port_preload(&preload_bytes);
    tc_frame_begin(REPLY_OK | CMD_HELLO, f->seq, len);
    tc_frame_write_u8(TC_PROTOCOL_VERSION);
    tc_frame_write_u8((uint8_t)tc_port_counter_kind());
    tc_frame_write_u8(TC_FLAG_GUARD | TC_FLAG_LAYER_TIMING);
    tc_frame_write_u8(MODEL_NUM_INPUTS);
    tc_frame_write_u8(MODEL_NUM_OUTPUTS);
    tc_frame_write_u8(0u);
    tc_frame_write_u16(TC_FRAME_MAX_PAYLOAD);
    tc_frame_write_u16(MODEL_NUM_LAYERS);
    tc_frame_write_u16(name_len);
    tc_frame_write_u32(TC_MODEL_ID);
    tc_frame_write_u32(tc_port_tick_hz());
    tc_frame_write_u32(MODEL_ARENA_BYTES);
    tc_frame_write_u32(TC_INPUT_TOTAL_BYTES);
    tc_frame_write_u32(tc_output_total_bytes());
    tc_frame_write_u32(preload_bytes);
    for (int i = 0; i < MODEL_NUM_INPUTS; ++i) {
        tc_frame_write_u32(model_input_write_bytes(i));
        tc_frame_write_u8(tc_input_dtypes[i]);
    }
    for (int i = 0; i < MODEL_NUM_OUTPUTS; ++i) {
        float scale = 0.0f;
        int32_t zp = 0;
        uint32_t bits;
        /* the same numbers `results` dequantizes with: scale of element 0 of a 1-element output */
        if (tc_output_dtypes[i] != TC_DT_FLOAT32) {
            scale = tc_output_scale(i);
            zp = tc_output_zero_point(i);
        }
        memcpy(&bits, &scale, 4);
        tc_frame_write_u32(model_output_bytes(i));
        tc_frame_write_u8(tc_output_dtypes[i]);
        tc_frame_write_u32(bits);
        tc_frame_write_u32((uint32_t)zp);
    }
    tc_frame_write(name, name_len);
    tc_frame_end();
}

static void write_input(const tc_frame *f)
{
    if (f->len < 4u) {
        error_reply(f, ERR_BAD_LENGTH, "WRITE_INPUT needs offset u32 + bytes");
        return;
    }
    uint32_t offset = tc_get_u32(f->payload);
    uint32_t n = f->len - 4u;
    if (offset > TC_INPUT_TOTAL_BYTES || n > TC_INPUT_TOTAL_BYTES - offset) {
        error_reply(f, ERR_OUT_OF_RANGE, "WRITE_INPUT past the end of the inputs");
        return;
    }
    (void)tc_input_write(offset, f->payload + 4, n);
    tc_frame_begin(REPLY_OK | CMD_WRITE_INPUT, f->seq, 4u);
    tc_frame_write_u32(offset + n);
    tc_frame_end();
}

static uint32_t output_crc(void)
{
    uint32_t crc = 0;
    for (int i = 0; i < MODEL_NUM_OUTPUTS; ++i) {
        crc = tc_crc32_update(crc, (const uint8_t *)model_output(i), model_output_bytes(i));
    }
    return crc;
}

static void infer(const tc_frame *f)
{
    if (f->len != 13u) {
        error_reply(f, ERR_BAD_LENGTH, "INFER needs nbytes u32, crc u32, source u8, index u32");
        return;
    }
    uint32_t nbytes = tc_get_u32(f->payload), crc = tc_get_u32(f->payload + 4);
    uint8_t source = f->payload[8];
    uint32_t index = tc_get_u32(f->payload + 9);
    if (nbytes != TC_INPUT_TOTAL_BYTES) {
        error_reply(f, ERR_BAD_LENGTH, "INFER nbytes differs from the model's input bytes");
        return;
    }
    if (source == 1u) { /* sample `index` of the preloaded inputs */
        uint32_t avail = 0;
        const uint8_t *pre = tc_port_preload(&avail);
        if (pre == NULL || index >= avail / TC_INPUT_TOTAL_BYTES) {
            error_reply(f, ERR_NO_PRELOAD, "no such preloaded input");
            return;
        }
        (void)tc_input_write(0u, pre + index * TC_INPUT_TOTAL_BYTES, TC_INPUT_TOTAL_BYTES);
    }
    /* never run on an input that is not exactly what the host sent (nor on one a previous run
     * overwrote: the host then sends it again) */
    if (tc_input_crc() != crc) {
        error_reply(f, ERR_INPUT_CRC, "input CRC mismatch: not run");
        return;
    }
    /* without this the host could not tell a lost request (resend after a few seconds) from a
     * long inference (wait minutes), and a reset mid-inference would cost it the long wait */
    tc_frame_begin(REPLY_BUSY, f->seq, 0u);
    tc_frame_end();
    uint32_t ticks = 0;
    int32_t status = tc_model_run(&ticks);
    tc_frame_begin(REPLY_OK | CMD_INFER, f->seq, 18u);
    tc_frame_write_u32((uint32_t)status);
    tc_frame_write_u32(ticks);
    tc_frame_write_u32(tc_output_total_bytes());
    tc_frame_write_u32(output_crc());
    tc_frame_write_u16(MODEL_NUM_LAYERS);
    tc_frame_end();
}

static void read_output(const tc_frame *f)
{
    if (f->len != 6u) {
        error_reply(f, ERR_BAD_LENGTH, "READ_OUTPUT needs offset u32, count u16");
        return;
    }
    if (!tc_model_has_outputs()) {
        error_reply(f, ERR_NO_OUTPUTS, "no inference has run yet");
        return;
    }
    uint32_t offset = tc_get_u32(f->payload);
    uint32_t n = tc_get_u16(f->payload + 4);
    uint32_t total = tc_output_total_bytes();
    if (n > TC_FRAME_MAX_PAYLOAD - 4u || offset > total || n > total - offset) {
        error_reply(f, ERR_OUT_OF_RANGE, "READ_OUTPUT range outside the outputs");
        return;
    }
    tc_frame_begin(REPLY_OK | CMD_READ_OUTPUT, f->seq, (uint16_t)(4u + n));
    tc_frame_write_u32(offset);
    /* the outputs back to back, streamed straight from the arena */
    uint32_t base = 0;
    for (int i = 0; i < MODEL_NUM_OUTPUTS && n > 0u; ++i) {
        uint32_t size = model_output_bytes(i);
        if (offset < base + size) {
            uint32_t from = offset - base;
            uint32_t take = size - from < n ? size - from : n;
            tc_frame_write((const uint8_t *)model_output(i) + from, take);
            offset += take;
            n -= take;
        }
        base += size;
    }
    tc_frame_end();
}

static void read_layers(const tc_frame *f)
{
    if (f->len != 4u) {
        error_reply(f, ERR_BAD_LENGTH, "READ_LAYERS needs first u16, count u16");
        return;
    }
    if (!tc_model_has_outputs()) { /* after a reset the ticks would be zeros, not a measurement */
        error_reply(f, ERR_NO_OUTPUTS, "no inference has run yet");
        return;
    }
    uint32_t first = tc_get_u16(f->payload), n = tc_get_u16(f->payload + 2);
    if (n > (TC_FRAME_MAX_PAYLOAD - 2u) / 4u || first + n > MODEL_NUM_LAYERS) {
        error_reply(f, ERR_OUT_OF_RANGE, "READ_LAYERS range outside the layers");
        return;
    }
    tc_frame_begin(REPLY_OK | CMD_READ_LAYERS, f->seq, (uint16_t)(2u + 4u * n));
    tc_frame_write_u16((uint16_t)first);
    for (uint32_t i = 0; i < n; ++i) {
        tc_frame_write_u32(tc_layer_ticks[first + i]);
    }
    tc_frame_end();
}

void tc_binary_command(const tc_frame *f)
{
    switch (f->type) {
    case CMD_HELLO:
        hello(f);
        break;
    case CMD_WRITE_INPUT:
        write_input(f);
        break;
    case CMD_INFER:
        infer(f);
        break;
    case CMD_READ_OUTPUT:
        read_output(f);
        break;
    case CMD_READ_LAYERS:
        read_layers(f);
        break;
    case CMD_STATS: /* stack region bytes, most of it used since boot (0, 0: not measured) */
        tc_frame_begin(REPLY_OK | CMD_STATS, f->seq, 8u);
        tc_frame_write_u32(tc_stack_bytes());
        tc_frame_write_u32(tc_stack_peak());
        tc_frame_end();
        break;
    case CMD_RESET:
        tc_frame_begin(REPLY_OK | CMD_RESET, f->seq, 0u);
        tc_frame_end();
        tc_port_reset();
        break;
    default:
        error_reply(f, ERR_UNKNOWN_COMMAND, "unknown command");
        break;
    }
}
