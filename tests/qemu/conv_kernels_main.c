/* Bare-metal test of the conv-family kernels: every applicable kernel runs on every test vector and
 * its output is compared byte for byte with the numpy reference's. One line per kernel run:
 *   R <case> <kernel> <mismatching bytes> <timer0 ticks>
 * then "DONE <failures>"; the exit code is the number of failing runs (capped at 250). */
#include <string.h>

#include "conv_vectors.h"
#include "mps2_io.h"
#include "tc_conv.h"

#define MAX_BYTES (64 * 1024)

static int8_t out_buf[MAX_BYTES];
static int8_t io_buf[MAX_BYTES];
static int16_t scratch16[MAX_BYTES / 2];
static int8_t scratch8[MAX_BYTES] __attribute__((aligned(4)));
static int32_t failures;

static int32_t count(const tc_dims *d)
{
    return d->n * d->h * d->w * d->c;
}

static void report(int32_t index, const char *kernel, tc_status st, const int8_t *got, const tv_case *tc,
                   uint32_t ticks)
{
    const int32_t n = count(&tc->out);
    int32_t bad = 0;
    if (st != TC_OK) {
        bad = n > 0 ? n : 1;
    } else {
        for (int32_t i = 0; i < n; ++i) {
            bad += got[i] != tc->expected[i];
        }
    }
    if (bad) {
        ++failures;
    }
    mps2_puts("R ");
    mps2_put_int(index);
    mps2_putc(' ');
    mps2_puts(kernel);
    mps2_putc(' ');
    mps2_put_int(bad);
    mps2_putc(' ');
    mps2_put_int((int32_t)ticks);
    mps2_putc('\n');
}

#define RUN(label, call)                                                                                   \
    do {                                                                                                   \
        memset(out_buf, 0x55, (size_t)count(&tc->out));                                                   \
        mps2_timer_start();                                                                                \
        const tc_status st_ = (call);                                                                      \
        const uint32_t t_ = mps2_timer_ticks();                                                            \
        report(i, label, st_, out_buf, tc, t_);                                                            \
    } while (0)

static void run_conv(int32_t i, const tv_case *tc)
{
    /* the lean requantization (tc_rq_lean) of the packed convs, laid out as weights_layout.requant_lean */
    const int lean = tc->rq_lean != NULL;
    const tc_rq_lean rqr = {(const tc_rq *)(const void *)tc->rq, NULL, NULL, NULL};
    const tc_rq_lean rql = {NULL, tc->rq_lean,
                            lean ? (const uint8_t *)(const void *)(tc->rq_lean + tc->rq_lean_c + tc->rq_lean_a) : NULL,
                            lean ? tc->rq_lean + tc->rq_lean_c : NULL};
    const tc_conv_params p = {tc->p[0], tc->p[1], tc->p[2], tc->p[3], tc->p[4], tc->p[5],
                              tc->p[7], tc->p[8], {tc->p[9], tc->p[10]}};
    const tc_per_channel_quant q = {tc->multiplier, tc->shift};
    RUN("conv_ref", tc_conv2d_s8(&p, &q, &tc->in, tc->input, &tc->filt, tc->filter, tc->bias, &tc->out, out_buf));
    RUN("conv_im2col", tc_conv2d_im2col_s8(&p, &q, &tc->in, tc->input, &tc->filt, tc->filter, tc->bias, &tc->out,
                                           out_buf, scratch16));
    if (tc_conv2d_1x1_s8_applies(&p, &tc->in, &tc->filt)) {
        RUN("conv_1x1", tc_conv2d_1x1_s8(&p, &q, &tc->in, tc->input, &tc->filt, tc->filter, tc->bias, &tc->out,
                                         out_buf, scratch16));
    }
    if (tc_conv2d_rgb_s8_applies(&p, &tc->in, &tc->filt)) {
        RUN("conv_rgb", tc_conv2d_rgb_s8(&p, &q, &tc->in, tc->input, &tc->filt, tc->filter, tc->bias, &tc->out,
                                         out_buf, scratch16));
    }
    /* one input channel: packed_filter holds tc_conv2d_c1_packed_s8's layout (tests/test_qemu_dsp_kernels.py) */
    if (tc->packed_filter != NULL && tc_conv2d_c1_packed_s8_applies(&p, &tc->in, &tc->filt)) {
        RUN("conv_c1_packed", tc_conv2d_c1_packed_s8(&p, &q, NULL, &tc->in, tc->input, &tc->filt, tc->packed_filter,
                                                     tc->folded_bias, &tc->out, out_buf));
        if (tc->rq != NULL) {
            RUN("conv_c1_packed_rq", tc_conv2d_c1_packed_s8(&p, NULL, (const tc_rq *)(const void *)tc->rq, &tc->in,
                                                            tc->input, &tc->filt, tc->packed_filter,
                                                            tc->folded_bias, &tc->out, out_buf));
        }
    }
    RUN("conv_wrapper", tc_conv2d_wrapper_s8(&p, &q, &tc->in, tc->input, &tc->filt, tc->filter, tc->bias,
                                             &tc->out, out_buf, scratch16));
    RUN("conv_packed", tc_conv2d_packed_s8(&p, &q, NULL, &tc->in, tc->input, &tc->filt, tc->packed8,
                                           tc->folded_bias, &tc->out, out_buf, scratch8));
    if (tc->rq_lean != NULL) {
        RUN("conv_packed_rq", tc_conv2d_packed_s8(&p, NULL, &rqr, &tc->in, tc->input,
                                                  &tc->filt, tc->packed8, tc->folded_bias, &tc->out, out_buf,
                                                  scratch8));
    }
    if (tc->rq_lean != NULL) {
        RUN("conv_packed_lean", tc_conv2d_packed_s8(&p, NULL, &rql, &tc->in, tc->input,
                                                  &tc->filt, tc->packed8, tc->folded_bias, &tc->out, out_buf,
                                                  scratch8));
    }
    RUN("conv_packed_wide", tc_conv2d_packed_wide_s8(&p, &q, NULL, &tc->in, tc->input, &tc->filt, tc->packed8,
                                                     tc->folded_bias, &tc->out, out_buf, scratch8));
    if (tc->rq_lean != NULL) {
        RUN("conv_packed_wide_rq", tc_conv2d_packed_wide_s8(&p, NULL, &rqr, &tc->in,
                                                            tc->input, &tc->filt, tc->packed8, tc->folded_bias,
                                                            &tc->out, out_buf, scratch8));
    }
    if (tc->rq_lean != NULL) {
        RUN("conv_packed_wide_lean", tc_conv2d_packed_wide_s8(&p, NULL, &rql, &tc->in,
                                                            tc->input, &tc->filt, tc->packed8, tc->folded_bias,
                                                            &tc->out, out_buf, scratch8));
    }
    /* pointwise in place (output over its own input, lag 0): allowed when out_c <= in_c */
    if (tc->filt.h == 1 && tc->filt.w == 1 && p.pad_top == 0 && p.pad_left == 0 && p.stride_h == 1 &&
        p.stride_w == 1 && tc->out.c <= tc->in.c && tc->out.h == tc->in.h && tc->out.w == tc->in.w) {
        memcpy(io_buf, tc->input, (size_t)count(&tc->in));
        mps2_timer_start();
        const tc_status st = tc_conv2d_packed_s8(&p, tc->rq_lean != NULL ? NULL : &q, tc->rq_lean != NULL ? &rql : NULL,
                                                 &tc->in, io_buf,
                                                 &tc->filt, tc->packed8, tc->folded_bias, &tc->out, io_buf, scratch8);
        report(i, "conv_packed_inplace", st, io_buf, tc, mps2_timer_ticks());
    }
}

static void run_depthwise(int32_t i, const tv_case *tc)
{
    const tc_dw_conv_params p = {tc->p[0], tc->p[1], tc->p[2], tc->p[3], tc->p[4],
                                 tc->p[5], tc->p[6], tc->p[7], tc->p[8], {tc->p[9], tc->p[10]}};
    const tc_per_channel_quant q = {tc->multiplier, tc->shift};
    RUN("dw_ref", tc_depthwise_conv2d_s8(&p, &q, &tc->in, tc->input, &tc->filt, tc->filter, tc->bias, &tc->out,
                                         out_buf));
    if (tc_depthwise_conv2d_3x3_s8_applies(&p, &tc->in, &tc->filt)) {
        RUN("dw_3x3", tc_depthwise_conv2d_3x3_s8(&p, &q, &tc->in, tc->input, &tc->filt, tc->filter, tc->bias,
                                                 &tc->out, out_buf));
    }
    if (tc->packed_filter != NULL && tc_depthwise_conv2d_packed_s8_applies(&p, &tc->in, &tc->filt)) {
        RUN("dw_packed", tc_depthwise_conv2d_packed_s8(&p, &q, NULL, &tc->in, tc->input, &tc->filt,
                                                       tc->packed_filter, tc->folded_bias, &tc->out, out_buf));
        if (tc->rq != NULL) {
            RUN("dw_packed_rq", tc_depthwise_conv2d_packed_s8(&p, NULL, (const tc_rq *)(const void *)tc->rq, &tc->in,
                                                              tc->input, &tc->filt, tc->packed_filter,
                                                              tc->folded_bias, &tc->out, out_buf));
        }
    }
    RUN("dw_wrapper", tc_depthwise_wrapper_s8(&p, &q, &tc->in, tc->input, &tc->filt, tc->filter, tc->bias,
                                              &tc->out, out_buf));
    if (p.depth_multiplier == 1 && tc->out.h * tc->out.w <= tc->in.h * tc->in.w) {
        memcpy(io_buf, tc->input, (size_t)count(&tc->in));
        mps2_timer_start();
        const tc_status st = tc_depthwise_conv2d_inplace_s8(&p, &q, &tc->in, &tc->filt, tc->filter, tc->bias,
                                                            &tc->out, io_buf, scratch8);
        const uint32_t t = mps2_timer_ticks();
        report(i, "dw_inplace", st, io_buf, tc, t);
        if (tc->packed_filter != NULL) {
            const int32_t ring = tc_depthwise_inplace_ring_pixels(&p, &tc->in, &tc->out);
            for (int32_t g = 0; g < 2; ++g) {
                memcpy(io_buf, tc->input, (size_t)count(&tc->in));
                mps2_timer_start();
                const tc_status st2 = tc_depthwise_conv2d_inplace_packed_s8(
                    &p, tc->rq != NULL ? NULL : &q, (const tc_rq *)(const void *)tc->rq, &tc->in, &tc->filt,
                    tc->packed_filter,
                    tc->folded_bias, &tc->out, io_buf, (int8_t *)(void *)scratch16, g == 0 ? 4 * ring : ring);
                const uint32_t t2 = mps2_timer_ticks();
                report(i, g == 0 ? "dw_inplace_ring4" : "dw_inplace_ring1", st2, io_buf, tc, t2);
            }
        }
    }
}

static void run_fc(int32_t i, const tv_case *tc)
{
    const tc_fc_params p = {tc->p[7], tc->p[8], {tc->p[9], tc->p[10]}, tc->p[11]};
    const tc_per_channel_quant q = {tc->multiplier, tc->shift};
    RUN("fc", tc_fully_connected_s8(&p, &q, tc->in.n, tc->in.c, tc->out.c, tc->input, tc->filter, tc->bias,
                                    out_buf));
    RUN("fc_packed", tc_fully_connected_packed_s8(&p, &q, NULL, tc->in.n, tc->in.c, tc->out.c, tc->input,
                                                  tc->packed8, tc->folded_bias, out_buf));
    if (tc->rq != NULL) {
        RUN("fc_packed_rq", tc_fully_connected_packed_s8(&p, NULL, (const tc_rq *)(const void *)tc->rq, tc->in.n,
                                                         tc->in.c, tc->out.c, tc->input, tc->packed8,
                                                         tc->folded_bias, out_buf));
    }
}

int main(void)
{
#if defined(__ARM_FEATURE_DSP) && !defined(TC_DISABLE_DSP)
    mps2_puts("conv kernels: DSP\n");
#else
    mps2_puts("conv kernels: portable\n");
#endif
    for (int32_t i = 0; i < tv_n_cases; ++i) {
        const tv_case *tc = &tv_cases[i];
        if (count(&tc->in) > MAX_BYTES || count(&tc->out) > MAX_BYTES) {
            mps2_puts("SKIP too large\n");
            ++failures;
            continue;
        }
        if (tc->kind == TV_CONV) {
            run_conv(i, tc);
        } else if (tc->kind == TV_DEPTHWISE) {
            run_depthwise(i, tc);
        } else {
            run_fc(i, tc);
        }
    }
    mps2_puts("DONE ");
    mps2_put_int(failures);
    mps2_putc('\n');
    return failures > 250 ? 250 : (int)failures;
}
