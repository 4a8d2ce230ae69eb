/* Test helper (host and device): compares tc_requantize_fast with tc_requantize on given values. */
#include <stdint.h>

#include "tc_conv_internal.h"

int32_t tc_test_requant_mismatches(const int32_t *acc, int32_t n, const int32_t *mult, const int32_t *shift,
                                   int32_t nq);

/* Number of (acc[i], mult[j], shift[j]) pairs where the fast and the reference requantization differ. */
int32_t tc_test_requant_mismatches(const int32_t *acc, int32_t n, const int32_t *mult, const int32_t *shift,
                                   int32_t nq)
{
    int32_t bad = 0;
    for (int32_t j = 0; j < nq; ++j) {
        for (int32_t i = 0; i < n; ++i) {
            bad += tc_requantize_fast(acc[i], mult[j], shift[j]) != tc_requantize(acc[i], mult[j], shift[j]);
        }
    }
    return bad;
}

int32_t tc_test_rq_mismatches(const int32_t *acc, int32_t n, const int32_t *rows, const int32_t *mult,
                              const int32_t *shift, const int32_t *zp, int32_t nq);

/* Number of (acc[i], row j) pairs where tc_rq_output(acc, rows[j]) != tc_requantize(acc, mult[j], shift[j])
 * + zp[j] (rows: the folded tc_rq form of (mult[j], shift[j], zp[j])). */
int32_t tc_test_rq_mismatches(const int32_t *acc, int32_t n, const int32_t *rows, const int32_t *mult,
                              const int32_t *shift, const int32_t *zp, int32_t nq)
{
    int32_t bad = 0;
    for (int32_t j = 0; j < nq; ++j) {
        const tc_rq *r = (const tc_rq *)(const void *)(rows + 3 * j);
        for (int32_t i = 0; i < n; ++i) {
            bad += tc_rq_output(acc[i], r) != tc_requantize(acc[i], mult[j], shift[j]) + zp[j];
        }
    }
    return bad;
}
