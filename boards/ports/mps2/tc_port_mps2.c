/* Port of the harness to the Arm MPS2/MPS3 boards (AN385 Cortex-M3, AN386 Cortex-M4, AN500
 * Cortex-M7, AN505 Cortex-M33, AN547 Cortex-M55), real or emulated by QEMU: CMSDK UART0 for the
 * protocol, CMSDK timer0 as the tick counter (on the AN547's SSE-300: system timer 0, whose
 * counter TC_MPS2_SYSCOUNTER_CNTCR starts). Their addresses and the timer clock come from the
 * board file's cflags (TC_MPS2_UART0_BASE, TC_MPS2_TIMER0_BASE, TC_MPS2_TICK_HZ; the AN505 and
 * AN547 use the Secure aliases at 0x5xxxxxxx, since they boot Secure), the preload window from
 * its [qemu] table. tc_port_reset and tc_port_stack_region are the dev-platform's
 * (boards/platforms/cortex-m/port/tc_port_cortex_m.c), shared with every board it builds.
 *
 * Under QEMU with `-icount shift=7,align=off,sleep=off` one instruction advances the 25 MHz
 * timer by exactly 3.2 ticks, so the host turns tick counts into exact instruction counts
 * (board data: instructions = round(ticks * 40 / 128)). QEMU has no cycle model: they are
 * instructions, not cycles. */
#include <stdint.h>

#include "tc_harness.h"
#include "tc_port.h"

#ifndef TC_MPS2_UART0_BASE
#define TC_MPS2_UART0_BASE 0x40004000u
#endif
#ifndef TC_MPS2_TIMER0_BASE
#define TC_MPS2_TIMER0_BASE 0x40000000u
#endif
#ifndef TC_MPS2_TICK_HZ
#define TC_MPS2_TICK_HZ 25000000u
#endif

#define UART0_BASE TC_MPS2_UART0_BASE
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x0u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x4u)) /* bit0 TX full, bit1 RX full */
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x8u))  /* 3 = TX + RX enable */
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))

#define TIMER0_BASE TC_MPS2_TIMER0_BASE
#define TIMER_CTRL (*(volatile uint32_t *)(TIMER0_BASE + 0x0u))
#define TIMER_VALUE (*(volatile uint32_t *)(TIMER0_BASE + 0x4u)) /* counts down */
#define TIMER_RELOAD (*(volatile uint32_t *)(TIMER0_BASE + 0x8u))

/* The preload window (MPS2 PSRAM, 16 MiB at 0x21000000, from the board file's [qemu] table): the
 * host may place inputs there with QEMU's `-device loader,...,force-raw=on`, a little-endian u32
 * byte count first. A board without one (the AN505) reports none. */

#ifndef TC_MPS2_BAUDDIV
#define TC_MPS2_BAUDDIV 217u /* 25 MHz / 115200; QEMU ignores the rate */
#endif

void tc_port_init(void)
{
    UART_BAUDDIV = TC_MPS2_BAUDDIV;
    UART_CTRL = 3u;
#ifdef TC_MPS2_SYSCOUNTER_CNTCR
    *(volatile uint32_t *)TC_MPS2_SYSCOUNTER_CNTCR = 1u; /* start the system counter (CNTCR.EN) */
#else
    TIMER_CTRL = 0u;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_CTRL = 1u;
#endif
}

void tc_port_putc(uint8_t c)
{
    while (UART_STATE & 1u) {
    }
    UART_DATA = c;
}

int tc_port_getc(void)
{
    if (UART_STATE & 2u) {
        return (int)(UART_DATA & 0xFFu);
    }
    return -1;
}

uint32_t tc_port_ticks(void)
{
#ifdef TC_MPS2_SYSCOUNTER_CNTCR
    return *(volatile uint32_t *)TIMER0_BASE; /* CNTPCT, low word: counts up */
#else
    return 0xFFFFFFFFu - TIMER_VALUE; /* the down-counter as an up-counter */
#endif
}

uint32_t tc_port_tick_hz(void)
{
    return TC_MPS2_TICK_HZ;
}

uint32_t tc_port_counter_kind(void)
{
    return TC_COUNTER_TIMER;
}

const uint8_t *tc_port_preload(uint32_t *bytes)
{
#if defined(TC_PRELOAD_BASE) && defined(TC_PRELOAD_BYTES)
    uint32_t n = *(const volatile uint32_t *)TC_PRELOAD_BASE;
    /* an unloaded PSRAM reads 0 under QEMU; garbage on hardware is bounded by the region size */
    *bytes = n <= TC_PRELOAD_BYTES - 4u ? n : 0u;
    return *bytes ? (const uint8_t *)(TC_PRELOAD_BASE + 4u) : (const uint8_t *)0;
#else
    *bytes = 0u;
    return (const uint8_t *)0;
#endif
}

/* The dev-platform's start-up calls main(); the harness never returns. */
int main(void)
{
    tc_harness_run();
}
