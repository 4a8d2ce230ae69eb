"""Output buffers that overlap a dying input with a lag ("shifted in-place").

A kernel that walks its output in raster order (NHWC pixel by pixel, batch outermost) and reads
its input in raster order can write its output into the same bytes as its input, as long as every
output byte is written only after the last read of the input byte under it. With the output at
``out_base = in_base + lag`` (bytes, may be negative), output pixel ``q`` covers
``[lag + q*oc, lag + (q+1)*oc)`` relative to the input start, and the input bytes still needed when
it is written all lie at or after ``field_start`` (the lowest input byte the window of a pixel
reads) of the pixels still to be computed. So the plan is safe iff, for every output pixel q::

    lag + (q+1)*oc <= min(field_start(q') for q' still to be computed when q is written)

:func:`max_lag` returns the largest such lag. Which pixels are "still to be computed" depends on
each kernel's loop order (the contracts, one per rule below):

- CONV_2D (tc_conv2d_packed_s8, what codegen emits; tc_conv2d_1x1_s8, tc_conv2d_rgb_s8,
  tc_conv2d_im2col_s8 in patch stages): pixel q's whole receptive field is copied into scratch
  before any byte of pixel q is written, and the dot products read only scratch and the filter:
  pixels q' > q. The packed kernel takes pixels in pairs (2j, 2j + 1 per image) and copies both
  windows before writing either pixel, so when q is written the pixels still to be read are q' >
  2j + 1, a subset of q' > q: the per-pixel rule stays safe (it is conservative by at most one
  pixel, tested by tests/test_c_conv_kernels.py::test_conv_packed_at_the_planned_overlap).
- DEPTHWISE_CONV_2D out of place (tc_depthwise_conv2d_packed_s8, tc_depthwise_conv2d_3x3_s8,
  tc_depthwise_conv2d_s8; and tc_conv2d_c1_packed_s8 / tc_conv2d_im2col_s8, which run a one-input-channel
  depthwise with a depth multiplier): pixel by pixel in raster order; within a pixel, channel by
  channel (or four at a time, or two output channels at a time) the window is read and output bytes
  written before the next channels are read: pixel q itself too (q' >= q). (The in-place depthwise,
  tc_depthwise_conv2d_inplace_packed_s8, walks channel groups outermost and is not a lagged kernel:
  it runs only at equal offsets, see :mod:`tinycompiler.plan.inplace`.)
- AVERAGE_POOL_2D / MAX_POOL_2D (tc_avgpool_s8, tc_maxpool_s8): per pixel, per channel, like the
  depthwise: q' >= q.

The lag 0 rules of :mod:`tinycompiler.plan.inplace` are the special case where the bound is >= 0.
FULLY_CONNECTED re-reads its whole input row for every output, so its bound is -out_depth (the
output merely sits next to the input: no bytes saved) and it gets no rule; MEAN and PAD neither
(tiny outputs, or removed by :mod:`tinycompiler.passes.fold_pad`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from tinycompiler.ir.shapes import conv_pads
from tinycompiler.plan.buffers import ALIGN_BYTES, align_down

#: field start of an output pixel whose window lies wholly in the padding (reads nothing)
_NO_READ = np.iinfo(np.int64).max // 4


def window_of(op, graph) -> Optional[dict]:
    """Geometry of a CONV_2D / DEPTHWISE_CONV_2D / pool as its C kernel sees it, or None.

    Keys: ``kh, kw, sh, sw, dh, dw, top, left`` (pads honour the ``explicit_pads`` attribute).
    """
    x = op.input(graph, 0)
    if x is None or len(x.shape) != 4:
        return None
    a = op.attrs
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = op.input(graph, 1)
        kh, kw = int(w.shape[1]), int(w.shape[2])
    elif op.kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        kh, kw = int(a["filter_h"]), int(a["filter_w"])
    else:
        return None
    sh, sw = int(a.get("stride_h", 1)), int(a.get("stride_w", 1))
    dh, dw = int(a.get("dilation_h", 1)), int(a.get("dilation_w", 1))
    if op.kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        dh = dw = 1  # pools have no dilation
    pads = a.get("explicit_pads")
    if pads is None:
        pads = conv_pads(x.shape[1:3], (kh, kw), (sh, sw), (dh, dw), a.get("padding", "VALID"))
    return {"kh": kh, "kw": kw, "sh": sh, "sw": sw, "dh": dh, "dw": dw, "top": int(pads[0]), "left": int(pads[2])}


def _first_tap(origin: np.ndarray, dilation: int, taps: int, size: int):
    """(first input index read, whether any tap is inside) per window origin, as tc_valid_taps."""
    k0 = np.where(origin < 0, (-origin + dilation - 1) // dilation, 0)
    first = origin + k0 * dilation
    return first, (k0 < taps) & (first < size)


def field_starts(in_shape, out_shape, win: dict) -> np.ndarray:
    """Per output pixel (raster order over n, oh, ow), the lowest input byte offset its window reads.

    ``_NO_READ`` for a pixel whose window lies wholly in the padding.
    """
    n, ih, iw, ic = (int(d) for d in in_shape)
    _, oh, ow, _ = (int(d) for d in out_shape)
    y, y_ok = _first_tap(np.arange(oh) * win["sh"] - win["top"], win["dh"], win["kh"], ih)
    x, x_ok = _first_tap(np.arange(ow) * win["sw"] - win["left"], win["dw"], win["kw"], iw)
    pix = (y[:, None] * iw + x[None, :]) * ic
    pix = np.where(y_ok[:, None] & x_ok[None, :], pix, _NO_READ)
    batch = np.arange(n, dtype=np.int64)[:, None, None] * (ih * iw * ic)
    return (pix[None].astype(np.int64) + batch).reshape(-1)


def max_lag(starts: np.ndarray, out_channels: int, reads_current: bool) -> int:
    """Largest ``out_base - in_base`` (bytes) at which no output byte lands on an unread input byte.

    ``reads_current``: the kernel still reads pixel q's window while writing pixel q (depthwise,
    pools); otherwise the window was copied to scratch first (conv).
    """
    later = np.minimum.accumulate(starts[::-1])[::-1]  # min over q' >= q
    if not reads_current:
        later = np.append(later[1:], _NO_READ)  # min over q' > q
    ends = (np.arange(starts.size, dtype=np.int64) + 1) * out_channels
    return int(np.min(later - ends))


#: op kind -> whether its out-of-place kernel still reads pixel q's window while writing pixel q
_READS_CURRENT = {"CONV_2D": False, "DEPTHWISE_CONV_2D": True, "AVERAGE_POOL_2D": True, "MAX_POOL_2D": True}


def lag_bound(op, graph) -> Optional[int]:
    """The largest safe ``out_base - in_base`` (bytes) for ``op``'s input 0 and output, or None
    when its kernel has no overlap contract (see the module docstring)."""
    if op.kind not in _READS_CURRENT:
        return None
    x, y = op.input(graph, 0), op.output(graph)
    win = window_of(op, graph)
    if win is None or len(y.shape) != 4 or x.dtype != "int8" or y.dtype != "int8":
        return None
    return max_lag(field_starts(x.shape, y.shape, win), int(y.shape[3]), _READS_CURRENT[op.kind])


def chosen_lag(op, graph) -> Optional[int]:
    """The lag the planner uses: the bound rounded down to the arena alignment, capped at 0.

    A lag above 0 never shrinks the shared region below max(input, output) bytes (which lag 0
    already gives when it is safe), so the output starts at most at the input's start. A
    depthwise stays strictly below 0: equal offsets make codegen pick the in-place depthwise
    kernel, which needs a scratch plane this rule does not reserve.
    """
    bound = lag_bound(op, graph)
    if bound is None:
        return None
    cap = -ALIGN_BYTES if op.kind == "DEPTHWISE_CONV_2D" else 0
    return min(align_down(bound), cap)
