"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED lowered onto the tc_conv.h kernels.

Python picks the fast path (the same predicates as the C wrappers), so generated code calls the
one kernel it needs and links nothing else.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.codegen.lower.context import dims4
from tinycompiler.codegen.program import Call
from tinycompiler.ir import conv_pads
from tinycompiler.reference.quant import conv_multipliers, dtype_range, output_activation_range


def _quant_arrays(op, graph, ctx, channels):
    x, w, y = op.input(graph, 0), op.input(graph, 1), op.output(graph)
    mult, shift = conv_multipliers(x.quant.s, w.quant.scale, y.quant.s, channels)
    return [ctx.array(op, "mult", mult, np.int32), ctx.array(op, "shift", shift, np.int32)]


def _common(op, graph):
    x, y = op.input(graph, 0), op.output(graph)
    qmin, qmax = dtype_range(y.dtype)
    act_min, act_max = output_activation_range(op, graph, qmin, qmax)
    return {"input_offset": -x.quant.zp, "output_offset": y.quant.zp, "act_min": act_min, "act_max": act_max}


def _window(op, graph):
    x, w = op.input(graph, 0), op.input(graph, 1)
    a = op.attrs
    top, _, left, _ = conv_pads(x.shape[1:3], w.shape[1:3], (a["stride_h"], a["stride_w"]),
                                (a.get("dilation_h", 1), a.get("dilation_w", 1)), a["padding"])
    return {"stride_h": a["stride_h"], "stride_w": a["stride_w"], "dilation_h": a.get("dilation_h", 1),
            "dilation_w": a.get("dilation_w", 1), "pad_top": top, "pad_left": left}


def conv_kernel(op, graph) -> str:
    """The tc_conv2d_* kernel a CONV_2D uses."""
    x, w = op.input(graph, 0), op.input(graph, 1)
    win = _window(op, graph)
    if w.shape[1] == 1 and w.shape[2] == 1 and win["pad_top"] == 0 and win["pad_left"] == 0:
        return "tc_conv2d_1x1_s8"
    if x.shape[3] == 3 and w.shape[3] == 3:
        return "tc_conv2d_rgb_s8"
    return "tc_conv2d_im2col_s8"


def conv_scratch_bytes(op, graph) -> int:
    """Scratch of the chosen CONV_2D kernel (bytes), as its C *_scratch_bytes query returns."""
    x, w = op.input(graph, 0), op.input(graph, 1)
    kernel = conv_kernel(op, graph)
    if kernel == "tc_conv2d_1x1_s8":
        return 2 * x.shape[3]
    if kernel == "tc_conv2d_rgb_s8":
        return 2 * w.shape[1] * w.shape[2] * 3
    return 2 * w.shape[1] * w.shape[2] * w.shape[3]


def lower_conv(op, graph, ctx) -> Call:
    x, w, b, y = op.input(graph, 0), op.input(graph, 1), op.input(graph, 2), op.output(graph)
    kernel = conv_kernel(op, graph)
    arrays = [ctx.array(op, "filter", w.data, np.int8)] + _quant_arrays(op, graph, ctx, y.shape[3])
    if b is not None:
        arrays.append(ctx.array(op, "bias", b.data, np.int32))
    scratch_off, _ = ctx.scratch(op)
    args = {**_common(op, graph), **_window(op, graph), "kernel": kernel,
            "in_dims": dims4(x.shape), "filter_dims": dims4(w.shape), "out_dims": dims4(y.shape),
            "input": ctx.offset(x.index), "output": ctx.offset(y.index), "scratch": scratch_off,
            "bias": b is not None}
    comment = f"CONV_2D {w.shape[1]}x{w.shape[2]} {list(x.shape)} -> {list(y.shape)} ({kernel})"
    return Call(op.index, "conv2d", comment, args, arrays, [kernel])


def depthwise_kernel(op, graph) -> str:
    """The tc_depthwise_* kernel a DEPTHWISE_CONV_2D uses (in place when the plan aliased it)."""
    w = op.input(graph, 1)
    a = op.attrs
    if (w.shape[1] == 3 and w.shape[2] == 3 and a.get("depth_multiplier", 1) == 1
            and a.get("dilation_h", 1) == 1 and a.get("dilation_w", 1) == 1):
        return "tc_depthwise_conv2d_3x3_s8"
    return "tc_depthwise_conv2d_s8"


def lower_depthwise(op, graph, ctx) -> Call:
    x, w, b, y = op.input(graph, 0), op.input(graph, 1), op.input(graph, 2), op.output(graph)
    inplace = ctx.offset(x.index) == ctx.offset(y.index)
    kernel = "tc_depthwise_conv2d_inplace_s8" if inplace else depthwise_kernel(op, graph)
    arrays = [ctx.array(op, "filter", w.data, np.int8)] + _quant_arrays(op, graph, ctx, y.shape[3])
    if b is not None:
        arrays.append(ctx.array(op, "bias", b.data, np.int32))
    scratch_off, _ = ctx.scratch(op)
    args = {**_common(op, graph), **_window(op, graph), "kernel": kernel, "inplace": inplace,
            "depth_multiplier": op.attrs.get("depth_multiplier", 1),
            "in_dims": dims4(x.shape), "filter_dims": dims4(w.shape), "out_dims": dims4(y.shape),
            "input": ctx.offset(x.index), "output": ctx.offset(y.index), "scratch": scratch_off,
            "bias": b is not None}
    comment = f"DEPTHWISE_CONV_2D {w.shape[1]}x{w.shape[2]} {list(x.shape)} -> {list(y.shape)} ({kernel})"
    return Call(op.index, "depthwise", comment, args, arrays, [kernel])


def lower_fully_connected(op, graph, ctx) -> Call:
    x, w, b, y = op.input(graph, 0), op.input(graph, 1), op.input(graph, 2), op.output(graph)
    out_depth, in_depth = int(w.shape[0]), int(w.shape[1])
    batches = x.size // in_depth
    per_channel = w.quant.per_channel
    channels = out_depth if per_channel else 1
    arrays = [ctx.array(op, "weights", w.data, np.int8)] + _quant_arrays(op, graph, ctx, channels)
    if b is not None:
        arrays.append(ctx.array(op, "bias", b.data, np.int32))
    args = {**_common(op, graph), "per_channel": int(per_channel), "batches": batches,
            "in_depth": in_depth, "out_depth": out_depth,
            "input": ctx.offset(x.index), "output": ctx.offset(y.index), "bias": b is not None}
    comment = f"FULLY_CONNECTED {in_depth} -> {out_depth} x{batches}"
    return Call(op.index, "fully_connected", comment, args, arrays, ["tc_fully_connected_s8"])


def depthwise_scratch_bytes(op, graph) -> int:
    """In-place depthwise needs one output channel plane (bytes); the planner decides in-place."""
    return 0


LOWER = {
    "CONV_2D": lower_conv,
    "DEPTHWISE_CONV_2D": lower_depthwise,
    "FULLY_CONNECTED": lower_fully_connected,
}
SCRATCH = {
    "CONV_2D": conv_scratch_bytes,
    "DEPTHWISE_CONV_2D": depthwise_scratch_bytes,
}
