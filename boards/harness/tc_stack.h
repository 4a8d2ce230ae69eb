/* Stack painting: how much of its stack the firmware has used, measured on the device.
 *
 * At start-up every word of the stack below the current frame is filled with a pattern; the
 * high-water mark is the lowest word that no longer holds it. The port says where the stack is
 * (tc_port_stack_region); a port that cannot tell reports 0 bytes, and the host says "not
 * measured" rather than guess. */
#ifndef TC_STACK_H
#define TC_STACK_H

#include <stdint.h>

/* Fill the unused stack with the pattern; call once, as early as possible. */
void tc_stack_paint(void);

/* Bytes of the stack region (0 when the port does not know it). */
uint32_t tc_stack_bytes(void);

/* Most stack bytes in use at any time since tc_stack_paint(). */
uint32_t tc_stack_peak(void);

#endif /* TC_STACK_H */
