/* Minimal Cortex-M start-up for the MPS2 boards (and any core with a standard vector table):
 * vector table, .data copy, .bss clear, FPU enable (hard-float builds), main(), then exit through
 * semihosting with main's return value. Reusable by any bare-metal test or board project. */
#include <stdint.h>

#include "mps2_io.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
int main(void);
void Reset_Handler(void);
void Default_Handler(void);

void Default_Handler(void)
{
    mps2_puts("FATAL: unexpected exception\n");
    mps2_exit(254);
}

void Reset_Handler(void)
{
    const uint32_t *src = &__data_load;
    for (uint32_t *dst = &__data_start; dst < &__data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start; dst < &__bss_end;) {
        *dst++ = 0;
    }
#if defined(__ARM_FP)
    /* CPACR: full access to CP10/CP11 before any floating-point instruction */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    mps2_uart_init();
    mps2_exit(main());
}

typedef void (*tc_vector)(void);

__attribute__((section(".vectors"), used)) const tc_vector tc_vector_table[16] = {
    (tc_vector)(uintptr_t)&__stack_top,
    Reset_Handler,
    Default_Handler, /* NMI */
    Default_Handler, /* HardFault */
    Default_Handler, /* MemManage */
    Default_Handler, /* BusFault */
    Default_Handler, /* UsageFault */
    0, 0, 0, 0,
    Default_Handler, /* SVC */
    Default_Handler, /* DebugMon */
    0,
    Default_Handler, /* PendSV */
    Default_Handler, /* SysTick */
};
