/* The port interface: the only functions a board implements for the harness.
 *
 * The protocol core (tc_harness.c and friends) is board-independent C99; a port lives in
 * boards/ports/<port>/ and provides these functions (the split of MLPerf Tiny's
 * submitter_implemented.h vs. internally_implemented.cpp). Everything is polled: no interrupts,
 * no heap, no libc beyond <stdint.h>/<stddef.h>. */
#ifndef TC_PORT_H
#define TC_PORT_H

#include <stddef.h>
#include <stdint.h>

/* What tc_port_ticks() counts; reported to the host, which converts. */
#ifdef __cplusplus
extern "C" {
#endif

#define TC_COUNTER_TIMER 0u  /* a timer clock at tc_port_tick_hz(); under QEMU -icount the host
                              * turns ticks into exact instruction counts (board data) */
#define TC_COUNTER_CYCLES 1u /* core clock cycles (DWT->CYCCNT on Cortex-M3/M4/M7/M33/M55) */

/* Bring up clocks, the UART (8N1, the board's documented baud rate) and the tick counter. */
void tc_port_init(void);

/* Send one byte; blocks until the UART accepts it. */
void tc_port_putc(uint8_t c);

/* One received byte (0..255), or -1 when none is waiting. Never blocks. */
int tc_port_getc(void);

/* Free-running up-counter; wraps at 2^32 (differences of uint32_t stay correct across one wrap). */
uint32_t tc_port_ticks(void);

/* Ticks per second of tc_port_ticks() (25000000 for the MPS2 timer, the core clock for DWT). */
uint32_t tc_port_tick_hz(void);

/* TC_COUNTER_TIMER or TC_COUNTER_CYCLES. */
uint32_t tc_port_counter_kind(void);

/* Reset the whole board (AIRCR.SYSRESETREQ on Cortex-M); does not return. */
void tc_port_reset(void);

/* Optional bulk input memory filled before boot (e.g. QEMU's -device loader into MPS2 PSRAM):
 * base address and size in bytes, or NULL/0 when the board has none. */
const uint8_t *tc_port_preload(uint32_t *bytes);

/* Where the main stack lives: [*lo, *hi) in bytes, the stack growing down from *hi. Returns 1,
 * or 0 when the port cannot tell (the harness then reports no stack figure). */
int tc_port_stack_region(uintptr_t *lo, uintptr_t *hi);

#ifdef __cplusplus
}
#endif

#endif /* TC_PORT_H */
