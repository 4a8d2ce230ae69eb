#include "tc_out.h"

#include "tc_port.h"

void tc_out_str(const char *s)
{
    while (*s) {
        tc_port_putc((uint8_t)*s++);
    }
}

void tc_out_u32(uint32_t v)
{
    char buf[10];
    int n = 0;
    do {
        buf[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (n > 0) {
        tc_port_putc((uint8_t)buf[--n]);
    }
}

void tc_out_i32(int32_t v)
{
    if (v < 0) {
        tc_port_putc('-');
        tc_out_u32(0u - (uint32_t)v);
    } else {
        tc_out_u32((uint32_t)v);
    }
}

void tc_out_float(float v, int decimals)
{
    static const uint32_t pow10[10] = {1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u,
                                       10000000u, 100000000u, 1000000000u};
    if (v != v) {
        tc_out_str("nan");
        return;
    }
    if (v < 0.0f) {
        tc_port_putc('-');
        v = -v;
    }
    if (v >= 4294967040.0f) { /* the largest float below 2^32 */
        tc_out_str("inf");
        return;
    }
    if (decimals < 0) {
        decimals = 0;
    }
    if (decimals > 9) {
        decimals = 9;
    }
    uint32_t ip = (uint32_t)v;
    /* fraction in double-free arithmetic: (v - ip) is exact in float for v < 2^24 */
    float frac = (v - (float)ip) * (float)pow10[decimals] + 0.5f;
    uint32_t fp = (uint32_t)frac;
    if (fp >= pow10[decimals]) { /* rounding carried into the integer part */
        fp -= pow10[decimals];
        ip += 1u;
    }
    tc_out_u32(ip);
    if (decimals > 0) {
        tc_port_putc('.');
        for (int d = decimals - 1; d >= 0; --d) {
            tc_port_putc((uint8_t)('0' + (int)((fp / pow10[d]) % 10u)));
        }
    }
}
