/* Console, timer and exit for the MPS2 boards under QEMU (CMSDK UART0, timer0, semihosting). */
#ifndef MPS2_IO_H
#define MPS2_IO_H

#include <stdint.h>

void mps2_uart_init(void);
void mps2_putc(char c);
void mps2_puts(const char *s);
void mps2_put_int(int32_t v);
/* timer0 ticks (25 MHz on mps2; with -icount shift=7, instructions = round(ticks * 40 / 128)) */
void mps2_timer_start(void);
uint32_t mps2_timer_ticks(void);
/* SYS_EXIT_EXTENDED: QEMU (run with -semihosting-config enable=on) exits with `code`. */
void mps2_exit(int code) __attribute__((noreturn));

#endif
