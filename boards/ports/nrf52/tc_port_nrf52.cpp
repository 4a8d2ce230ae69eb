/* Port of the harness to the nRF52840-DK with PlatformIO's Arduino framework (Nordic's platform
 * has no bare CMSIS one): Serial on the J-Link virtual COM port, DWT->CYCCNT for cycles at 64 MHz.
 * Compile-checked only where PlatformIO's registry is reachable. */
#include <Arduino.h>

#include "tc_dwt.h"
#include "tc_harness.h"
#include "tc_port.h"

#ifndef TC_CONSOLE_BAUD
#define TC_CONSOLE_BAUD 115200
#endif

extern "C" {

void tc_port_init(void)
{
    Serial.begin(TC_CONSOLE_BAUD);
    tc_dwt_start();
}

void tc_port_putc(uint8_t c)
{
    Serial.write(c);
}

int tc_port_getc(void)
{
    return Serial.available() > 0 ? Serial.read() : -1;
}

uint32_t tc_port_ticks(void)
{
    return tc_dwt_cycles();
}

uint32_t tc_port_tick_hz(void)
{
    return SystemCoreClock;
}

uint32_t tc_port_counter_kind(void)
{
    return TC_COUNTER_CYCLES;
}

void tc_port_reset(void)
{
    NVIC_SystemReset();
}

const uint8_t *tc_port_preload(uint32_t *bytes)
{
    *bytes = 0u;
    return nullptr;
}

/* The framework's linker script owns the stack and its symbols differ between framework
 * versions, which cannot be built here (no registry): not measured rather than guessed. */
int tc_port_stack_region(uintptr_t *lo, uintptr_t *hi)
{
    *lo = 0u;
    *hi = 0u;
    return 0;
}

} /* extern "C" */

void setup()
{
    tc_harness_run();
}

void loop()
{
}
