#include "tc_stack.h"

#include "tc_port.h"

#define TC_STACK_PATTERN 0x5AC3A53Cu
/* bytes left unpainted below the painter's own frame (its locals and the call that follows) */
#define TC_STACK_SLACK 64u

static uint32_t *stack_lo, *stack_hi;

void tc_stack_paint(void)
{
    uintptr_t lo = 0, hi = 0;
    if (!tc_port_stack_region(&lo, &hi) || hi <= lo) {
        return;
    }
    stack_lo = (uint32_t *)((lo + 3u) & ~(uintptr_t)3u);
    stack_hi = (uint32_t *)(hi & ~(uintptr_t)3u);
    volatile uint32_t here = 0;
    /* the stack grows down: everything below this frame (minus some slack) is unused yet */
    uint32_t *top = (uint32_t *)(((uintptr_t)&here - TC_STACK_SLACK) & ~(uintptr_t)3u);
    for (volatile uint32_t *p = stack_lo; p < top; ++p) {
        *p = TC_STACK_PATTERN;
    }
}

uint32_t tc_stack_bytes(void)
{
    return stack_lo ? (uint32_t)((uintptr_t)stack_hi - (uintptr_t)stack_lo) : 0u;
}

uint32_t tc_stack_peak(void)
{
    if (!stack_lo) {
        return 0u;
    }
    const volatile uint32_t *p = stack_lo;
    while (p < stack_hi && *p == TC_STACK_PATTERN) {
        ++p;
    }
    return (uint32_t)((uintptr_t)stack_hi - (uintptr_t)p);
}
