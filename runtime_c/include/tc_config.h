/* Which kernel variants to compile. A generated bundle carries tc_model_config.h (written by
 * tinycompiler/codegen/kernel_config.py from the model's calls) that turns off the specialised code its
 * layers never reach, so a 3x3-only model does not carry the 5x5 / 7x7 depthwise runs; without that
 * file (the runtime built on its own, the kernel tests) everything is on. Turning a variant off never
 * changes an output: a call that would need it takes the generic path or is refused with
 * TC_ERROR_ARGUMENT, never a wrong result. */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#if defined(__has_include)
#if __has_include("tc_model_config.h")
#include "tc_model_config.h"
#endif
#endif

/* tc_depthwise_conv2d_inplace_packed_s8: unrolled runs per square kernel size (unit dilation) */
#ifndef TC_DWIP_K3
#define TC_DWIP_K3 1
#endif
#ifndef TC_DWIP_K5
#define TC_DWIP_K5 1
#endif
#ifndef TC_DWIP_K7
#define TC_DWIP_K7 1
#endif
/* ... and per requantization mode: FULL = tc_rq rows for every channel of the group and the whole
 * int8 activation range (one SSAT); CLAMP = anything else */
#ifndef TC_DWIP_RUNS_FULL
#define TC_DWIP_RUNS_FULL 1
#endif
#ifndef TC_DWIP_RUNS_CLAMP
#define TC_DWIP_RUNS_CLAMP 1
#endif

/* ... and the column path of 1-D layers (in_w == out_w == 1, kw == 1) */
#ifndef TC_DWIP_COL
#define TC_DWIP_COL 1
#endif

/* tc_conv2d_packed_s8: tc_rq with act_max == 127 (SSAT), tc_rq with another range, no tc_rq table */
#ifndef TC_CONV_RQ_SSAT
#define TC_CONV_RQ_SSAT 1
#endif
#ifndef TC_CONV_RQ_CLAMP
#define TC_CONV_RQ_CLAMP 1
#endif
#ifndef TC_CONV_QUANT
#define TC_CONV_QUANT 1
#endif
/* tc_conv2d_packed_s8 / _wide_s8 requantization forms: tc_rq rows, the lean arrays */
#ifndef TC_CONV_ROWS
#define TC_CONV_ROWS 1
#endif
#ifndef TC_CONV_LEAN
#define TC_CONV_LEAN 1
#endif
/* tc_conv2d_packed_wide_s8 (int16 columns) */
#ifndef TC_CONV_WIDE
#define TC_CONV_WIDE 1
#endif

#endif /* TC_CONFIG_H */
