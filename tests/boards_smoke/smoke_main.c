/* Smoke-test firmware for the board tests (tests/test_boards_firmware.py), not the real harness:
 * wait for one byte from the host (so no output races the host opening the console), zero every
 * model input, run model_invoke() once, print "status N" and one "output <hex>" line per output
 * over UART0, then return the status (the start-up exits QEMU with it). */
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "mps2_io.h"

/* CMSDK UART0 (mps2): STATE bit 1 = a received byte waits in DATA */
#define UART0_DATA (*(volatile uint32_t *)0x40004000u)
#define UART0_STATE (*(volatile uint32_t *)0x40004004u)

static void wait_for_host(void)
{
    while (!(UART0_STATE & 2u)) {
    }
    (void)UART0_DATA;
}

static void put_hex_byte(uint8_t b)
{
    static const char digits[] = "0123456789abcdef";
    mps2_putc(digits[b >> 4]);
    mps2_putc(digits[b & 15u]);
}

int main(void)
{
    mps2_uart_init();
    wait_for_host();
    for (int i = 0; i < MODEL_NUM_INPUTS; ++i) {
        memset(model_input(i), 0, model_input_bytes(i));
    }
    int status = model_invoke();
    mps2_puts("status ");
    mps2_put_int(status);
    mps2_puts("\n");
    for (int i = 0; i < MODEL_NUM_OUTPUTS; ++i) {
        const uint8_t *out = (const uint8_t *)model_output(i);
        mps2_puts("output ");
        for (uint32_t k = 0; k < model_output_bytes(i); ++k) {
            put_hex_byte(out[k]);
        }
        mps2_puts("\n");
    }
    /* exit only when the host says so: on a pty, QEMU exiting would take unread lines with it */
    wait_for_host();
    return status;
}
