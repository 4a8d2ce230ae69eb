/* Port of the harness to the Raspberry Pi Pico (RP2040, Cortex-M0+) with PlatformIO's Arduino
 * framework: Serial over USB CDC. The M0+ has no DWT and the Arduino core owns SysTick, so the
 * tick counter is the RP2040's free-running 1 MHz TIMER (TIMERAWL): the host reports microseconds,
 * not cycles. Compile-checked only where PlatformIO's registry is reachable. */
#include <Arduino.h>

#include "tc_harness.h"
#include "tc_port.h"

#ifndef TC_CONSOLE_BAUD
#define TC_CONSOLE_BAUD 115200
#endif

#define TC_TIMERAWL (*(volatile uint32_t *)0x40054028u) /* TIMER base + 0x28: raw low word, no latch */

extern "C" {

void tc_port_init(void)
{
    Serial.begin(TC_CONSOLE_BAUD);
    while (!Serial) {
        /* USB CDC: wait for the host to open the port, or the boot lines are lost */
    }
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
    return TC_TIMERAWL;
}

uint32_t tc_port_tick_hz(void)
{
    return 1000000u;
}

uint32_t tc_port_counter_kind(void)
{
    return TC_COUNTER_TIMER;
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
