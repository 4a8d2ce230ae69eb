/* The Cortex-M DWT cycle counter (M3/M4/M7/M33/M55; not M0+, not in QEMU), header-only, for ports. */
#ifndef TC_DWT_H
#define TC_DWT_H

#include <stdint.h>

#define TC_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define TC_DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define TC_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define TC_DWT_LAR (*(volatile uint32_t *)0xE0001FB0u) /* lock access (Cortex-M7 needs the unlock) */

static inline void tc_dwt_start(void)
{
    TC_DEMCR |= 1u << 24; /* TRCENA */
    TC_DWT_LAR = 0xC5ACCE55u;
    TC_DWT_CYCCNT = 0u;
    TC_DWT_CTRL |= 1u; /* CYCCNTENA */
}

static inline uint32_t tc_dwt_cycles(void)
{
    return TC_DWT_CYCCNT;
}

#endif /* TC_DWT_H */
