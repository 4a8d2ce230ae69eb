/* The harness main loop: one UART, two command sets.
 *
 * A byte A5 starts a binary frame (PROTOCOL.md); any other byte builds an MLPerf Tiny text
 * command that '%' ends. Text commands are printable ASCII, so A5 never occurs in one: a frame
 * start also discards a partial text command (garbage). Non-printable bytes outside frames are
 * dropped, so line noise cannot turn into a command.
 *
 * The port owns the entry point (main(), or Arduino's setup()) and calls tc_harness_run(). */
#include <stdint.h>

#include "tc_commands.h"
#include "tc_frame.h"
#include "tc_harness.h"
#include "tc_out.h"
#include "tc_port.h"
#include "tc_stack.h"

/* longest text command: `db ` + 124 bytes in hex (the MLPerf Tiny runner sends 31 per command;
 * EEMBC's own buffer is 80 characters) */
#define TC_TEXT_MAX 256u

static char text[TC_TEXT_MAX + 1u];
static uint32_t text_len;
static int text_overflow;
static tc_frame frame;
static uint32_t ticks_last;
static uint64_t ticks_high;

uint64_t tc_ticks64(void)
{
    uint32_t now = tc_port_ticks();
    ticks_high += (uint32_t)(now - ticks_last);
    ticks_last = now;
    return ticks_high;
}

static void on_text_byte(uint8_t c)
{
    if (c == '%') {
        text[text_len] = '\0';
        if (text_overflow) {
            tc_out_str("e-[Command longer than 256 characters]\r\nm-ready\r\n");
        } else {
            tc_text_command(text);
        }
        text_len = 0;
        text_overflow = 0;
    } else if (c >= 0x20u && c < 0x7Fu) {
        if (text_len < TC_TEXT_MAX) {
            text[text_len++] = (char)c;
        } else {
            text_overflow = 1;
        }
    }
}

void tc_harness_run(void)
{
    tc_stack_paint();
    tc_port_init();
    ticks_last = tc_port_ticks();
    tc_out_str("m-timestamp-mode-performance\r\nm-init-done\r\nm-ready\r\n");
    for (;;) {
        int c = tc_port_getc();
        if (c < 0) {
            continue;
        }
        if (c == TC_FRAME_MAGIC0) {
            text_len = 0;
            text_overflow = 0;
            int rx = tc_frame_receive(&frame);
            if (rx == TC_RX_OK) {
                tc_binary_command(&frame);
            } else if (rx == TC_RX_BAD_HEADER) {
                tc_binary_nak(0xFFu, (uint8_t)rx);
            } else if (rx == TC_RX_BAD_CRC) {
                tc_binary_nak(frame.seq, (uint8_t)rx);
            }
            /* TC_RX_NOT_FRAME: a stray A5; the byte after it is dropped too */
        } else {
            on_text_byte((uint8_t)c);
        }
    }
}
