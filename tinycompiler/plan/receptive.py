"""Receptive fields of patch-based inference, computed backwards and exactly.

A patch of the split tensor is a rectangle of its rows and columns. Walking the stage's ops from
the split op back to the stage input, each op maps the region of its output that the patch needs
onto the region of each input it reads:

* window ops (CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D) with stride ``s``,
  dilated extent ``e = (k - 1) * d + 1`` and "before" padding ``p``: output rows ``[o0, o1)`` read
  input rows ``[o0*s - p, (o1-1)*s - p + e)``; clipped to the tensor, the rows cut off at the top
  are the patch's own ``pad_top`` (so a patch touching the image's top edge gets the layer's
  padding and an interior one gets 0; bottom/right padding stays implied by the output dims);
* PAD is a window op with a 1x1 kernel, stride 1 and ``p`` its paddings' before-amount; per patch
  it pads only where its region reaches outside the unpadded input;
* element-wise ops (ADD of two stage tensors, RELU, RELU6, LOGISTIC, HARD_SWISH, int8 QUANTIZE)
  read the same region they write.

A tensor read by two stage ops (a residual block's input, read by the expansion conv and the
ADD) gets the bounding box of both needs. An ADD may read a sub-window of a larger region (its
kernel takes strides); any other op must find its input region exactly as it needs it, because
the C kernels take dense tensors. Regions are half-open ``[start, stop)`` in the tensor's rows and
columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinycompiler.ir.shapes import conv_pads, effective_size

#: ops that read a window of their input
WINDOW_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "PAD")
#: element-wise ops with one activation input
UNARY_OPS = ("RELU", "RELU6", "LOGISTIC", "HARD_SWISH", "QUANTIZE")
#: every op kind a patch stage may contain
STAGE_OPS = WINDOW_OPS + UNARY_OPS + ("ADD",)


class RegionError(ValueError):
    """A stage whose regions the C kernels cannot run (the search skips such candidates)."""


@dataclass(frozen=True)
class Region:
    """Rows ``[r0, r1)`` and columns ``[c0, c1)`` of an NHWC tensor (batch 1)."""

    r0: int
    r1: int
    c0: int
    c1: int

    @property
    def h(self) -> int:
        return self.r1 - self.r0

    @property
    def w(self) -> int:
        return self.c1 - self.c0

    @property
    def pixels(self) -> int:
        return self.h * self.w

    def hull(self, other: "Region") -> "Region":
        """The smallest region holding both."""
        return Region(min(self.r0, other.r0), max(self.r1, other.r1), min(self.c0, other.c0), max(self.c1, other.c1))

    def contains(self, other: "Region") -> bool:
        return self.r0 <= other.r0 and other.r1 <= self.r1 and self.c0 <= other.c0 and other.c1 <= self.c1


@dataclass(frozen=True)
class Window:
    """One spatial axis pair of a window op: kernel extent, stride and "before" padding (elements)."""

    extent_h: int
    extent_w: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int


def op_window(op, graph) -> Window:
    """The window of a WINDOW_OPS op, with the layer's own (whole-tensor) padding."""
    x = op.input(graph, 0)
    a = op.attrs
    if op.kind == "PAD":
        p = op.input(graph, 1).data.reshape(-1, 2)
        return Window(1, 1, 1, 1, int(p[1, 0]), int(p[2, 0]))
    if op.kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        kh, kw, dh, dw = int(a["filter_h"]), int(a["filter_w"]), 1, 1
    else:
        w = op.input(graph, 1)
        kh, kw = int(w.shape[1]), int(w.shape[2])
        dh, dw = int(a.get("dilation_h", 1)), int(a.get("dilation_w", 1))
    sh, sw = int(a.get("stride_h", 1)), int(a.get("stride_w", 1))
    pads = a.get("explicit_pads")  # a PAD folded into the conv (tinycompiler.passes.fold_pad)
    if pads is None:
        pads = conv_pads(x.shape[1:3], (kh, kw), (sh, sw), (dh, dw), a.get("padding", "VALID"))
    top, left = int(pads[0]), int(pads[2])
    return Window(effective_size(kh, dh), effective_size(kw, dw), sh, sw, top, left)


def window_span(o0: int, o1: int, extent: int, stride: int, pad: int, size: int) -> tuple:
    """(i0, i1, pad_before): input rows ``[i0, i1)`` that output rows ``[o0, o1)`` read, clipped to
    ``[0, size)``, and the padding rows before ``i0`` this patch's kernel must assume."""
    lo = o0 * stride - pad
    hi = (o1 - 1) * stride - pad + extent
    i0, i1 = max(lo, 0), min(hi, size)
    return i0, max(i1, i0), i0 - lo


def stage_windows(graph, stage_ops) -> dict:
    """op index -> Window of every window op among ``stage_ops`` (computed once per search)."""
    return {i: op_window(graph.ops[i], graph) for i in stage_ops if graph.ops[i].kind in WINDOW_OPS}


def input_need(op, graph, out: Region, win: Window = None) -> Region:
    """The region of input 0 that ``out`` of ``op``'s output reads (ADD: of both inputs)."""
    if op.kind not in WINDOW_OPS:
        return out
    x = op.input(graph, 0)
    win = win or op_window(op, graph)
    r0, r1, _ = window_span(out.r0, out.r1, win.extent_h, win.stride_h, win.pad_top, int(x.shape[1]))
    c0, c1, _ = window_span(out.c0, out.c1, win.extent_w, win.stride_w, win.pad_left, int(x.shape[2]))
    return Region(r0, r1, c0, c1)


def patch_pads(op, graph, in_region: Region, out: Region, win: Window = None) -> tuple:
    """(pad_top, pad_left, pad_bottom, pad_right) of one patch: the padding the kernel must assume
    around ``in_region`` (the input buffer it is given) to compute ``out``.

    Raises RegionError when the buffer starts before the first row or column the window reads (a
    dense kernel cannot skip leading rows or columns; padding cannot be negative).
    """
    if op.kind not in WINDOW_OPS:
        return 0, 0, 0, 0
    win = win or op_window(op, graph)
    top = in_region.r0 - (out.r0 * win.stride_h - win.pad_top)
    left = in_region.c0 - (out.c0 * win.stride_w - win.pad_left)
    bottom = (out.r1 - 1) * win.stride_h - win.pad_top + win.extent_h - in_region.r1
    right = (out.c1 - 1) * win.stride_w - win.pad_left + win.extent_w - in_region.c1
    if top < 0 or left < 0:
        raise RegionError(f"{op.where()}: its input region starts before the window reads it")
    return top, left, max(bottom, 0), max(right, 0)


def stage_regions(graph, stage_ops: list, split_tensor: int, patch: Region, windows: dict = None) -> dict:
    """tensor index -> Region of every activation the stage reads or writes, for one patch.

    Walks ``stage_ops`` (op indices in schedule order) backwards from ``patch`` of
    ``split_tensor``; a tensor read by several stage ops gets the hull of their needs. Raises
    RegionError when a non-ADD op would get a larger input region than it reads, or an op's output
    is not needed by the stage. ``windows``: :func:`stage_windows`, when the caller has them.
    """
    windows = windows if windows is not None else stage_windows(graph, stage_ops)
    regions = {split_tensor: patch}
    needs = []
    for i in reversed(stage_ops):
        op = graph.ops[i]
        out = regions.get(op.outputs[0])
        if out is None:
            raise RegionError(f"{op.where()}: its output is not read inside the stage")
        need = input_need(op, graph, out, windows.get(i))
        for t in op.inputs[: 2 if op.kind == "ADD" else 1]:
            regions[t] = regions[t].hull(need) if t in regions else need
            needs.append((op, t, need))
    for op, t, need in needs:
        if need.pixels == 0:  # e.g. a patch lying wholly in a PAD's padding: kernels refuse 0 dims
            raise RegionError(f"{op.where()}: a patch reads nothing of its input")
        if op.kind != "ADD" and regions[t] != need:
            raise RegionError(f"{op.where()}: reads only part of its input's patch region")
    return regions


def split_axis(size: int, parts: int) -> list:
    """``parts`` near-equal half-open spans covering ``[0, size)`` (larger ones last)."""
    edges = [size * k // parts for k in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


def grid_patches(h: int, w: int, grid: tuple) -> list:
    """Regions of an ``n x m`` grid over an ``h x w`` tensor, row-major."""
    n, m = grid
    return [Region(r0, r1, c0, c1) for r0, r1 in split_axis(h, n) for c0, c1 in split_axis(w, m)]
