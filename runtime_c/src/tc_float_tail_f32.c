/* The float32 tail after a DEQUANTIZE: TFLM's float reference kernels (softmax.h, log_softmax.h,
 * logistic.h, tanh.h, fully_connected.h, reduce.h, add.h, mul.h), statement by statement.
 *
 * Bit-exactness with TFLM's host build needs the same float32 operations in the same order: sums
 * run first to last, and a product is rounded before it is added. GCC may fuse a*b+c into one
 * FMA instruction on cores that have it (the M4F's VFMA) unless told not to, which changes the
 * last bit; the pragma below forbids it for this file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <math.h>
#include <string.h>

#include "tc_broadcast_walk.h"
#include "tc_ops.h"

/* LOGISTIC's cut-offs in TFLM's float kernel */
#define TC_LOGISTIC_UPPER 16.619047164916992188f
#define TC_LOGISTIC_LOWER (-9.0f)

static float row_max(const float *x, int32_t depth)
{
    float max = x[0];
    for (int32_t c = 1; c < depth; ++c) {
        max = x[c] > max ? x[c] : max;
    }
    return max;
}

void tc_softmax_f32(int32_t outer, int32_t depth, float beta, const float *in, float *out)
{
    for (int32_t i = 0; i < outer; ++i) {
        const float *x = in + (size_t)i * (size_t)depth;
        float *y = out + (size_t)i * (size_t)depth;
        const float max = row_max(x, depth);
        float sum = 0.0f;
        for (int32_t c = 0; c < depth; ++c) {
            const float e = expf((x[c] - max) * beta);
            y[c] = e; /* x[c] is read before y[c] is written: in == out is safe */
            sum += e;
        }
        for (int32_t c = 0; c < depth; ++c) {
            y[c] = y[c] / sum;
        }
    }
}

void tc_log_softmax_f32(int32_t outer, int32_t depth, const float *in, float *out)
{
    for (int32_t i = 0; i < outer; ++i) {
        const float *x = in + (size_t)i * (size_t)depth;
        float *y = out + (size_t)i * (size_t)depth;
        const float max = row_max(x, depth);
        float sum = 0.0f;
        for (int32_t c = 0; c < depth; ++c) {
            sum += expf(x[c] - max);
        }
        const float log_sum = logf(sum);
        for (int32_t c = 0; c < depth; ++c) {
            y[c] = x[c] - max - log_sum;
        }
    }
}

void tc_logistic_f32(int32_t size, const float *in, float *out)
{
    for (int32_t i = 0; i < size; ++i) {
        const float v = in[i];
        float r;
        if (v > TC_LOGISTIC_UPPER) {
            r = 1.0f;
        } else if (v < TC_LOGISTIC_LOWER) {
            r = expf(v);
        } else {
            r = 1.0f / (1.0f + expf(-v));
        }
        out[i] = r;
    }
}

void tc_tanh_f32(int32_t size, const float *in, float *out)
{
    for (int32_t i = 0; i < size; ++i) {
        out[i] = tanhf(in[i]);
    }
}

void tc_relu_f32(int32_t size, const float *in, float *out)
{
    for (int32_t i = 0; i < size; ++i) {
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
    }
}

static float clampf(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

static void binary_f32(const tc_broadcast *b, float act_min, float act_max, const float *in1, const float *in2,
                       float *out, int mul)
{
    const int32_t inner = b->out_dims[b->rank - 1];
    const int32_t is1 = b->in1_strides[b->rank - 1];
    const int32_t is2 = b->in2_strides[b->rank - 1];
    tc_broadcast_walk w;
    tc_broadcast_walk_start(&w, b);
    for (int32_t r = 0; r < w.rows; ++r) {
        const float *a = in1 + w.off1;
        const float *c = in2 + w.off2;
        for (int32_t i = 0; i < inner; ++i) {
            const float v = mul ? a[i * is1] * c[i * is2] : a[i * is1] + c[i * is2];
            *out++ = clampf(v, act_min, act_max);
        }
        tc_broadcast_walk_next(&w);
    }
}

void tc_add_f32(const tc_broadcast *b, float act_min, float act_max, const float *in1, const float *in2,
                float *out)
{
    binary_f32(b, act_min, act_max, in1, in2, out, 0);
}

void tc_mul_f32(const tc_broadcast *b, float act_min, float act_max, const float *in1, const float *in2,
                float *out)
{
    binary_f32(b, act_min, act_max, in1, in2, out, 1);
}

void tc_fully_connected_f32(int32_t rows, int32_t depth, int32_t units, const float *in, const float *weights,
                            const float *bias, float act_min, float act_max, float *out)
{
    for (int32_t r = 0; r < rows; ++r) {
        const float *x = in + (size_t)r * (size_t)depth;
        for (int32_t u = 0; u < units; ++u) {
            const float *w = weights + (size_t)u * (size_t)depth;
            float total = 0.0f;
            for (int32_t d = 0; d < depth; ++d) {
                total += x[d] * w[d];
            }
            const float b = bias ? bias[u] : 0.0f;
            out[(size_t)r * (size_t)units + (size_t)u] = clampf(total + b, act_min, act_max);
        }
    }
}

void tc_mean_f32(const tc_mean_params *p, const float *in, float *out)
{
    int32_t outer = 1, count = 1;
    for (int32_t d = 0; d < p->out_rank; ++d) {
        outer *= p->out_dims[d];
    }
    for (int32_t d = 0; d < p->red_rank; ++d) {
        count *= p->red_dims[d];
    }
    int32_t oi[TC_MAX_DIMS] = {0};
    for (int32_t o = 0; o < outer; ++o) {
        int32_t base = 0;
        for (int32_t d = 0; d < p->out_rank; ++d) {
            base += oi[d] * p->out_strides[d];
        }
        int32_t ri[TC_MAX_DIMS] = {0};
        float sum = 0.0f;
        for (int32_t k = 0; k < count; ++k) { /* reduced elements in row-major order, as TFLM adds them */
            int32_t off = base;
            for (int32_t d = 0; d < p->red_rank; ++d) {
                off += ri[d] * p->red_strides[d];
            }
            sum += in[off];
            for (int32_t d = p->red_rank - 1; d >= 0; --d) {
                if (++ri[d] < p->red_dims[d]) {
                    break;
                }
                ri[d] = 0;
            }
        }
        out[o] = sum / (float)count;
        for (int32_t d = p->out_rank - 1; d >= 0; --d) {
            if (++oi[d] < p->out_dims[d]) {
                break;
            }
            oi[d] = 0;
        }
    }
}

void tc_concat_f32(const tc_concat_params *p, const float *const *inputs, float *out)
{
    for (int32_t r = 0; r < p->outer_size; ++r) {
        for (int32_t i = 0; i < p->num_inputs; ++i) {
            const size_t n = (size_t)p->copy_sizes[i];
            memcpy(out, inputs[i] + (size_t)r * n, n * sizeof(float));
            out += n;
        }
    }
}
