/* Start-up of the bare-metal Cortex-M dev-platform (MPS2/MPS3 images, STM32F405): vector table, .data copy, .bss
 * clear, FPU enable (hard-float builds), static constructors, main(), then exit QEMU through
 * semihosting with main's return value. Every handler is weak: a board port overrides what it
 * uses (e.g. SysTick_Handler). The console UART is the port's job, not this file's. */
#include <stdint.h>

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);
int main(void);
void Reset_Handler(void);
void tc_semihosting_exit(int code) __attribute__((noreturn));

/* SYS_EXIT_EXTENDED (0x20) with ADP_Stopped_ApplicationExit: QEMU run with
 * -semihosting-config enable=on exits with `code`. Weak, so a port may replace it. */
__attribute__((weak, noreturn)) void tc_semihosting_exit(int code)
{
    volatile uint32_t block[2] = {0x20026u, (uint32_t)code};
    register uint32_t r0 __asm("r0") = 0x20u;
    register volatile uint32_t *r1 __asm("r1") = block;
    __asm volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

/* An unexpected exception ends the run with exit code 254 instead of hanging the emulator. */
void Default_Handler(void)
{
    tc_semihosting_exit(254);
}

#define TC_WEAK_HANDLER(name) void name(void) __attribute__((weak, alias("Default_Handler")))
TC_WEAK_HANDLER(NMI_Handler);
TC_WEAK_HANDLER(HardFault_Handler);
TC_WEAK_HANDLER(MemManage_Handler);
TC_WEAK_HANDLER(BusFault_Handler);
TC_WEAK_HANDLER(UsageFault_Handler);
TC_WEAK_HANDLER(SVC_Handler);
TC_WEAK_HANDLER(DebugMon_Handler);
TC_WEAK_HANDLER(PendSV_Handler);
TC_WEAK_HANDLER(SysTick_Handler);
/* CMSDK peripheral interrupts of the MPS2 images (IRQ 0..9; other chips' IRQs of the same numbers
 * land here too, and nothing enables them); the rest go to Default_Handler. */
TC_WEAK_HANDLER(UART0RX_Handler);
TC_WEAK_HANDLER(UART0TX_Handler);
TC_WEAK_HANDLER(UART1RX_Handler);
TC_WEAK_HANDLER(UART1TX_Handler);
TC_WEAK_HANDLER(UART2RX_Handler);
TC_WEAK_HANDLER(UART2TX_Handler);
TC_WEAK_HANDLER(GPIO0ALL_Handler);
TC_WEAK_HANDLER(GPIO1ALL_Handler);
TC_WEAK_HANDLER(TIMER0_Handler);
TC_WEAK_HANDLER(TIMER1_Handler);

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
    for (void (**ctor)(void) = __init_array_start; ctor < __init_array_end; ++ctor) {
        (*ctor)();
    }
    tc_semihosting_exit(main());
}

typedef void (*tc_vector)(void);

__attribute__((section(".vectors"), used)) const tc_vector tc_vector_table[16 + 32] = {
    (tc_vector)(uintptr_t)&__stack_top,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0, 0, 0, 0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
    UART0RX_Handler, UART0TX_Handler, UART1RX_Handler, UART1TX_Handler,
    UART2RX_Handler, UART2TX_Handler, GPIO0ALL_Handler, GPIO1ALL_Handler,
    TIMER0_Handler, TIMER1_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
};
