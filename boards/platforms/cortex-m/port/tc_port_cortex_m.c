/* The port functions every board of this dev-platform shares, because they depend only on the
 * Cortex-M core and on the linker script tinycompiler renders for it, not on the chip: reset
 * through AIRCR, and where the stack lives (__stack_limit, __stack_top). The chip's port in
 * boards/ports/<port>/ provides the rest of tc_port.h (UART, counter, preload). The project
 * gets this folder in src/ beside the port (tinycompiler.boards.project.harness_dirs_for). */
#include <stdint.h>

#include "tc_port.h"

void tc_port_reset(void)
{
    __asm volatile("dsb" ::: "memory");
    *(volatile uint32_t *)0xE000ED0Cu = (0x5FAu << 16) | (1u << 2); /* AIRCR: VECTKEY | SYSRESETREQ */
    __asm volatile("dsb" ::: "memory");
    for (;;) {
    }
}

int tc_port_stack_region(uintptr_t *lo, uintptr_t *hi)
{
    extern uint32_t __stack_limit, __stack_top; /* the generated linker script's */
    *lo = (uintptr_t)&__stack_limit;
    *hi = (uintptr_t)&__stack_top;
    return 1;
}
