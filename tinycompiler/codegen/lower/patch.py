"""The patch stage lowered to one Call: a loop over the patches running every stage kernel.

Per patch, the generated code copies the stage input's receptive field into the dense
``patch.input`` buffer (``tc_copy_region_s8``; ``tc_copy_region_nchw_s8`` gathers it from the
NCHW tensor when the stage's leading TRANSPOSE is fused into its reads), runs each stage op on its patch-sized tensors, and
copies the ``patch.output`` buffer into the full split tensor. Everything that varies between
patches (dims, per-patch padding, ADD sub-window offsets and strides, element counts) goes into
small const tables indexed by the patch number, so the kernel calls appear once: a loop is never
larger than unrolling (an unrolled patch repeats every call sequence, ~40 bytes of Thumb code per
kernel call, and needs the same per-patch structs), and it is far smaller for big grids.

Kernel arguments that do not vary come from the same helpers the layer-by-layer lowering uses
(:func:`~tinycompiler.codegen.weights_layout.kernel_args`, :mod:`.conv`,
:func:`~tinycompiler.codegen.op_params.op_params`); only the padding and dims are patch-local.
"""

from __future__ import annotations

from tinycompiler.codegen.lower.conv import conv_kernel, depthwise_kernel, kernel_arrays
from tinycompiler.codegen.op_params import MAX_DIMS, op_params
from tinycompiler.codegen.program import Call
from tinycompiler.codegen.weights_layout import kernel_args
from tinycompiler.errors import TinyCompilerError
from tinycompiler.plan.receptive import patch_pads

#: params struct of each element-wise kernel a stage may hold
_UNARY_STRUCT = {"tc_relu_s8": "tc_relu_params", "tc_relu6_s8": "tc_relu6_params",
                 "tc_logistic_s8": "tc_logistic_params", "tc_hard_swish_s8": "tc_hard_swish_params",
                 "tc_requantize_s8": "tc_requant_params"}


def _dims(region, c: int) -> tuple:
    return (1, region.h, region.w, int(c))


def _fill(values, fill) -> list:
    return list(values) + [fill] * (MAX_DIMS - len(values))


class _Where:
    """Arena offsets of the stage's tensors: per-patch buffers, with the two dense patch copies."""

    def __init__(self, ctx, pp):
        self.ctx, self.pp = ctx, pp
        self.p_in = ctx.plan.patch_buffers["input"][0]
        self.p_out = ctx.plan.patch_buffers["output"][0]

    def __call__(self, t: int) -> int:
        if t == self.pp.input_tensor:
            return self.p_in
        if t == self.pp.split_tensor:
            return self.p_out
        return self.ctx.offset(t)


def _window_op(op, graph, ctx, pp, where, kind: str) -> tuple:
    """conv / depthwise: the kernel args with per-patch padding and dims."""
    args = kernel_args(op, graph)
    kernel = conv_kernel(args) if kind == "conv" else depthwise_kernel(args)
    x, y = op.inputs[0], op.outputs[0]
    cin, cout = args.input_dims[3], args.output_dims[3]
    params, in_dims, out_dims = [], [], []
    for regions in pp.patches:
        top, left, _, _ = patch_pads(op, graph, regions[x], regions[y])
        params.append({**args.params, "pad_top": top, "pad_left": left})
        in_dims.append(_dims(regions[x], cin))
        out_dims.append(_dims(regions[y], cout))
    scratch_off, _ = ctx.scratch(op)
    sub = {"kind": kind, "name": f"op{op.index}", "kernel": kernel, "params": params, "in_dims": in_dims,
           "out_dims": out_dims, "filter_dims": args.filter_dims, "bias": args.bias is not None,
           "input": where(x), "output": where(y), "scratch": scratch_off}
    return sub, kernel_arrays(op, ctx, args, "filter"), [kernel]


def _pool(op, graph, ctx, pp, where) -> tuple:
    p = op_params(op, graph)
    x, y = op.inputs[0], op.outputs[0]
    c = int(graph.tensors[x].shape[3])
    params, in_dims, out_dims = [], [], []
    for regions in pp.patches:
        top, left, _, _ = patch_pads(op, graph, regions[x], regions[y])
        params.append({**p["params"], "pad_top": top, "pad_left": left})
        in_dims.append(_dims(regions[x], c))
        out_dims.append(_dims(regions[y], c))
    sub = {"kind": "pool", "name": f"op{op.index}", "kernel": p["kernel"], "params": params,
           "in_dims": in_dims, "out_dims": out_dims, "checked": p["kernel"] == "tc_avgpool_s8",
           "input": where(x), "output": where(y)}
    return sub, [], [p["kernel"]]


def _pad(op, graph, ctx, pp, where) -> tuple:
    value = op_params(op, graph)["params"]["pad_value"]
    x, y = op.inputs[0], op.outputs[0]
    c = int(graph.tensors[x].shape[3])
    params = []
    for regions in pp.patches:
        top, left, bottom, right = patch_pads(op, graph, regions[x], regions[y])
        r = regions[x]
        params.append({"rank": 3, "in_dims": _fill([r.h, r.w, c], 1), "pad_before": _fill([top, left, 0], 0),
                       "pad_after": _fill([bottom, right, 0], 0), "pad_value": value})
    sub = {"kind": "pad", "name": f"op{op.index}", "kernel": "tc_pad_s8", "params": params,
           "input": where(x), "output": where(y)}
    return sub, [], ["tc_pad_s8"]


def _add(op, graph, ctx, pp, where) -> tuple:
    p = op_params(op, graph)
    y = op.outputs[0]
    c = int(graph.tensors[y].shape[3])
    broadcast, offsets = [], [[], []]
    for regions in pp.patches:
        out = regions[y]
        strides = []
        for k, t in enumerate(op.inputs[:2]):
            src = regions[t]  # the ADD reads a sub-window of a (possibly larger) patch region
            offsets[k].append(((out.r0 - src.r0) * src.w + (out.c0 - src.c0)) * c)
            strides.append(_fill([src.w * c, c, 1], 0))
        broadcast.append({"rank": 3, "out_dims": _fill([out.h, out.w, c], 1), "in1_strides": strides[0],
                          "in2_strides": strides[1]})
    sub = {"kind": "add", "name": f"op{op.index}", "kernel": p["kernel"], "params": p["params"],
           "broadcast": broadcast, "in1_offsets": offsets[0], "in2_offsets": offsets[1],
           "in1": where(op.inputs[0]), "in2": where(op.inputs[1]), "output": where(y)}
    return sub, [], [p["kernel"]]


def _unary(op, graph, ctx, pp, where) -> tuple:
    p = op_params(op, graph)
    struct = _UNARY_STRUCT.get(p["kernel"])
    if struct is None:
        raise TinyCompilerError(f"{op.where()}: {p['kernel']} cannot run in a patch stage; use --patch off")
    y = op.outputs[0]
    c = int(graph.tensors[y].shape[3])
    sub = {"kind": "unary", "name": f"op{op.index}", "kernel": p["kernel"], "struct": struct,
           "params": p["params"], "sizes": [regions[y].pixels * c for regions in pp.patches],
           "input": where(op.inputs[0]), "output": where(y)}
    return sub, [], [p["kernel"]]


def _sub_call(op, graph, ctx, pp, where) -> tuple:
    if op.kind == "CONV_2D":
        return _window_op(op, graph, ctx, pp, where, "conv")
    if op.kind == "DEPTHWISE_CONV_2D":
        return _window_op(op, graph, ctx, pp, where, "dw")
    if op.kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return _pool(op, graph, ctx, pp, where)
    if op.kind == "PAD":
        return _pad(op, graph, ctx, pp, where)
    if op.kind == "ADD":
        return _add(op, graph, ctx, pp, where)
    return _unary(op, graph, ctx, pp, where)


def _region(r) -> dict:
    return {"y": r.r0, "x": r.c0, "h": r.h, "w": r.w}


def lower_stage(graph, ctx) -> Call:
    """The Call of the whole patch stage of ``ctx.plan.patch`` (rendered by patch_stage.c.j2)."""
    pp = ctx.plan.patch
    where = _Where(ctx, pp)
    gather = "tc_copy_region_nchw_s8" if pp.source_layout == "NCHW" else "tc_copy_region_s8"
    subs, arrays, functions = [], [], list(dict.fromkeys([gather, "tc_copy_region_s8"]))
    for i in pp.body_ops:
        sub, arr, fns = _sub_call(graph.ops[i], graph, ctx, pp, where)
        subs.append(sub)
        arrays += arr
        functions += [f for f in fns if f not in functions]
    x, s = graph.tensors[pp.input_tensor], graph.tensors[pp.split_tensor]
    args = {"name": f"stage{pp.split_op}", "patches": len(pp.patches), "ops": subs,
            "in_regions": [_region(r[pp.input_tensor]) for r in pp.patches],
            "out_regions": [_region(r[pp.split_tensor]) for r in pp.patches],
            "gather": gather, "input_h": int(x.shape[1]),
            "input": ctx.offset(pp.source_tensor), "input_w": int(x.shape[2]), "input_c": int(x.shape[3]),
            "patch_input": where.p_in, "patch_output": where.p_out,
            "split": ctx.offset(pp.split_tensor), "split_w": int(s.shape[2]), "split_c": int(s.shape[3])}
    n, m = pp.grid
    lead = " (its NCHW TRANSPOSE fused into the patch reads)" if pp.lead_ops else ""
    comment = (f"patch stage: ops {pp.stage_ops[0]}..{pp.split_op}{lead} on a {n}x{m} grid of "
               f"{list(s.shape)} (+{pp.extra_macs} MACs recomputed)")
    return Call(pp.split_op, "patch_stage", comment, args, arrays, functions)
