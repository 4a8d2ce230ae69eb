"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED lowered onto the tc_conv.h kernels.

The kernel arguments come from :func:`tinycompiler.codegen.weights_layout.kernel_args` (the same
derivation the kernel tests use). Python picks the fast path here, with the same predicates as
the C wrappers, so generated code calls the one kernel it needs and links nothing else.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinycompiler.codegen.program import Call
from tinycompiler.codegen.weights_layout import (conv_c1_packed_weights, conv_packed_weights, pair_lanes_ok,
                                                 depthwise_packed_weights, fc_packed_weights, folded_bias, kernel_args, requant_lean,
                                                 requant_table)


def conv_kernel(args) -> str:
    """The tc_conv2d_* kernel for CONV_2D arguments."""
    p = args.params
    _, kh, kw, ci = args.filter_dims
    if kh == 1 and kw == 1 and p["pad_top"] == 0 and p["pad_left"] == 0:
        return "tc_conv2d_1x1_s8"
    if ci == 3 and args.input_dims[3] == 3:
        return "tc_conv2d_rgb_s8"
    return "tc_conv2d_im2col_s8"


def conv_scratch_bytes(op, graph) -> int:
    """Scratch of a CONV_2D (bytes): tc_conv2d_packed_s8's two int8 columns, 2 * K4 with K4 = kh * kw * ci
    rounded up to 4 (tc_conv2d_packed_s8_scratch_bytes). That also covers what the natural-weight kernels
    of :func:`conv_kernel` need (2 * ci for 1x1, 2 * kh * kw * ci otherwise), which a patch stage runs."""
    return 2 * _k4(kernel_args(op, graph))


def _packed_arrays(op, ctx, args, weights_role, packed_weights, dtype=np.int8, table=True) -> tuple:
    """Arrays of a packed kernel: weights, folded bias, then the tc_rq table when it exists (and
    ``table``), else the per-channel multiplier and shift (a kernel given rows never reads them)."""
    arrays = [ctx.array(op, weights_role, packed_weights, dtype),
              ctx.array(op, "bias", folded_bias(args), np.int32)]
    rq = requant_table(args) if table else None
    if rq is not None:
        arrays.append(ctx.array(op, "rq", rq, np.int32))
    else:
        arrays += [ctx.array(op, "mult", args.multiplier, np.int32),
                   ctx.array(op, "shift", args.shift, np.int32)]
    return arrays, rq is not None


def depthwise_kernel(args) -> str:
    """The out-of-place tc_depthwise_* kernel for DEPTHWISE_CONV_2D arguments."""
    p = args.params
    _, kh, kw, _ = args.filter_dims
    if kh == 3 and kw == 3 and p["depth_multiplier"] == 1 and p["dilation_h"] == 1 and p["dilation_w"] == 1:
        return "tc_depthwise_conv2d_3x3_s8"
    return "tc_depthwise_conv2d_s8"


def depthwise_fast_kernel(args) -> str:
    """The kernel of a layer-by-layer, out-of-place DEPTHWISE_CONV_2D: the packed fast path (compile-time
    int16 weights, folded bias) for depth multiplier 1, else :func:`depthwise_kernel`'s choice.
    (:func:`depthwise_kernel` keeps the kernels that read the model's own weight bytes.)"""
    if args.params["depth_multiplier"] == 1:
        return "tc_depthwise_conv2d_packed_s8"
    return depthwise_kernel(args)


def kernel_arrays(op, ctx, args, weights_role):
    """The const arrays a conv-family call reads: weights, per-channel multiplier/shift, bias."""
    arrays = [ctx.array(op, weights_role, args.weights, np.int8),
              ctx.array(op, "mult", args.multiplier, np.int32),
              ctx.array(op, "shift", args.shift, np.int32)]
    if args.bias is not None:
        arrays.append(ctx.array(op, "bias", args.bias, np.int32))
    return arrays


def _call_args(op, graph, ctx, args, kernel) -> dict:
    x, y = op.input(graph, 0), op.output(graph)
    scratch_off, _ = ctx.scratch(op)
    return {**args.params, "kernel": kernel, "in_dims": args.input_dims, "filter_dims": args.filter_dims,
            "out_dims": args.output_dims, "input": ctx.offset(x.index), "output": ctx.offset(y.index),
            "scratch": scratch_off, "bias": args.bias is not None, "packed": False, "rq": False}


def _k4(args) -> int:
    _, kh, kw, ci = args.filter_dims
    return (kh * kw * ci + 3) // 4 * 4


def wide_scratch_wants(graph, plan) -> dict:
    """Op index -> scratch bytes of tc_conv2d_packed_wide_s8 (4 * K4) for every CONV_2D run layer by
    layer (a patch stage runs its own kernels): what :func:`~tinycompiler.plan.scratch_room.widen_scratch`
    tries to find room for."""
    stage = set(plan.patch.stage_ops) if getattr(plan, "patch", None) is not None else set()
    wants = {}
    for op in graph.ops:
        if op.kind == "CONV_2D" and op.index not in stage:
            args = kernel_args(op, graph)
            if pair_lanes_ok(args):
                wants[op.index] = 4 * _k4(args)
    return wants


def lower_conv(op, graph, ctx) -> Call:
    """Every CONV_2D runs tc_conv2d_packed_s8 (compile-time packed weights, folded bias, tc_rq), or its
    wide twin (int16 columns, faster) when the plan gave the op 4 * K4 bytes of scratch; weights the
    packed lanes cannot hold (a -128 weight beside a negative one, see pair_lanes_ok) run the generic
    tc_conv2d_im2col_s8 on the model's own weight bytes."""
    args = kernel_args(op, graph)
    if not pair_lanes_ok(args):
        kernel = "tc_conv2d_im2col_s8"
        _, kh, kw, _ = args.filter_dims
        comment = (f"CONV_2D {kh}x{kw} {list(args.input_dims)} -> {list(args.output_dims)} ({kernel}: weights "
                   "outside the packed lanes)")
        return Call(op.index, "conv2d", comment, _call_args(op, graph, ctx, args, kernel),
                    kernel_arrays(op, ctx, args, "filter"), [kernel])
    wide = ctx.scratch(op)[1] >= 4 * _k4(args)
    kernel = "tc_conv2d_packed_wide_s8" if wide else "tc_conv2d_packed_s8"
    _, kh, kw, _ = args.filter_dims
    comment = f"CONV_2D {kh}x{kw} {list(args.input_dims)} -> {list(args.output_dims)} ({kernel})"
    arrays = [ctx.array(op, "filter", conv_packed_weights(args), np.int8),
              ctx.array(op, "bias", folded_bias(args), np.int32)]
    rows = requant_table(args)
    lean = requant_lean(args, rows) if ctx.lean and rows is not None else None
    if lean is not None:  # tc_rq_lean: multipliers, add by shift, shift bytes (5 B per channel)
        table, channels, adds = lean
        arrays.append(ctx.array(op, "rq", table, np.int32))
    elif rows is not None:  # tc_rq rows: 12 B per channel, the fastest to decode
        arrays.append(ctx.array(op, "rq", rows, np.int32))
    else:
        arrays += [ctx.array(op, "mult", args.multiplier, np.int32), ctx.array(op, "shift", args.shift, np.int32)]
    call_args = {**_call_args(op, graph, ctx, args, kernel), "bias": True, "packed": True, "rq": rows is not None,
                 "lean": None if lean is None else {"channels": channels, "adds": adds}}
    return Call(op.index, "conv2d", comment, call_args, arrays, [kernel])


def _single_channel_multiplier(args) -> bool:
    """A depthwise with one input channel and depth multiplier > 1 is a CONV_2D of in_ch 1 (filter
    [1, kh, kw, M] = OHWI [M, kh, kw, 1]): tc_conv2d_c1_packed_s8 runs it without scratch (dilation_w 1),
    tc_conv2d_im2col_s8 otherwise."""
    return args.input_dims[3] == 1 and args.params["depth_multiplier"] > 1


def one_channel_conv_args(args):
    """The CONV_2D kernel arguments of a one-input-channel DEPTHWISE_CONV_2D (filter [1, kh, kw, M] as
    OHWI [M, kh, kw, 1]; same bias, quantization and window)."""
    _, kh, kw, m = args.filter_dims
    filt = np.ascontiguousarray(np.asarray(args.weights, np.int8).reshape(kh, kw, m).transpose(2, 0, 1)
                                .reshape(m, kh, kw, 1))
    return dataclasses.replace(args, kind="CONV_2D", filter_dims=(m, kh, kw, 1), weights=filt,
                               params={k: v for k, v in args.params.items() if k != "depth_multiplier"})


def _depthwise_as_conv(op, graph, ctx, args) -> Call:
    _, kh, kw, m = args.filter_dims
    conv = one_channel_conv_args(args)
    kernel = "tc_conv2d_c1_packed_s8" if args.params["dilation_w"] == 1 else "tc_conv2d_im2col_s8"
    comment = (f"DEPTHWISE_CONV_2D {kh}x{kw} x{m} {list(args.input_dims)} -> {list(args.output_dims)} "
               f"as a one-channel conv ({kernel})")
    call_args = _call_args(op, graph, ctx, conv, kernel)
    if kernel == "tc_conv2d_c1_packed_s8":
        arrays, has_rq = _packed_arrays(op, ctx, conv, "filter", conv_c1_packed_weights(conv), np.int16)
        call_args.update(bias=True, rq=has_rq, c1=True)
    else:
        arrays = kernel_arrays(op, ctx, conv, "filter")
    return Call(op.index, "conv2d", comment, call_args, arrays, [kernel])


def _folds_per_group(args, scratch_bytes: int) -> bool:
    """Whether the in-place kernel runs every channel in groups of four (a ring of 4 R bytes, C a multiple
    of 4). It then folds each group's tc_rq rows itself from the multiplier and shift, once per group, so
    the 12-byte rows need not be in flash (8 bytes per channel instead of 12, for 0.2-0.5% more
    instructions on the shared models: the lean layouts take it)."""
    from tinycompiler.plan.inplace import ring_pixels

    p = args.params
    win = {"sh": p["stride_h"], "sw": p["stride_w"], "top": p["pad_top"], "left": p["pad_left"]}
    return args.input_dims[3] % 4 == 0 and scratch_bytes >= 4 * ring_pixels(args.input_dims, args.output_dims, win)


def lower_depthwise(op, graph, ctx) -> Call:
    args = kernel_args(op, graph)
    if _single_channel_multiplier(args):
        return _depthwise_as_conv(op, graph, ctx, args)
    inplace = ctx.offset(op.inputs[0]) == ctx.offset(op.outputs[0])
    kernel = "tc_depthwise_conv2d_inplace_packed_s8" if inplace else depthwise_fast_kernel(args)
    _, kh, kw, _ = args.filter_dims
    comment = f"DEPTHWISE_CONV_2D {kh}x{kw} {list(args.input_dims)} -> {list(args.output_dims)} ({kernel})"
    call_args = {**_call_args(op, graph, ctx, args, kernel), "inplace": inplace,
                 "scratch_bytes": ctx.scratch(op)[1],
                 "packed": kernel in ("tc_depthwise_conv2d_packed_s8", "tc_depthwise_conv2d_inplace_packed_s8")}
    if call_args["packed"]:
        kernel_folds = ctx.lean and inplace and _folds_per_group(args, call_args["scratch_bytes"])
        arrays, has_rq = _packed_arrays(op, ctx, args, "filter", depthwise_packed_weights(args), np.int16,
                                        table=not kernel_folds)
        # every channel has a folded form (rows given, or folded by the kernel): what kernel_config needs
        call_args.update(bias=True, rq=has_rq, folds=requant_table(args) is not None)
    else:
        arrays = kernel_arrays(op, ctx, args, "filter")
    return Call(op.index, "depthwise", comment, call_args, arrays, [kernel])


def lower_fully_connected(op, graph, ctx) -> Call:
    """tc_fully_connected_packed_s8 (row pairs in shared lanes, folded bias, tc_rq), or the natural
    tc_fully_connected_s8 on the model's own weights where the lanes cannot hold them (pair_lanes_ok)."""
    args = kernel_args(op, graph)
    batches, _, _, in_depth = args.input_dims
    out_depth = args.output_dims[3]
    packed = pair_lanes_ok(args)
    kernel = "tc_fully_connected_packed_s8" if packed else "tc_fully_connected_s8"
    if packed:
        arrays, has_rq = _packed_arrays(op, ctx, args, "weights", fc_packed_weights(args))
    else:
        arrays, has_rq = kernel_arrays(op, ctx, args, "weights"), False
    call_args = {**args.params, "batches": batches, "in_depth": in_depth, "out_depth": out_depth,
                 "input": ctx.offset(op.inputs[0]), "output": ctx.offset(op.outputs[0]),
                 "bias": packed or args.bias is not None, "rq": has_rq, "packed": packed}
    comment = f"FULLY_CONNECTED {in_depth} -> {out_depth} x{batches} ({kernel})"
    return Call(op.index, "fully_connected", comment, call_args, arrays, [kernel])


def depthwise_scratch_bytes(op, graph) -> int:
    """The im2col column of a one-input-channel depthwise run as a dilated conv (2 * kh * kw bytes; the
    undilated ones run tc_conv2d_c1_packed_s8, which needs none); else 0:
    only the in-place kernel needs scratch, and the planner adds it when it aliases."""
    args = kernel_args(op, graph)
    if _single_channel_multiplier(args) and args.params["dilation_w"] != 1:
        _, kh, kw, _ = args.filter_dims
        return 2 * kh * kw
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
