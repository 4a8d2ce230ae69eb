#include "mps2_io.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x0u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x4u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x8u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))

#define TIMER0_BASE 0x40000000u
#define TIMER_CTRL (*(volatile uint32_t *)(TIMER0_BASE + 0x0u))
#define TIMER_VALUE (*(volatile uint32_t *)(TIMER0_BASE + 0x4u))
#define TIMER_RELOAD (*(volatile uint32_t *)(TIMER0_BASE + 0x8u))

static uint32_t timer_start_value;

void mps2_uart_init(void)
{
    UART_BAUDDIV = 16u;
    UART_CTRL = 3u;
}

void mps2_putc(char c)
{
    while (UART_STATE & 1u) {
    }
    UART_DATA = (uint32_t)(unsigned char)c;
}

void mps2_puts(const char *s)
{
    while (*s) {
        mps2_putc(*s++);
    }
}

void mps2_put_int(int32_t v)
{
    char buf[12];
    int i = 0;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    do {
        buf[i++] = (char)('0' + (int)(u % 10u));
        u /= 10u;
    } while (u != 0u);
    if (v < 0) {
        mps2_putc('-');
    }
    while (i > 0) {
        mps2_putc(buf[--i]);
    }
}

void mps2_timer_start(void)
{
    TIMER_CTRL = 0u;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_CTRL = 1u;
    timer_start_value = TIMER_VALUE;
}

uint32_t mps2_timer_ticks(void)
{
    return timer_start_value - TIMER_VALUE;
}

void mps2_exit(int code)
{
    /* ADP_Stopped_ApplicationExit with the exit code, via SYS_EXIT_EXTENDED (0x20) */
    volatile uint32_t block[2] = {0x20026u, (uint32_t)code};
    register uint32_t r0 __asm("r0") = 0x20u;
    register volatile uint32_t *r1 __asm("r1") = block;
    __asm volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}
