/* The two command sets the harness speaks on one UART: MLPerf Tiny text commands (`name%`, ...)
 * and binary frames (PROTOCOL.md). tc_harness.c routes each received byte to one of them. */
#ifndef TC_COMMANDS_H
#define TC_COMMANDS_H

#include "tc_frame.h"

/* protocol version reported by HELLO and `profile` (2: INFER is acknowledged with BUSY before it
 * runs, READ_LAYERS needs an inference since boot; 3: inputs are written straight into the arena,
 * so an inference may consume them, and STATS reports the stack) */
#define TC_PROTOCOL_VERSION 3u

/* Run one MLPerf Tiny text command (without its terminating '%'); replies end with m-ready. */
void tc_text_command(char *line);

/* Answer one received binary frame (always exactly one reply frame). */
void tc_binary_command(const tc_frame *f);

/* Reply NAK to a frame that failed its checks (seq 0xFF when the header itself was bad). */
void tc_binary_nak(uint8_t seq, uint8_t reason);

/* The 64-bit tick count since boot (extends tc_port_ticks across wraps; call at least once per wrap). */
uint64_t tc_ticks64(void);

#endif /* TC_COMMANDS_H */
