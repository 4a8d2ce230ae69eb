"""CONV_2D and DEPTHWISE_CONV_2D, bit-exact with TFLM's int8 reference kernels.

Padded taps contribute nothing (TFLM skips them; we pad ``input - zero_point`` with zeros, which
is the same sum). Products are accumulated with float64 BLAS matmuls: every partial sum is an
integer far below 2**53, so the result is exact, then wrapped to int32 like the C accumulator.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.ir.shapes import conv_pads
from tinycompiler.reference.quant import (
    conv_multipliers,
    dtype_range,
    multiply_by_quantized_multiplier,
    output_activation_range,
    wrap_int32,
)


def _window_geometry(op, graph, x_shape, kh, kw):
    out = op.output(graph)
    sh, sw = int(op.attrs.get("stride_h", 1)), int(op.attrs.get("stride_w", 1))
    dh, dw = int(op.attrs.get("dilation_h", 1)), int(op.attrs.get("dilation_w", 1))
    pads = op.attrs.get("explicit_pads")  # set by passes.fold_pad; wins over "padding"
    if pads is None:
        pads = conv_pads(x_shape[1:3], (kh, kw), (sh, sw), (dh, dw), op.attrs.get("padding", "VALID"))
    top, left = int(pads[0]), int(pads[2])
    oh, ow = int(out.shape[1]), int(out.shape[2])
    return sh, sw, dh, dw, top, left, oh, ow


def pad_for_windows(x, top, left, oh, ow, kh, kw, sh, sw, dh, dw, value=0):
    """Pad NHWC ``x`` so every window tap of an (oh, ow) output lies inside the array."""
    n, h, w, c = x.shape
    need_h = (oh - 1) * sh + (kh - 1) * dh + 1
    need_w = (ow - 1) * sw + (kw - 1) * dw + 1
    bottom = max(0, need_h - h - top)
    right = max(0, need_w - w - left)
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def window_taps(xp, oh, ow, kh, kw, sh, sw, dh, dw):
    """Yield ``(ky, kx, tap)`` with ``tap`` the (N, oh, ow, C) input slice seen by filter tap ky,kx."""
    for ky in range(kh):
        y0 = ky * dh
        for kx in range(kw):
            x0 = kx * dw
            yield ky, kx, xp[:, y0:y0 + (oh - 1) * sh + 1:sh, x0:x0 + (ow - 1) * sw + 1:sw, :]


def _requantize_per_channel(acc, op, graph, in_t, w_t, channels):
    out = op.output(graph)
    mult, shift = conv_multipliers(in_t.quant.s, w_t.quant.scale, out.quant.s, channels)
    qmin, qmax = dtype_range(out.dtype)
    act_min, act_max = output_activation_range(op, graph, qmin, qmax)
    y = multiply_by_quantized_multiplier(acc, mult, shift) + out.quant.zp
    return np.clip(y, act_min, act_max).astype(out.dtype)


def _check_quant(op, graph):
    for i in (0, 1):
        t = op.input(graph, i)
        if t.quant is None:
            raise TinyCompilerError(f"{op.where()}: tensor {t.name!r} has no quantization; only int8 models are supported")
    if op.output(graph).quant is None:
        raise TinyCompilerError(f"{op.where()}: output has no quantization; only int8 models are supported")


def conv_2d(op, graph, inputs):
    _check_quant(op, graph)
    x, w, b = inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None
    in_t, w_t = op.input(graph, 0), op.input(graph, 1)
    n, h, wd, c = x.shape
    o, kh, kw, ci = w.shape
    if ci == 0 or c % ci:
        raise TinyCompilerError(f"{op.where()}: input depth {c} is not a multiple of filter depth {ci}")
    groups = c // ci
    sh, sw, dh, dw, top, left, oh, ow = _window_geometry(op, graph, x.shape, kh, kw)
    xq = x.astype(np.float64) - float(in_t.quant.zp)
    xp = pad_for_windows(xq, top, left, oh, ow, kh, kw, sh, sw, dh, dw)
    cols = np.empty((n, oh, ow, kh, kw, c), dtype=np.float64)
    for ky, kx, tap in window_taps(xp, oh, ow, kh, kw, sh, sw, dh, dw):
        cols[:, :, :, ky, kx, :] = tap
    wf = w.astype(np.float64)
    if groups == 1:
        acc = cols.reshape(-1, kh * kw * c) @ wf.reshape(o, -1).T
    else:
        fpg = o // groups
        acc = np.empty((n * oh * ow, o), dtype=np.float64)
        for g in range(groups):
            cg = cols[..., g * ci:(g + 1) * ci].reshape(-1, kh * kw * ci)
            acc[:, g * fpg:(g + 1) * fpg] = cg @ wf[g * fpg:(g + 1) * fpg].reshape(fpg, -1).T
    acc = acc.astype(np.int64).reshape(n, oh, ow, o)
    if b is not None:
        acc = acc + b.astype(np.int64)
    return _requantize_per_channel(wrap_int32(acc), op, graph, in_t, w_t, o)


def depthwise_conv_2d(op, graph, inputs):
    _check_quant(op, graph)
    x, w, b = inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None
    in_t, w_t = op.input(graph, 0), op.input(graph, 1)
    n, h, wd, c = x.shape
    _, kh, kw, oc = w.shape
    m = int(op.attrs.get("depth_multiplier", 0) or 0)
    if m <= 0:
        m = oc // c if c else 0
    if c * m != oc:
        raise TinyCompilerError(f"{op.where()}: filter has {oc} channels, expected input depth {c} x depth multiplier {m}")
    sh, sw, dh, dw, top, left, oh, ow = _window_geometry(op, graph, x.shape, kh, kw)
    xq = x.astype(np.int64) - in_t.quant.zp
    if m > 1:
        xq = np.repeat(xq, m, axis=3)  # output channel k reads input channel k // m
    xp = pad_for_windows(xq, top, left, oh, ow, kh, kw, sh, sw, dh, dw)
    wi = w.astype(np.int64).reshape(kh, kw, oc)
    acc = np.zeros((n, oh, ow, oc), dtype=np.int64)
    for ky, kx, tap in window_taps(xp, oh, ow, kh, kw, sh, sw, dh, dw):
        acc += tap * wi[ky, kx]
    if b is not None:
        acc = acc + b.astype(np.int64)
    return _requantize_per_channel(wrap_int32(acc), op, graph, in_t, w_t, oc)


KERNELS = {"CONV_2D": conv_2d, "DEPTHWISE_CONV_2D": depthwise_conv_2d}
