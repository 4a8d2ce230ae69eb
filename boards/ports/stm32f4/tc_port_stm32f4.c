/* Bare-metal port of the harness to the STM32F405/F407 (Cortex-M4F), at register level: no vendor
 * HAL, nothing downloaded. It runs unchanged on QEMU's netduinoplus2 and on a real board.
 *
 * - Clock: the 16 MHz HSI the chip starts on (no PLL set-up: the baud rate divider assumes it).
 * - Console: USART1, 115200 8N1, TX on PA9 and RX on PA10 (alternate function 7). On a real board
 *   wire a 3.3 V USB-serial adapter there (on the STM32F4-Discovery the ST-LINK has no VCP).
 * - Counter: DWT->CYCCNT (core cycles) when it runs, as on every real Cortex-M4; QEMU does not
 *   implement it (it reads 0), so there the port falls back to TIM2, prescaled so that one tick is
 *   128 ns of virtual time: exactly one instruction at `-icount shift=7` (board data).
 * tc_port_reset and tc_port_stack_region come from the dev-platform
 * (boards/platforms/cortex-m/port/tc_port_cortex_m.c). */
#include <stdint.h>

#include "tc_harness.h"
#include "tc_port.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define RCC_AHB1ENR REG(0x40023830u)
#define RCC_APB1ENR REG(0x40023840u)
#define RCC_APB2ENR REG(0x40023844u)

#define GPIOA_MODER REG(0x40020000u)
#define GPIOA_AFRH REG(0x40020024u)

#define USART1_SR REG(0x40011000u) /* bit 5 RXNE, bit 7 TXE */
#define USART1_DR REG(0x40011004u)
#define USART1_BRR REG(0x40011008u)
#define USART1_CR1 REG(0x4001100Cu) /* bit 13 UE, bit 3 TE, bit 2 RE */

#define TIM2_CR1 REG(0x40000000u)
#define TIM2_EGR REG(0x40000014u)
#define TIM2_CNT REG(0x40000024u)
#define TIM2_PSC REG(0x40000028u)
#define TIM2_ARR REG(0x4000002Cu)

#define DEMCR REG(0xE000EDFCu)
#define DWT_CTRL REG(0xE0001000u)
#define DWT_CYCCNT REG(0xE0001004u)

#ifndef TC_STM32F4_HSI_HZ
#define TC_STM32F4_HSI_HZ 16000000u
#endif
/* TIM2's input clock: the APB1 timer clock (16 MHz after reset on the chip; QEMU's model counts
 * at 1 GHz, which its board file says) */
#ifndef TC_STM32F4_TIM2_HZ
#define TC_STM32F4_TIM2_HZ TC_STM32F4_HSI_HZ
#endif
#define TIM2_PRESCALE 128u

static int use_dwt;

void tc_port_init(void)
{
    RCC_AHB1ENR |= 1u << 0;  /* GPIOA */
    RCC_APB1ENR |= 1u << 0;  /* TIM2 */
    RCC_APB2ENR |= 1u << 4;  /* USART1 */
    (void)RCC_APB2ENR;       /* a read-back: the clock is on before the first register write */
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 18)) | (0xAu << 18); /* PA9, PA10: alternate function */
    GPIOA_AFRH = (GPIOA_AFRH & ~(0xFFu << 4)) | (0x77u << 4);   /* AF7 = USART1 */
    /* 16 MHz / (16 * 8.6875) = 115,108 baud (0.08% off 115200): mantissa 8, fraction 11 */
    USART1_BRR = (8u << 4) | 11u;
    USART1_CR1 = (1u << 13) | (1u << 3) | (1u << 2);

    DEMCR |= 1u << 24; /* TRCENA: the DWT is powered */
    DWT_CYCCNT = 0u;
    DWT_CTRL |= 1u;
    for (volatile int i = 0; i < 8; ++i) {
    }
    use_dwt = DWT_CYCCNT != 0u;

    TIM2_PSC = TIM2_PRESCALE - 1u;
    TIM2_ARR = 0xFFFFFFFFu; /* TIM2 is a 32-bit timer */
    TIM2_EGR = 1u;          /* load the prescaler now */
    TIM2_CR1 = 1u;
}

void tc_port_putc(uint8_t c)
{
    while (!(USART1_SR & (1u << 7))) {
    }
    USART1_DR = c;
}

int tc_port_getc(void)
{
    if (USART1_SR & (1u << 5)) {
        return (int)(USART1_DR & 0xFFu);
    }
    return -1;
}

uint32_t tc_port_ticks(void)
{
    return use_dwt ? DWT_CYCCNT : TIM2_CNT;
}

uint32_t tc_port_tick_hz(void)
{
    return use_dwt ? TC_STM32F4_HSI_HZ : TC_STM32F4_TIM2_HZ / TIM2_PRESCALE;
}

uint32_t tc_port_counter_kind(void)
{
    return use_dwt ? TC_COUNTER_CYCLES : TC_COUNTER_TIMER;
}

const uint8_t *tc_port_preload(uint32_t *bytes)
{
    *bytes = 0u; /* no spare memory to preload inputs into: they cross the serial link */
    return (const uint8_t *)0;
}

/* The dev-platform's start-up calls main(); the harness never returns. */
int main(void)
{
    tc_harness_run();
}
