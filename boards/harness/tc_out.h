/* Text output over the port UART without printf: strings, integers, fixed-point floats. */
#ifndef TC_OUT_H
#define TC_OUT_H

#include <stdint.h>

void tc_out_str(const char *s);
void tc_out_u32(uint32_t v);
void tc_out_i32(int32_t v);
/* v with exactly `decimals` (0..9) digits after the point, rounded half away from zero;
 * "nan", "inf", "-inf" for non-finite values. Magnitudes >= 2^32 print as "inf" (never an output). */
void tc_out_float(float v, int decimals);

#endif /* TC_OUT_H */
