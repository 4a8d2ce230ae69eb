"""AVERAGE_POOL_2D and MAX_POOL_2D (int8), bit-exact with TFLM.

Both only look at taps inside the image; the average divides by the number of valid taps and
rounds half away from zero with C integer division, as TFLM's reference does.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.ir.shapes import conv_pads
from tinycompiler.reference.conv import pad_for_windows, window_taps
from tinycompiler.reference.quant import dtype_range, output_activation_range


def _geometry(op, graph, x):
    out = op.output(graph)
    kh, kw = int(op.attrs["filter_h"]), int(op.attrs["filter_w"])
    sh, sw = int(op.attrs.get("stride_h", 1)), int(op.attrs.get("stride_w", 1))
    top, _, left, _ = conv_pads(x.shape[1:3], (kh, kw), (sh, sw), (1, 1), op.attrs.get("padding", "VALID"))
    return kh, kw, sh, sw, top, left, int(out.shape[1]), int(out.shape[2])


def _range(op, graph):
    out = op.output(graph)
    qmin, qmax = dtype_range(out.dtype)
    return output_activation_range(op, graph, qmin, qmax)


def average_pool_2d(op, graph, inputs):
    x = inputs[0]
    out = op.output(graph)
    kh, kw, sh, sw, top, left, oh, ow = _geometry(op, graph, x)
    xp = pad_for_windows(x.astype(np.int64), top, left, oh, ow, kh, kw, sh, sw, 1, 1)
    valid = pad_for_windows(np.ones((1,) + x.shape[1:3] + (1,), np.int64), top, left, oh, ow, kh, kw, sh, sw, 1, 1)
    acc = np.zeros((x.shape[0], oh, ow, x.shape[3]), np.int64)
    count = np.zeros((1, oh, ow, 1), np.int64)
    for _, _, tap in window_taps(xp, oh, ow, kh, kw, sh, sw, 1, 1):
        acc += tap
    for _, _, tap in window_taps(valid, oh, ow, kh, kw, sh, sw, 1, 1):
        count += tap
    count = np.maximum(count, 1)
    half = count // 2
    avg = np.where(acc > 0, (acc + half) // count, -((half - acc) // count))
    lo, hi = _range(op, graph)
    return np.clip(avg, lo, hi).astype(out.dtype)


def max_pool_2d(op, graph, inputs):
    x = inputs[0]
    out = op.output(graph)
    kh, kw, sh, sw, top, left, oh, ow = _geometry(op, graph, x)
    lowest = np.iinfo(np.int64).min
    xp = pad_for_windows(x.astype(np.int64), top, left, oh, ow, kh, kw, sh, sw, 1, 1, value=lowest)
    m = np.full((x.shape[0], oh, ow, x.shape[3]), lowest, np.int64)
    for _, _, tap in window_taps(xp, oh, ow, kh, kw, sh, sw, 1, 1):
        np.maximum(m, tap, out=m)
    lo, hi = _range(op, graph)
    return np.clip(m, lo, hi).astype(out.dtype)


KERNELS = {"AVERAGE_POOL_2D": average_pool_2d, "MAX_POOL_2D": max_pool_2d}
