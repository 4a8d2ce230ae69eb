/* SIMD helpers for the int8 kernels: Cortex-M DSP instructions through ACLE, and portable C twins.
 *
 * On a core with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4/M7/M33/M55) the helpers below map
 * one to one onto SXTB16, SADD16, SMLAD, SMLABB and SMLATT. Anywhere else (host builds, Cortex-M0/M3)
 * the same helpers are plain C computing the identical 32-bit results, so a fast-path kernel written
 * against them runs, and is tested, on the host too. Define TC_DISABLE_DSP to force the portable
 * twins on a DSP core (the QEMU test firmware is built both ways and compared).
 *
 * Packed values: a uint32_t holds two int16 lanes, bottom = bits 0..15, top = bits 16..31.
 * All arithmetic is done on unsigned values, so wrap-around is defined behaviour (as the
 * instructions wrap); an int32 accumulator never actually wraps for int8 tensors of sane size.
 *
 * Unaligned loads and stores go through memcpy: compilers turn it into one LDR/STR on cores that
 * allow unaligned access (M4 and up) and it is never undefined behaviour. */
#ifndef TC_DSP_H
#define TC_DSP_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(TC_DISABLE_DSP)
#define TC_USE_DSP 1
#include <arm_acle.h>
#else
#define TC_USE_DSP 0
#endif

/* ---- loads and stores (any alignment) ---- */

static inline uint32_t tc_read_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void tc_write_u32(void *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* Rotate right by 8: brings bytes 1 and 3 into the positions SXTB16 extracts. */
static inline uint32_t tc_ror8(uint32_t x)
{
    return (x >> 8) | (x << 24);
}

/* Pack two int16 values into one word (bottom, top). */
static inline uint32_t tc_pack16(int32_t bottom, int32_t top)
{
    return ((uint32_t)bottom & 0xFFFFu) | ((uint32_t)top << 16);
}

static inline int32_t tc_bottom16(uint32_t x)
{
    return (int32_t)(int16_t)(uint16_t)(x & 0xFFFFu);
}

static inline int32_t tc_top16(uint32_t x)
{
    return (int32_t)(int16_t)(uint16_t)(x >> 16);
}

#if TC_USE_DSP

/* SXTB16: sign-extend bytes 0 and 2 into the two int16 lanes. */
static inline uint32_t tc_sxtb16(uint32_t x) { return (uint32_t)__sxtb16((int32_t)x); }
/* SXTB16 with its free ROR #8: sign-extend bytes 1 and 3 (GCC does not fuse a rotate into __sxtb16). */
static inline uint32_t tc_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
/* SSAT #8: saturate to [-128, 127]. */
static inline int32_t tc_ssat8(int32_t x) { return __ssat(x, 8); }
/* SADD16: lane-wise int16 add (wrapping). */
static inline uint32_t tc_sadd16(uint32_t a, uint32_t b) { return (uint32_t)__sadd16((int32_t)a, (int32_t)b); }
/* SMLAD: acc + a.bottom * b.bottom + a.top * b.top. */
static inline int32_t tc_smlad(uint32_t a, uint32_t b, int32_t acc) { return __smlad((int32_t)a, (int32_t)b, acc); }
/* SMLABB / SMLATT: acc + a.bottom * b.bottom, acc + a.top * b.top. */
static inline int32_t tc_smlabb(uint32_t a, uint32_t b, int32_t acc) { return __smlabb((int32_t)a, (int32_t)b, acc); }
static inline int32_t tc_smlatt(uint32_t a, uint32_t b, int32_t acc) { return __smlatt((int32_t)a, (int32_t)b, acc); }

#else

static inline uint32_t tc_sxtb16(uint32_t x)
{
    const int32_t b0 = (int32_t)(int8_t)(uint8_t)(x & 0xFFu);
    const int32_t b2 = (int32_t)(int8_t)(uint8_t)((x >> 16) & 0xFFu);
    return tc_pack16(b0, b2);
}

static inline uint32_t tc_sxtb16_ror8(uint32_t x)
{
    return tc_sxtb16(tc_ror8(x));
}

static inline int32_t tc_ssat8(int32_t x)
{
    return x < -128 ? -128 : (x > 127 ? 127 : x);
}

static inline uint32_t tc_sadd16(uint32_t a, uint32_t b)
{
    return tc_pack16(tc_bottom16(a) + tc_bottom16(b), tc_top16(a) + tc_top16(b));
}

static inline int32_t tc_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    /* each product of two int16 fits int32; the sum wraps like the instruction */
    const uint32_t p0 = (uint32_t)(tc_bottom16(a) * tc_bottom16(b));
    const uint32_t p1 = (uint32_t)(tc_top16(a) * tc_top16(b));
    return (int32_t)((uint32_t)acc + p0 + p1);
}

static inline int32_t tc_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tc_bottom16(a) * tc_bottom16(b)));
}

static inline int32_t tc_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tc_top16(a) * tc_top16(b)));
}

#endif /* TC_USE_DSP */

/* ---- composite helpers used by the conv-family fast paths ---- */

/* Four int8 values at p, widened to int16 with `offset2` (offset packed in both lanes) added:
 * *x02 = (p[0] + off, p[2] + off), *x13 = (p[1] + off, p[3] + off). */
static inline void tc_load_s8x4_offset(const int8_t *p, uint32_t offset2, uint32_t *x02, uint32_t *x13)
{
    const uint32_t w = tc_read_u32(p);
    *x02 = tc_sadd16(tc_sxtb16(w), offset2);
    *x13 = tc_sadd16(tc_sxtb16_ror8(w), offset2);
}

/* Four int8 values at p widened to int16: *x02 = (p[0], p[2]), *x13 = (p[1], p[3]). */
static inline void tc_load_s8x4(const int8_t *p, uint32_t *x02, uint32_t *x13)
{
    const uint32_t w = tc_read_u32(p);
    *x02 = tc_sxtb16(w);
    *x13 = tc_sxtb16_ror8(w);
}

/* Widen n int8 values to int16 with `offset` added, into dst in the "reordered" layout that the
 * conv fast paths consume: each full group of four (x0, x1, x2, x3) is stored as (x0, x2, x1, x3);
 * the n % 4 tail is stored in natural order. Returns dst + n. */
static inline int16_t *tc_widen_s8_offset(const int8_t *src, int16_t *dst, int32_t n, int32_t offset)
{
    const uint32_t offset2 = tc_pack16(offset, offset);
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t x02, x13;
        tc_load_s8x4_offset(src + i, offset2, &x02, &x13);
        tc_write_u32(dst + i, x02);
        tc_write_u32(dst + i + 2, x13);
    }
    for (; i < n; ++i) {
        dst[i] = (int16_t)(src[i] + offset);
    }
    return dst + n;
}

/* Dot products of one reordered int16 column (see tc_widen_s8_offset) with two int8 weight rows of
 * the same length n (natural order): acc_a += sum col*wa, acc_b += sum col*wb. */
static inline void tc_dot2_s16_s8(const int16_t *col, const int8_t *wa, const int8_t *wb, int32_t n,
                                  int32_t *acc_a, int32_t *acc_b)
{
    int32_t a = *acc_a, b = *acc_b;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t c02 = tc_read_u32(col + i);
        const uint32_t c13 = tc_read_u32(col + i + 2);
        uint32_t w02, w13;
        tc_load_s8x4(wa + i, &w02, &w13);
        a = tc_smlad(c02, w02, a);
        a = tc_smlad(c13, w13, a);
        tc_load_s8x4(wb + i, &w02, &w13);
        b = tc_smlad(c02, w02, b);
        b = tc_smlad(c13, w13, b);
    }
    for (; i < n; ++i) {
        a += col[i] * wa[i];
        b += col[i] * wb[i];
    }
    *acc_a = a;
    *acc_b = b;
}

/* One-row version of tc_dot2_s16_s8. */
static inline int32_t tc_dot_s16_s8(const int16_t *col, const int8_t *w, int32_t n, int32_t acc)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t w02, w13;
        tc_load_s8x4(w + i, &w02, &w13);
        acc = tc_smlad(tc_read_u32(col + i), w02, acc);
        acc = tc_smlad(tc_read_u32(col + i + 2), w13, acc);
    }
    for (; i < n; ++i) {
        acc += col[i] * w[i];
    }
    return acc;
}

/* sum over i < n of (x[i] + offset) * w[i], both int8, added to acc (no scratch needed). */
static inline int32_t tc_dot_s8_offset(const int8_t *x, const int8_t *w, int32_t n, int32_t offset, int32_t acc)
{
    const uint32_t offset2 = tc_pack16(offset, offset);
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t x02, x13, w02, w13;
        tc_load_s8x4_offset(x + i, offset2, &x02, &x13);
        tc_load_s8x4(w + i, &w02, &w13);
        acc = tc_smlad(x02, w02, acc);
        acc = tc_smlad(x13, w13, acc);
    }
    for (; i < n; ++i) {
        acc += (x[i] + offset) * w[i];
    }
    return acc;
}

#endif /* TC_DSP_H */
