/* Port of the harness to ST Nucleo/Discovery boards with PlatformIO's stm32cube framework:
 * the HAL UART on the ST-LINK virtual COM port, DWT->CYCCNT for cycles.
 *
 * The console USART is chosen by -DTC_CONSOLE_<USARTn> (from the board file's `console`); the
 * core runs on the HAL's reset clock (HSI), which is enough to measure cycles: cycles do not
 * depend on the clock, only microseconds do (tick_hz = SystemCoreClock). Compile-checked only
 * where PlatformIO's registry is reachable. */
#include <stdint.h>

#if defined(STM32F4xx)
#include "stm32f4xx_hal.h"
#elif defined(STM32F7xx)
#include "stm32f7xx_hal.h"
#elif defined(STM32H7xx)
#include "stm32h7xx_hal.h"
#elif defined(STM32L4xx)
#include "stm32l4xx_hal.h"
#else
#error "tc_port_stm32: unsupported STM32 family (add its HAL header here)"
#endif

#include "tc_dwt.h"
#include "tc_harness.h"
#include "tc_port.h"

#ifndef TC_CONSOLE_BAUD
#define TC_CONSOLE_BAUD 115200
#endif

/* The console's USART, TX/RX pins and alternate function, per board wiring (ST-LINK VCP). */
#if defined(TC_CONSOLE_USART3) /* Nucleo-144 (F767ZI, H743ZI, L4R5ZI): PD8 TX, PD9 RX */
#define TC_USART USART3
#define TC_GPIO GPIOD
#define TC_PINS (GPIO_PIN_8 | GPIO_PIN_9)
#define TC_AF GPIO_AF7_USART3
#define TC_CLOCKS() (__HAL_RCC_USART3_CLK_ENABLE(), __HAL_RCC_GPIOD_CLK_ENABLE())
#elif defined(TC_CONSOLE_USART2) /* Nucleo-64 (F401RE): PA2 TX, PA3 RX */
#define TC_USART USART2
#define TC_GPIO GPIOA
#define TC_PINS (GPIO_PIN_2 | GPIO_PIN_3)
#define TC_AF GPIO_AF7_USART2
#define TC_CLOCKS() (__HAL_RCC_USART2_CLK_ENABLE(), __HAL_RCC_GPIOA_CLK_ENABLE())
#elif defined(TC_CONSOLE_USART1) /* Discovery F746NG: PA9 TX, PB7 RX */
#define TC_USART USART1
#define TC_CLOCKS() (__HAL_RCC_USART1_CLK_ENABLE(), __HAL_RCC_GPIOA_CLK_ENABLE(), __HAL_RCC_GPIOB_CLK_ENABLE())
#define TC_SPLIT_PINS 1
#else
#error "tc_port_stm32: define TC_CONSOLE_USART1/2/3 (the board file's console)"
#endif

static UART_HandleTypeDef console;

void SysTick_Handler(void)
{
    HAL_IncTick();
}

void tc_port_init(void)
{
    GPIO_InitTypeDef pin = {0};
    HAL_Init();
    TC_CLOCKS();
    pin.Mode = GPIO_MODE_AF_PP;
    pin.Pull = GPIO_PULLUP;
    pin.Speed = GPIO_SPEED_FREQ_VERY_HIGH;
#ifdef TC_SPLIT_PINS
    pin.Alternate = GPIO_AF7_USART1;
    pin.Pin = GPIO_PIN_9;
    HAL_GPIO_Init(GPIOA, &pin);
    pin.Pin = GPIO_PIN_7;
    HAL_GPIO_Init(GPIOB, &pin);
#else
    pin.Alternate = TC_AF;
    pin.Pin = TC_PINS;
    HAL_GPIO_Init(TC_GPIO, &pin);
#endif
    console.Instance = TC_USART;
    console.Init.BaudRate = TC_CONSOLE_BAUD;
    console.Init.WordLength = UART_WORDLENGTH_8B;
    console.Init.StopBits = UART_STOPBITS_1;
    console.Init.Parity = UART_PARITY_NONE;
    console.Init.Mode = UART_MODE_TX_RX;
    console.Init.HwFlowCtl = UART_HWCONTROL_NONE;
    console.Init.OverSampling = UART_OVERSAMPLING_16;
    HAL_UART_Init(&console);
    tc_dwt_start();
}

void tc_port_putc(uint8_t c)
{
    HAL_UART_Transmit(&console, &c, 1, HAL_MAX_DELAY);
}

int tc_port_getc(void)
{
    uint8_t c;
    /* an overrun (a byte lost while we were busy) must not wedge the receiver: clear and go on;
     * the protocol's CRC and resend handle the lost byte */
    __HAL_UART_CLEAR_FLAG(&console, UART_FLAG_ORE);
    return HAL_UART_Receive(&console, &c, 1, 0) == HAL_OK ? (int)c : -1;
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
    return 0;
}

/* The framework's linker script owns the stack and its symbols differ between framework
 * versions, which cannot be built here (no registry): not measured rather than guessed. */
int tc_port_stack_region(uintptr_t *lo, uintptr_t *hi)
{
    *lo = 0u;
    *hi = 0u;
    return 0;
}

int main(void)
{
    tc_harness_run();
}
