/* Entry of the firmware harness: the port's main() (or Arduino setup()) calls it once. */
#ifndef TC_HARNESS_H
#define TC_HARNESS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Initialise the port, print the MLPerf Tiny boot lines, then serve commands forever. */
void tc_harness_run(void) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif /* TC_HARNESS_H */
