"""What the conv-family C kernels (runtime_c/include/tc_conv.h) expect, derived from an IR op.

The kernels read weights in TFLite's own layouts (conv OHWI, depthwise [1, H, W, C*M], FC [O, I])
and the model's raw int32 bias: no reordering and no bias folding is needed, so the weight bytes of
the model go to flash unchanged. This module turns a CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED
op into the exact arguments of those kernels (``tc_conv_params`` / ``tc_dw_conv_params`` /
``tc_fc_params`` fields, per-channel multiplier/shift arrays, dims), so codegen and the kernel tests
derive them one way. Multipliers come from :mod:`tinycompiler.reference.quant` (TFLite's
QuantizeMultiplier), which is what makes the C bit-exact with the numpy reference and TFLM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.ir.shapes import conv_pads
from tinycompiler.reference.quant import conv_multipliers, dtype_range, output_activation_range


@dataclass
class KernelArgs:
    """Arguments of one conv-family kernel call.

    ``params``: the params struct fields by name (``act_min``/``act_max`` for ``act``);
    ``input_dims``/``filter_dims``/``output_dims``: NHWC ``(n, h, w, c)`` as the kernel wants them
    (FC: ``input_dims = (batches, 1, 1, in_depth)``, ``filter_dims = (out, 1, 1, in)``);
    ``weights`` int8 and ``bias`` int32 (or None) in the kernel's layout; ``multiplier``/``shift``
    int32 per output channel (FC per-tensor: one element, ``params["per_channel"] == 0``).
    """

    kind: str
    params: dict
    input_dims: tuple
    filter_dims: tuple
    output_dims: tuple
    weights: np.ndarray
    bias: np.ndarray | None
    multiplier: np.ndarray
    shift: np.ndarray
    extra: dict = field(default_factory=dict)


def _dims4(shape) -> tuple:
    shape = tuple(int(d) for d in shape)
    if len(shape) > 4:
        raise TinyCompilerError(f"tensor of rank {len(shape)} is not supported by the conv kernels")
    return (1,) * (4 - len(shape)) + shape


def _common(op, graph):
    x, w, out = op.input(graph, 0), op.input(graph, 1), op.output(graph)
    for t in (x, w, out):
        if t.quant is None or t.dtype != "int8":
            raise TinyCompilerError(f"{op.where()}: tensor {t.name!r} must be quantized int8 for the C kernels")
    if np.any(w.quant.zero_point != 0):
        raise TinyCompilerError(f"{op.where()}: weights {w.name!r} have a non-zero zero point; "
                                "the C kernels need symmetric int8 weights")
    b = op.input(graph, 2)
    bias = None if b is None else np.ascontiguousarray(np.asarray(b.data).reshape(-1).astype(np.int32))
    act_min, act_max = output_activation_range(op, graph, *dtype_range(out.dtype))
    base = {"input_offset": -x.quant.zp, "output_offset": out.quant.zp, "act_min": act_min, "act_max": act_max}
    return x, w, out, bias, base


def _window(op, graph, x, kh, kw, base):
    sh, sw = int(op.attrs.get("stride_h", 1)), int(op.attrs.get("stride_w", 1))
    dh, dw = int(op.attrs.get("dilation_h", 1)), int(op.attrs.get("dilation_w", 1))
    pads = op.attrs.get("explicit_pads")  # set by passes.fold_pad; wins over "padding"
    if pads is None:
        pads = conv_pads(x.shape[1:3], (kh, kw), (sh, sw), (dh, dw), op.attrs.get("padding", "VALID"))
    top, left = int(pads[0]), int(pads[2])
    return {"stride_h": sh, "stride_w": sw, "dilation_h": dh, "dilation_w": dw,
            "pad_top": top, "pad_left": left, **base}


def conv_weights(filter_ohwi: np.ndarray) -> np.ndarray:
    """Filter bytes for every CONV_2D kernel: OHWI int8, C-contiguous (the TFLite layout as is)."""
    return np.ascontiguousarray(np.asarray(filter_ohwi, dtype=np.int8))


def depthwise_weights(filter_1hwc: np.ndarray) -> np.ndarray:
    """Filter bytes for every DEPTHWISE_CONV_2D kernel: [1, H, W, C*M] int8 (the TFLite layout)."""
    return np.ascontiguousarray(np.asarray(filter_1hwc, dtype=np.int8))


def interleave4(a: np.ndarray) -> np.ndarray:
    """Along the last axis, each full group of four (x0, x1, x2, x3) becomes (x0, x2, x1, x3): the lane
    order SXTB16 / SXTB16 ROR #8 give four int8 inputs; the n % 4 tail stays in place."""
    a = np.array(a, copy=True)
    n4 = a.shape[-1] // 4 * 4
    g = a[..., :n4].reshape(*a.shape[:-1], n4 // 4, 4)
    a[..., :n4] = g[..., [0, 2, 1, 3]].reshape(*a.shape[:-1], n4)
    return a


def depthwise_packed_weights(args: KernelArgs) -> np.ndarray:
    """int16 [kh * kw * C] weights of tc_depthwise_conv2d_packed_s8 (see tc_conv.h)."""
    _, kh, kw, c = args.filter_dims
    w = np.asarray(args.weights, np.int16).reshape(kh * kw, c)
    c4 = c // 4 * 4
    groups = interleave4(w[:, :c4]).reshape(kh * kw, c4 // 4, 4).transpose(1, 0, 2).reshape(-1)
    tail = w[:, c4:].T.reshape(-1)
    return np.ascontiguousarray(np.concatenate([groups, tail]).astype(np.int16))


def _conv_rows(args: KernelArgs) -> np.ndarray:
    """int64 [O, K4]: the CONV_2D filter rows (HWI) zero-padded to K4, a multiple of 4."""
    o, kh, kw, ci = args.filter_dims
    k = kh * kw * ci
    w = np.zeros((o, (k + 3) // 4 * 4), np.int64)
    w[:, :k] = np.asarray(args.weights, np.int64).reshape(o, k)
    return w


def conv_packed_weights(args: KernelArgs) -> np.ndarray:
    """int8 weights of tc_conv2d_packed_s8 (layout in runtime_c/src/tc_conv2d_packed_s8.c): rows [O, K]
    (HWI) zero-padded to K4, row pairs as int16 lanes 256 * w_o + w_o+1 in the lane order (k0, k2),
    (k1, k3) per group of four; an odd last row plain int8. Needs :func:`pair_lanes_ok`."""
    _lanes_or_raise(args, "conv_packed_weights")
    w = _conv_rows(args)
    o2 = w.shape[0] // 2 * 2
    parts = [_pair_lane_words(w[r], w[r + 1]).reshape(-1).view(np.int8) for r in range(0, o2, 2)]
    if o2 < w.shape[0]:
        parts.append(w[o2].astype(np.int8))
    return np.ascontiguousarray(np.concatenate(parts))


def conv_c1_packed_weights(args: KernelArgs) -> np.ndarray:
    """int16 weights of tc_conv2d_c1_packed_s8 (one input channel; see runtime_c/src/tc_conv2d_c1_packed_s8.c).

    Each filter row's kw taps, zero-padded to nw = ceil(kw / 4) groups of four, as the int16 pairs
    (w0, w2), (w1, w3) of each group (the lanes SXTB16 / SXTB16 ROR #8 give the input word); output
    channels in blocks of four, [block, ky, group, channel, 4], then the out_ch % 4 tail channels
    [channel, ky, group, 4]."""
    o, kh, kw, ci = args.filter_dims
    if ci != 1:
        raise TinyCompilerError(f"conv_c1_packed_weights needs one input channel, not {ci}")
    nw = (kw + 3) // 4
    w = np.zeros((o, kh, 4 * nw), np.int16)
    w[:, :, :kw] = np.asarray(args.weights, np.int16).reshape(o, kh, kw)
    w = w.reshape(o, kh, nw, 4)[..., [0, 2, 1, 3]]
    o4 = o // 4 * 4
    blocks = w[:o4].reshape(o4 // 4, 4, kh, nw, 4).transpose(0, 2, 3, 1, 4)
    return np.ascontiguousarray(np.concatenate([blocks.reshape(-1), w[o4:].reshape(-1)]).astype(np.int16))


def _pair_lane_words(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """uint8 [K4 / 4, 8]: a row pair's int16 lanes 256 * hi + lo, per group of four inputs the words
    (0, 2), (1, 3) (the lane order SXTB16 / SXTB16 ROR #8 give the input)."""
    lanes = (256 * hi.astype(np.int64) + lo).reshape(-1, 4)[:, [0, 2, 1, 3]].astype("<i2")
    return np.ascontiguousarray(lanes).view(np.uint8).reshape(-1, 8)


def pair_lanes_ok(args: KernelArgs) -> bool:
    """Whether the packed CONV_2D / FULLY_CONNECTED kernels' shared lanes hold these weights exactly:
    rows [O, ...] in pairs (0, 1), (2, 3), ...; every lane 256 * w_hi + w_lo must fit int16, which
    fails only for w_hi = -128 beside w_lo < 0. TFLite's symmetric [-127, 127] weights always pass;
    codegen runs the others through the natural-weight kernels."""
    w = np.asarray(args.weights, np.int64)
    w = w.reshape(w.shape[0], -1)
    o2 = w.shape[0] // 2 * 2
    return not bool(((256 * w[0:o2:2] + w[1:o2:2]) < -32768).any())


def _lanes_or_raise(args: KernelArgs, what: str) -> None:
    if not pair_lanes_ok(args):
        raise TinyCompilerError(f"{what}: these weights do not fit the paired int16 lanes (pair_lanes_ok); "
                                "use the natural-weight kernels")


def fc_packed_weights(args: KernelArgs) -> np.ndarray:
    """int8 weights of tc_fully_connected_packed_s8 (layout in runtime_c/src/tc_fully_connected_packed_s8.c):
    row pairs as int16 lanes 256 * w_hi + w_lo, in blocks of two pairs by groups of eight inputs, then
    the odd group of four and the plain K % 4 tails; a last odd row plain. Needs :func:`pair_lanes_ok`."""
    _lanes_or_raise(args, "fc_packed_weights")
    w = np.asarray(args.weights, np.int8)
    w = w.reshape(w.shape[0], -1)
    o, k = w.shape
    k4, k8 = k // 4 * 4, k // 8 * 8
    parts = []
    o4 = o // 4 * 4
    for r in range(0, o4, 4):
        pa, pb = _pair_lane_words(w[r, :k4], w[r + 1, :k4]), _pair_lane_words(w[r + 2, :k4], w[r + 3, :k4])
        n8 = k8 // 8
        parts.append(np.concatenate([pa[:2 * n8].reshape(n8, 16), pb[:2 * n8].reshape(n8, 16)], axis=1).reshape(-1))
        if k4 > k8:
            parts.extend([pa[-1], pb[-1]])
        parts.append(w[r:r + 4, k4:].reshape(-1).view(np.uint8))
    r = o4
    if o - r >= 2:
        parts.append(_pair_lane_words(w[r, :k4], w[r + 1, :k4]).reshape(-1))
        parts.append(w[r:r + 2, k4:].reshape(-1).view(np.uint8))
        r += 2
    if r < o:
        parts.append(w[r].view(np.uint8))
    return np.ascontiguousarray(np.concatenate(parts).view(np.int8))


def folded_bias(args: KernelArgs) -> np.ndarray:
    """int32 bias with the input offset folded in: bias[o] + input_offset * sum of output o's weights.

    Conv / FC weights are [O, ...] (sum over everything but O); depthwise [1, kh, kw, C] (sum over taps).
    """
    w = np.asarray(args.weights, np.int64)
    if args.kind == "DEPTHWISE_CONV_2D":
        sums = w.reshape(-1, w.shape[-1]).sum(axis=0)
    else:
        sums = w.reshape(w.shape[0], -1).sum(axis=1)
    bias = np.zeros(len(sums), np.int64) if args.bias is None else np.asarray(args.bias, np.int64)
    folded = bias + int(args.params["input_offset"]) * sums
    # int32 accumulators wrap the same whatever the order of the additions: wrap like them
    return np.ascontiguousarray(((folded + 2**31) % 2**32 - 2**31).astype(np.int32))


def requant_table(args: KernelArgs):
    """int32 [C, 3] rows (multiplier, add, rshift) = the tc_rq struct of each output channel (tc_conv.h),
    or None when some channel's shift does not allow the folded form (right shift e >= 2 and
    |add| < 2^30 needed; then codegen keeps the tc_per_channel_quant path).

    add = 2^(e-2) + output_zero_point * 2^(e-1), rshift = e - 1 with e = -shift. FULLY_CONNECTED
    per-tensor quantization gives one row (the kernel reads row 0 for every output).
    """
    zp = int(args.params["output_offset"])
    rows = []
    for m, sh in zip(np.asarray(args.multiplier, np.int64), np.asarray(args.shift, np.int64)):
        e = -int(sh)
        if e < 2 or e > 31:
            return None
        add = 2 ** (e - 2) + zp * 2 ** (e - 1)
        if abs(add) >= 2 ** 30:
            return None
        rows.append((int(m), add, e - 1))
    return np.ascontiguousarray(np.asarray(rows, np.int32).reshape(-1, 3))


def requant_lean(args: KernelArgs, rows=None):
    """The lean requantization data of the CONV_2D packed kernels (tc_rq_lean, tc_conv.h) as one int32
    array, or None where :func:`requant_table` is None: the multipliers [C], then ``add`` indexed by right
    shift [max rshift + 1] (add = 2^(e-2) + zp * 2^(e-1) depends on the channel only through e), then the
    rshift bytes of the channels, four to a word (little-endian). Returns ``(array, C, A)`` with A the
    add-table length: 5 bytes per channel plus a few words per layer, instead of 12 per channel.
    ``rows``: :func:`requant_table`'s result when the caller has it already."""
    rows = requant_table(args) if rows is None else rows
    if rows is None:
        return None
    mult, add, rsh = rows[:, 0], rows[:, 1], rows[:, 2]
    table = np.zeros(int(rsh.max()) + 1, np.int64)
    table[rsh] = add
    shifts = np.zeros((len(rsh) + 3) // 4 * 4, np.uint8)
    shifts[:len(rsh)] = rsh
    packed = np.concatenate([mult.astype(np.int64), table, shifts.view("<u4").astype(np.int64)])
    return np.ascontiguousarray(((packed + 2**31) % 2**32 - 2**31).astype(np.int32)), len(rsh), len(table)


def conv2d_args(op, graph) -> KernelArgs:
    x, w, out, bias, base = _common(op, graph)
    o, kh, kw, ci = (int(d) for d in w.shape)
    if ci != int(x.shape[3]):
        raise TinyCompilerError(f"{op.where()}: grouped convolution (filter depth {ci} != input depth "
                                f"{x.shape[3]}) is not supported by the C kernels")
    mult, shift = conv_multipliers(x.quant.s, w.quant.scale, out.quant.s, o)
    return KernelArgs("CONV_2D", _window(op, graph, x, kh, kw, base), _dims4(x.shape), (o, kh, kw, ci),
                      _dims4(out.shape), conv_weights(w.data), bias,
                      mult.astype(np.int32), shift.astype(np.int32))


def depthwise_args(op, graph) -> KernelArgs:
    x, w, out, bias, base = _common(op, graph)
    _, kh, kw, oc = (int(d) for d in w.shape)
    c = int(x.shape[3])
    m = int(op.attrs.get("depth_multiplier", 0) or 0) or oc // c
    if c * m != oc:
        raise TinyCompilerError(f"{op.where()}: filter has {oc} channels, expected {c} x depth multiplier {m}")
    mult, shift = conv_multipliers(x.quant.s, w.quant.scale, out.quant.s, oc)
    params = _window(op, graph, x, kh, kw, base)
    params["depth_multiplier"] = m
    return KernelArgs("DEPTHWISE_CONV_2D", params, _dims4(x.shape), (1, kh, kw, oc), _dims4(out.shape),
                      depthwise_weights(w.data), bias, mult.astype(np.int32), shift.astype(np.int32))


def fully_connected_args(op, graph) -> KernelArgs:
    x, w, out, bias, base = _common(op, graph)
    units, depth = (int(d) for d in w.shape)
    batches = x.size // depth
    per_channel = bool(w.quant.per_channel)
    mult, shift = conv_multipliers(x.quant.s, w.quant.scale, out.quant.s, units if per_channel else 1)
    params = {**base, "per_channel": int(per_channel)}
    return KernelArgs("FULLY_CONNECTED", params, (batches, 1, 1, depth), (units, 1, 1, depth),
                      (batches, 1, 1, units), np.ascontiguousarray(np.asarray(w.data, np.int8)), bias,
                      mult.astype(np.int32), shift.astype(np.int32))


def kernel_args(op, graph) -> KernelArgs:
    """:class:`KernelArgs` for a CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED op."""
    table = {"CONV_2D": conv2d_args, "DEPTHWISE_CONV_2D": depthwise_args, "FULLY_CONNECTED": fully_connected_args}
    fn = table.get(op.kind)
    if fn is None:
        raise TinyCompilerError(f"{op.where()}: no conv-family C kernel for {op.kind}")
    return fn(op, graph)


def depthwise_inplace_ok(args: KernelArgs) -> bool:
    """Whether ``tc_depthwise_conv2d_inplace_s8`` may run this depthwise (see tc_conv.h)."""
    n, h, w, c = args.input_dims
    on, oh, ow, oc = args.output_dims
    return args.params["depth_multiplier"] == 1 and oc == c and on == n and oh * ow <= h * w
