/* Port of the harness to the Arm MPS2 boards (AN385 Cortex-M3, AN386 Cortex-M4, AN500 Cortex-M7),
 * real or emulated by QEMU: CMSDK UART0 for the protocol, CMSDK timer0 as the tick counter.
 *
 * Under QEMU with `-icount shift=7,align=off,sleep=off` one instruction advances the 25 MHz
 * timer by exactly 3.2 ticks, so the host turns tick counts into exact instruction counts
 * (board data: instructions = round(ticks * 40 / 128)). QEMU has no cycle model: they are
 * instructions, not cycles. */
#include <stdint.h>

#include "tc_harness.h"
#include "tc_port.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x0u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x4u)) /* bit0 TX full, bit1 RX full */
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x8u))  /* 3 = TX + RX enable */
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))

#define TIMER0_BASE 0x40000000u
#define TIMER_CTRL (*(volatile uint32_t *)(TIMER0_BASE + 0x0u))
#define TIMER_VALUE (*(volatile uint32_t *)(TIMER0_BASE + 0x4u)) /* counts down */
#define TIMER_RELOAD (*(volatile uint32_t *)(TIMER0_BASE + 0x8u))

#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)

/* MPS2 PSRAM (16 MiB at 0x21000000): the host may preload inputs there with QEMU's
 * `-device loader,file=...,addr=0x21000000,force-raw=on`, a little-endian u32 byte count first. */
#define PRELOAD_BASE 0x21000000u
#define PRELOAD_MAX (16u * 1024u * 1024u - 4u)

#ifndef TC_MPS2_BAUDDIV
#define TC_MPS2_BAUDDIV 217u /* 25 MHz / 115200; QEMU ignores the rate */
#endif

void tc_port_init(void)
{
    UART_BAUDDIV = TC_MPS2_BAUDDIV;
    UART_CTRL = 3u;
    TIMER_CTRL = 0u;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_CTRL = 1u;
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
    return 0xFFFFFFFFu - TIMER_VALUE; /* the down-counter as an up-counter */
}

uint32_t tc_port_tick_hz(void)
{
    return 25000000u;
}

uint32_t tc_port_counter_kind(void)
{
    return TC_COUNTER_TIMER;
}

void tc_port_reset(void)
{
    __asm volatile("dsb" ::: "memory");
    SCB_AIRCR = (0x5FAu << 16) | (1u << 2); /* VECTKEY | SYSRESETREQ */
    __asm volatile("dsb" ::: "memory");
    for (;;) {
    }
}

const uint8_t *tc_port_preload(uint32_t *bytes)
{
    uint32_t n = *(const volatile uint32_t *)PRELOAD_BASE;
    /* an unloaded PSRAM reads 0 under QEMU; garbage on hardware is bounded by the region size */
    *bytes = n <= PRELOAD_MAX ? n : 0u;
    return *bytes ? (const uint8_t *)(PRELOAD_BASE + 4u) : (const uint8_t *)0;
}

/* The dev-platform's start-up calls main(); the harness never returns. */
int main(void)
{
    tc_harness_run();
}
