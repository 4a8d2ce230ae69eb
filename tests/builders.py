"""Builders of small random quantized graphs (IR API) for differential and property-based tests.

Two layers, both stable API for every test file:

* ``add_*(g, rng, x, ...) -> int`` append one op reading tensor ``x`` to graph ``g`` and return the
  output tensor index (compose them into chains); ``*_graph(rng, ...) -> Graph`` build a complete
  single-op graph (one activation input, one output). Quantization is random but realistic:
  activation scales 1e-3..0.3 with any zero point, symmetric int8 weights (optionally
  per-channel), int32 biases at the accumulator's scale, and an output scale chosen so outputs
  span the int8 range instead of saturating.
* ``st_*()`` hypothesis strategies drawing a :class:`Case` (graph + inputs) per op.

``random_inputs(graph, rng)`` makes inputs for any graph (int8 uniform over the full range,
float32 covering the input's quantized range).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinycompiler.ir import Graph, Quant, conv_output_size

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


# ------------------------------------------------------------------------------------------------
# random quantization parameters


def rng_of(seed_or_rng) -> np.random.Generator:
    """A numpy Generator from a seed, or the generator itself."""
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    return np.random.default_rng(seed_or_rng)


def rand_scale(rng, lo: float = 1e-3, hi: float = 0.3) -> float:
    """A log-uniform activation scale in [lo, hi]."""
    return float(np.float32(10 ** rng.uniform(np.log10(lo), np.log10(hi))))


def act_quant(rng, scale: float | None = None, zero_point: int | None = None) -> Quant:
    """Per-tensor activation quantization with random (or given) scale and zero point."""
    s = rand_scale(rng) if scale is None else scale
    zp = int(rng.integers(-128, 128)) if zero_point is None else zero_point
    return Quant(np.array([s], np.float32), np.array([zp], np.int64))


def weight_quant(rng, channels: int, per_channel: bool, axis: int) -> Quant:
    """Symmetric weight quantization (zero point 0), per-channel along ``axis`` or per-tensor."""
    base = 10 ** rng.uniform(-3, -1)
    n = channels if per_channel else 1
    scales = (base * rng.uniform(0.25, 4.0, size=n)).astype(np.float32)
    return Quant(scales, np.zeros(n, np.int64), axis if per_channel else 0)


def rand_weights(rng, shape) -> np.ndarray:
    """int8 weights in [-127, 127] with a random magnitude (TFLite keeps -128 out of weights)."""
    mag = int(rng.integers(8, 128))
    return rng.integers(-mag, mag, size=shape, endpoint=True).clip(-127, 127).astype(np.int8)


def _out_scale_for(rng, in_scale: float, w_scales: np.ndarray, w: np.ndarray, depth: int) -> float:
    """An output scale that makes ``acc * in_s * w_s / out_s`` span roughly the int8 range
    (one time in eight a wild one, to reach saturation and multipliers above 1)."""
    if rng.random() < 0.125:
        return rand_scale(rng, 1e-5, 1.0)
    w_std = float(np.std(w.astype(np.float64))) + 1.0
    acc_std = np.sqrt(max(depth, 1)) * 60.0 * w_std
    real_std = acc_std * in_scale * float(np.mean(w_scales))
    return float(np.float32(real_std / 40.0 * rng.uniform(0.5, 2.0)))


def _bias(rng, g: Graph, name: str, in_scale: float, wq: Quant, channels: int, depth: int, w: np.ndarray):
    scales = (np.float32(in_scale) * np.broadcast_to(wq.scale, (channels,))).astype(np.float32)
    w_std = float(np.std(w.astype(np.float64))) + 1.0
    mag = np.sqrt(max(depth, 1)) * 60.0 * w_std
    data = rng.normal(0, mag, size=channels).round().clip(-(2**31), 2**31 - 1).astype(np.int32)
    return g.add_tensor(name, (channels,), "int32", Quant(scales, np.zeros(channels, np.int64), 0), data).index


def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


# ------------------------------------------------------------------------------------------------
# graph plumbing


def new_graph(rng, shape, dtype: str = "int8", quant: Quant | None = None, name: str = "test") -> tuple:
    """A graph with one input tensor; returns ``(graph, input_index)``."""
    g = Graph.empty(name)
    if quant is None and dtype != "float32":
        quant = act_quant(rng)
    x = g.add_tensor("input", shape, dtype, quant)
    g.inputs.append(x.index)
    return g, x.index


def finish(g: Graph, out: int) -> Graph:
    """Mark ``out`` as the graph output and return the graph."""
    g.outputs = [out]
    return g


def _act_out(g, rng, name, shape, quant=None, dtype="int8"):
    return g.add_tensor(name, shape, dtype, quant if quant is not None else act_quant(rng)).index


# ------------------------------------------------------------------------------------------------
# op appenders: add_xxx(g, rng, x, ...) -> output tensor index


def add_conv2d(g, rng, x, cout, kh, kw, stride=1, dilation=1, padding="SAME", activation="NONE",
               per_channel=True, bias=True, out_quant=None) -> int:
    xt = g.tensors[x]
    n, h, w, cin = xt.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    wq = weight_quant(rng, cout, per_channel, 0)
    wd = rand_weights(rng, (cout, kh, kw, cin))
    wt = g.add_tensor(f"conv{len(g.ops)}_w", wd.shape, "int8", wq, wd)
    k = kh * kw * cin
    bt = _bias(rng, g, f"conv{len(g.ops)}_b", xt.quant.s, wq, cout, k, wd) if bias else None
    oh = conv_output_size(h, kh, sh, dh, padding)
    ow = conv_output_size(w, kw, sw, dw, padding)
    if out_quant is None:
        out_quant = act_quant(rng, scale=_out_scale_for(rng, xt.quant.s, wq.scale, wd, k))
    y = _act_out(g, rng, f"conv{len(g.ops)}_out", (n, oh, ow, cout), out_quant)
    g.add_op("CONV_2D", [x, wt.index, bt], [y], padding=padding, stride_h=sh, stride_w=sw,
             dilation_h=dh, dilation_w=dw, activation=activation)
    return y


def add_depthwise(g, rng, x, multiplier, kh, kw, stride=1, dilation=1, padding="SAME",
                  activation="NONE", per_channel=True, bias=True, out_quant=None) -> int:
    xt = g.tensors[x]
    n, h, w, cin = xt.shape
    cout = cin * multiplier
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    wq = weight_quant(rng, cout, per_channel, 3)
    wd = rand_weights(rng, (1, kh, kw, cout))
    wt = g.add_tensor(f"dw{len(g.ops)}_w", wd.shape, "int8", wq, wd)
    k = kh * kw
    bt = _bias(rng, g, f"dw{len(g.ops)}_b", xt.quant.s, wq, cout, k, wd) if bias else None
    oh = conv_output_size(h, kh, sh, dh, padding)
    ow = conv_output_size(w, kw, sw, dw, padding)
    if out_quant is None:
        out_quant = act_quant(rng, scale=_out_scale_for(rng, xt.quant.s, wq.scale, wd, k))
    y = _act_out(g, rng, f"dw{len(g.ops)}_out", (n, oh, ow, cout), out_quant)
    # TFLM (2026 wheel) segfaults on a depthwise conv whose bias slot is -1: omit the slot instead
    ins = [x, wt.index, bt] if bt is not None else [x, wt.index]
    g.add_op("DEPTHWISE_CONV_2D", ins, [y], padding=padding, stride_h=sh, stride_w=sw,
             dilation_h=dh, dilation_w=dw, depth_multiplier=multiplier, activation=activation)
    return y


def add_fully_connected(g, rng, x, units, activation="NONE", per_channel=False, bias=True,
                        keep_num_dims=False, out_quant=None) -> int:
    xt = g.tensors[x]
    depth = int(xt.shape[-1])
    batch = xt.size // depth
    wq = weight_quant(rng, units, per_channel, 0)
    wd = rand_weights(rng, (units, depth))
    wt = g.add_tensor(f"fc{len(g.ops)}_w", wd.shape, "int8", wq, wd)
    bt = _bias(rng, g, f"fc{len(g.ops)}_b", xt.quant.s, wq, units, depth, wd) if bias else None
    shape = tuple(xt.shape[:-1]) + (units,) if keep_num_dims else (batch, units)
    if out_quant is None:
        out_quant = act_quant(rng, scale=_out_scale_for(rng, xt.quant.s, wq.scale, wd, depth))
    y = _act_out(g, rng, f"fc{len(g.ops)}_out", shape, out_quant)
    g.add_op("FULLY_CONNECTED", [x, wt.index, bt], [y], activation=activation, keep_num_dims=keep_num_dims)
    return y


def add_binary(g, rng, kind, x, other, activation="NONE", out_quant=None) -> int:
    """ADD or MUL of tensors ``x`` and ``other`` (broadcasting, numpy rules)."""
    a, b = g.tensors[x], g.tensors[other]
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    if out_quant is None:
        if kind == "ADD":
            s = float(np.float32((a.quant.s + b.quant.s) * rng.uniform(0.7, 2.0)))
        else:
            s = float(np.float32(a.quant.s * b.quant.s * 70 * 70 / 40 * rng.uniform(0.5, 2.0)))
        if rng.random() < 0.125:
            s = rand_scale(rng, 1e-5, 1.0)
        out_quant = act_quant(rng, scale=s)
    y = _act_out(g, rng, f"{kind.lower()}{len(g.ops)}_out", shape, out_quant)
    g.add_op(kind, [x, other], [y], activation=activation)
    return y


def add_const_activation(g, rng, shape, name="const", quant=None) -> int:
    """A constant int8 tensor with activation-style quantization (e.g. a broadcast ADD operand)."""
    data = rng.integers(-128, 128, size=shape).astype(np.int8)
    return g.add_tensor(name, shape, "int8", quant if quant is not None else act_quant(rng), data).index


def add_pool(g, rng, kind, x, fh, fw, stride=1, padding="VALID", activation="NONE") -> int:
    """AVERAGE_POOL_2D / MAX_POOL_2D (output keeps the input's quantization, as converters emit)."""
    xt = g.tensors[x]
    n, h, w, c = xt.shape
    sh, sw = _pair(stride)
    oh = conv_output_size(h, fh, sh, 1, padding)
    ow = conv_output_size(w, fw, sw, 1, padding)
    y = _act_out(g, rng, f"pool{len(g.ops)}_out", (n, oh, ow, c), Quant(xt.quant.scale.copy(), xt.quant.zero_point.copy()))
    g.add_op(kind, [x], [y], padding=padding, stride_h=sh, stride_w=sw, filter_h=fh, filter_w=fw,
             activation=activation)
    return y


def add_mean(g, rng, x, axes=(1, 2), keep_dims=True, same_quant=False) -> int:
    xt = g.tensors[x]
    rank = len(xt.shape)
    ax = sorted({a % rank for a in axes})
    shape = tuple(1 if i in ax else d for i, d in enumerate(xt.shape)) if keep_dims else \
        tuple(d for i, d in enumerate(xt.shape) if i not in ax)
    q = Quant(xt.quant.scale.copy(), xt.quant.zero_point.copy()) if same_quant else \
        act_quant(rng, scale=float(np.float32(xt.quant.s * rng.uniform(0.2, 1.5))))
    axes_t = g.add_tensor(f"mean{len(g.ops)}_axes", (len(axes),), "int32", None, np.asarray(axes, np.int32))
    y = _act_out(g, rng, f"mean{len(g.ops)}_out", shape, q)
    g.add_op("MEAN", [x, axes_t.index], [y], keep_dims=keep_dims)
    return y


def add_pad(g, rng, x, paddings) -> int:
    xt = g.tensors[x]
    p = np.asarray(paddings, np.int32).reshape(len(xt.shape), 2)
    shape = tuple(int(d + p[i].sum()) for i, d in enumerate(xt.shape))
    pt = g.add_tensor(f"pad{len(g.ops)}_paddings", p.shape, "int32", None, p)
    y = _act_out(g, rng, f"pad{len(g.ops)}_out", shape, Quant(xt.quant.scale.copy(), xt.quant.zero_point.copy()))
    g.add_op("PAD", [x, pt.index], [y])
    return y


def add_reshape(g, rng, x, shape, with_shape_tensor=True) -> int:
    xt = g.tensors[x]
    shape = tuple(int(d) for d in shape)
    ins = [x]
    if with_shape_tensor:
        ins.append(g.add_tensor(f"reshape{len(g.ops)}_shape", (len(shape),), "int32", None,
                                np.asarray(shape, np.int32)).index)
    y = _act_out(g, rng, f"reshape{len(g.ops)}_out", shape, Quant(xt.quant.scale.copy(), xt.quant.zero_point.copy()))
    g.add_op("RESHAPE", ins, [y])
    return y


def add_squeeze(g, rng, x, squeeze_dims) -> int:
    xt = g.tensors[x]
    rank = len(xt.shape)
    dims = [d % rank for d in squeeze_dims] if squeeze_dims else [i for i, d in enumerate(xt.shape) if d == 1]
    shape = tuple(d for i, d in enumerate(xt.shape) if i not in dims)
    y = _act_out(g, rng, f"squeeze{len(g.ops)}_out", shape, Quant(xt.quant.scale.copy(), xt.quant.zero_point.copy()))
    g.add_op("SQUEEZE", [x], [y], squeeze_dims=list(squeeze_dims))
    return y


def add_concat(g, rng, xs, axis) -> int:
    ts = [g.tensors[i] for i in xs]
    rank = len(ts[0].shape)
    a = axis % rank
    shape = list(ts[0].shape)
    shape[a] = sum(int(t.shape[a]) for t in ts)
    q = ts[0].quant
    y = _act_out(g, rng, f"concat{len(g.ops)}_out", tuple(shape), Quant(q.scale.copy(), q.zero_point.copy()))
    g.add_op("CONCATENATION", list(xs), [y], axis=axis, activation="NONE")
    return y


def add_transpose(g, rng, x, perm) -> int:
    xt = g.tensors[x]
    shape = tuple(xt.shape[p] for p in perm)
    pt = g.add_tensor(f"transpose{len(g.ops)}_perm", (len(perm),), "int32", None, np.asarray(perm, np.int32))
    y = _act_out(g, rng, f"transpose{len(g.ops)}_out", shape, Quant(xt.quant.scale.copy(), xt.quant.zero_point.copy()))
    g.add_op("TRANSPOSE", [x, pt.index], [y])
    return y


def add_resize_nearest(g, rng, x, out_h, out_w, align_corners=False, half_pixel_centers=False) -> int:
    xt = g.tensors[x]
    n, h, w, c = xt.shape
    st_ = g.add_tensor(f"resize{len(g.ops)}_size", (2,), "int32", None, np.asarray([out_h, out_w], np.int32))
    y = _act_out(g, rng, f"resize{len(g.ops)}_out", (n, out_h, out_w, c),
                 Quant(xt.quant.scale.copy(), xt.quant.zero_point.copy()))
    g.add_op("RESIZE_NEAREST_NEIGHBOR", [x, st_.index], [y], align_corners=align_corners,
             half_pixel_centers=half_pixel_centers)
    return y


def add_quantize(g, rng, x, out_quant=None, dtype="int8") -> int:
    """QUANTIZE: float32 -> int8, or int8 -> int8 requantization (new random output quant)."""
    xt = g.tensors[x]
    y = _act_out(g, rng, f"quantize{len(g.ops)}_out", xt.shape, out_quant or act_quant(rng), dtype)
    g.add_op("QUANTIZE", [x], [y])
    return y


def add_dequantize(g, rng, x) -> int:
    xt = g.tensors[x]
    y = g.add_tensor(f"dequantize{len(g.ops)}_out", xt.shape, "float32", None).index
    g.add_op("DEQUANTIZE", [x], [y])
    return y


def add_unary(g, rng, kind, x, out_quant=None, **attrs) -> int:
    """Any one-input op whose output has the input's shape (SOFTMAX, LOGISTIC, RELU, ...)."""
    xt = g.tensors[x]
    y = _act_out(g, rng, f"{kind.lower()}{len(g.ops)}_out", xt.shape, out_quant or act_quant(rng))
    g.add_op(kind, [x], [y], **attrs)
    return y


# ------------------------------------------------------------------------------------------------
# single-op graphs


def conv2d_graph(rng, h, w, cin, cout, kh, kw, stride=1, dilation=1, padding="SAME",
                 activation="NONE", per_channel=True, bias=True, batch=1) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, (batch, h, w, cin), name="conv2d")
    return finish(g, add_conv2d(g, rng, x, cout, kh, kw, stride, dilation, padding, activation, per_channel, bias))


def depthwise_graph(rng, h, w, cin, multiplier, kh, kw, stride=1, dilation=1, padding="SAME",
                    activation="NONE", per_channel=True, bias=True, batch=1) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, (batch, h, w, cin), name="depthwise")
    return finish(g, add_depthwise(g, rng, x, multiplier, kh, kw, stride, dilation, padding, activation,
                                   per_channel, bias))


def fully_connected_graph(rng, batch, in_features, units, activation="NONE", per_channel=False,
                          bias=True, input_shape=None, keep_num_dims=False) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, input_shape or (batch, in_features), name="fully_connected")
    return finish(g, add_fully_connected(g, rng, x, units, activation, per_channel, bias, keep_num_dims))


def binary_graph(rng, kind, shape1, shape2, activation="NONE", const_second=False) -> Graph:
    """ADD/MUL with two graph inputs (or a constant second operand) of broadcastable shapes."""
    rng = rng_of(rng)
    g, a = new_graph(rng, shape1, name=kind.lower())
    if const_second:
        b = add_const_activation(g, rng, shape2)
    else:
        b = g.add_tensor("input2", shape2, "int8", act_quant(rng)).index
        g.inputs.append(b)
    return finish(g, add_binary(g, rng, kind, a, b, activation))


def pool_graph(rng, kind, h, w, c, fh, fw, stride=1, padding="VALID", activation="NONE", batch=1) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, (batch, h, w, c), name=kind.lower())
    return finish(g, add_pool(g, rng, kind, x, fh, fw, stride, padding, activation))


def mean_graph(rng, shape, axes=(1, 2), keep_dims=True, same_quant=False) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, shape, name="mean")
    return finish(g, add_mean(g, rng, x, axes, keep_dims, same_quant))


def pad_graph(rng, shape, paddings) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, shape, name="pad")
    return finish(g, add_pad(g, rng, x, paddings))


def reshape_graph(rng, shape, new_shape) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, shape, name="reshape")
    return finish(g, add_reshape(g, rng, x, new_shape))


def squeeze_graph(rng, shape, squeeze_dims) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, shape, name="squeeze")
    return finish(g, add_squeeze(g, rng, x, squeeze_dims))


def concat_graph(rng, shapes, axis, same_quant=True) -> Graph:
    """CONCATENATION of graph inputs; ``same_quant=False`` gives each input its own quantization."""
    rng = rng_of(rng)
    q = act_quant(rng)
    g, first = new_graph(rng, shapes[0], quant=q, name="concat")
    xs = [first]
    for i, s in enumerate(shapes[1:]):
        qi = Quant(q.scale.copy(), q.zero_point.copy()) if same_quant else act_quant(rng)
        t = g.add_tensor(f"input{i + 2}", s, "int8", qi)
        g.inputs.append(t.index)
        xs.append(t.index)
    return finish(g, add_concat(g, rng, xs, axis))


def transpose_graph(rng, shape, perm) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, shape, name="transpose")
    return finish(g, add_transpose(g, rng, x, perm))


def resize_nearest_graph(rng, h, w, c, out_h, out_w, align_corners=False, half_pixel_centers=False,
                         batch=1) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, (batch, h, w, c), name="resize_nearest")
    return finish(g, add_resize_nearest(g, rng, x, out_h, out_w, align_corners, half_pixel_centers))


def quantize_graph(rng, shape, from_float=True) -> Graph:
    """QUANTIZE float32 -> int8 (``from_float``) or int8 -> int8 requantization."""
    rng = rng_of(rng)
    g, x = new_graph(rng, shape, dtype="float32" if from_float else "int8", name="quantize")
    return finish(g, add_quantize(g, rng, x))


def dequantize_graph(rng, shape) -> Graph:
    rng = rng_of(rng)
    g, x = new_graph(rng, shape, name="dequantize")
    return finish(g, add_dequantize(g, rng, x))


def unary_graph(rng, kind, shape, in_quant=None, out_quant=None, **attrs) -> Graph:
    """A single one-input op (SOFTMAX, LOGISTIC, HARD_SWISH, RELU, RELU6, LOG_SOFTMAX, ...)."""
    rng = rng_of(rng)
    g, x = new_graph(rng, shape, quant=in_quant, name=kind.lower())
    return finish(g, add_unary(g, rng, kind, x, out_quant, **attrs))


def small_cnn_graph(rng, h=12, w=12, cin=3, classes=4) -> Graph:
    """A tiny end-to-end chain: conv -> depthwise -> conv (residual ADD) -> avgpool -> FC."""
    rng = rng_of(rng)
    g, x = new_graph(rng, (1, h, w, cin), name="small_cnn")
    y = add_conv2d(g, rng, x, 8, 3, 3, stride=2, padding="SAME", activation="RELU6")
    z = add_depthwise(g, rng, y, 1, 3, 3, padding="SAME", activation="RELU")
    z = add_conv2d(g, rng, z, 8, 1, 1, padding="VALID")
    y = add_binary(g, rng, "ADD", y, z)
    n, oh, ow, c = g.tensors[y].shape
    y = add_pool(g, rng, "AVERAGE_POOL_2D", y, oh, ow)
    y = add_reshape(g, rng, y, (1, c))
    return finish(g, add_fully_connected(g, rng, y, classes))


def temporal_graph(rng, steps=30, channels=128, classes=12) -> Graph:
    """A 1-D temporal network as keyword spotters and sensor models are built: input 1xTx1xC
    (W = 1), depthwise Kx1 kernels with K from 3 to 15 (some dilated), pointwise 128 -> 128 over
    15-30 pixels, then a tiny head (average pool, FC). Random weights (speed issue's benchmark)."""
    rng = rng_of(rng)
    g, x = new_graph(rng, (1, steps, 1, channels), name="temporal")
    y = add_conv2d(g, rng, x, channels, 1, 1, padding="VALID", activation="RELU")
    for k, stride, dilation in ((3, 1, 1), (5, 1, 1), (7, 2, 1), (9, 1, 2), (15, 1, 1), (3, 1, 4)):
        y = add_depthwise(g, rng, y, 1, k, 1, stride=(stride, 1), dilation=(dilation, 1), padding="SAME",
                          activation="RELU")
        y = add_conv2d(g, rng, y, channels, 1, 1, padding="VALID", activation="RELU")
    n, oh, ow, c = g.tensors[y].shape
    y = add_pool(g, rng, "AVERAGE_POOL_2D", y, oh, ow)
    y = add_reshape(g, rng, y, (1, c))
    return finish(g, add_fully_connected(g, rng, y, classes))


# ------------------------------------------------------------------------------------------------
# inputs


def random_inputs(graph: Graph, rng) -> list:
    """One random array per graph input: full-range integers, or floats over the quantized range."""
    rng = rng_of(rng)
    xs = []
    for i in graph.inputs:
        t = graph.tensors[i]
        if t.dtype == "float32":
            q = None
            for op in graph.consumers(i):
                if op.kind == "QUANTIZE":
                    q = op.output(graph).quant
            if q is not None:
                lo, hi = (-128 - q.zp) * q.s, (127 - q.zp) * q.s
                margin = 0.1 * (hi - lo)
                xs.append(rng.uniform(lo - margin, hi + margin, size=t.shape).astype(np.float32))
            else:
                xs.append(rng.normal(0, 1, size=t.shape).astype(np.float32))
        else:
            info = np.iinfo(np.dtype(t.dtype))
            xs.append(rng.integers(info.min, int(info.max) + 1, size=t.shape).astype(t.dtype))
    return xs


@dataclass
class Case:
    """A test case: a graph and inputs for it."""

    graph: Graph
    inputs: list
    desc: str = ""

    def __repr__(self):
        return f"Case({self.desc or self.graph.name})"


def make_case(graph: Graph, seed: int, desc: str = "") -> Case:
    return Case(graph, random_inputs(graph, np.random.default_rng(seed + 1)), desc)


# ------------------------------------------------------------------------------------------------
# hypothesis strategies (imported lazily so this module works without hypothesis)

try:  # pragma: no cover - hypothesis is a test dependency
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    st = None

if st is not None:
    seeds = st.integers(0, 2**31 - 1)
    activations = st.sampled_from(ACTIVATIONS)
    paddings = st.sampled_from(("SAME", "VALID"))

    @st.composite
    def st_conv2d(draw, max_hw=12, max_channels=64, max_kernel=7):
        kh = draw(st.integers(1, max_kernel))
        kw = draw(st.integers(1, max_kernel))
        stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        padding = draw(paddings)
        h = draw(st.integers((kh - 1) * dilation[0] + 1, max(max_hw, (kh - 1) * dilation[0] + 1)))
        w = draw(st.integers((kw - 1) * dilation[1] + 1, max(max_hw, (kw - 1) * dilation[1] + 1)))
        cin = draw(st.integers(1, max_channels))
        cout = draw(st.integers(1, max_channels))
        act = draw(activations)
        pc = draw(st.booleans())
        bias = draw(st.booleans())
        seed = draw(seeds)
        desc = (f"conv {h}x{w}x{cin}->{cout} k{kh}x{kw} s{stride} d{dilation} {padding} {act} "
                f"pc={pc} bias={bias} seed={seed}")
        g = conv2d_graph(seed, h, w, cin, cout, kh, kw, stride, dilation, padding, act, pc, bias)
        return make_case(g, seed, desc)

    @st.composite
    def st_depthwise(draw, max_hw=12, max_channels=32, max_kernel=7):
        kh = draw(st.integers(1, max_kernel))
        kw = draw(st.integers(1, max_kernel))
        stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        padding = draw(paddings)
        h = draw(st.integers((kh - 1) * dilation[0] + 1, max(max_hw, (kh - 1) * dilation[0] + 1)))
        w = draw(st.integers((kw - 1) * dilation[1] + 1, max(max_hw, (kw - 1) * dilation[1] + 1)))
        cin = draw(st.integers(1, max_channels))
        mult = draw(st.integers(1, 2))
        act = draw(activations)
        pc = draw(st.booleans())
        bias = draw(st.booleans())
        seed = draw(seeds)
        desc = (f"dw {h}x{w}x{cin}*{mult} k{kh}x{kw} s{stride} d{dilation} {padding} {act} "
                f"pc={pc} bias={bias} seed={seed}")
        g = depthwise_graph(seed, h, w, cin, mult, kh, kw, stride, dilation, padding, act, pc, bias)
        return make_case(g, seed, desc)

    @st.composite
    def st_fully_connected(draw, max_features=256, max_units=64):
        batch = draw(st.integers(1, 3))
        depth = draw(st.integers(1, max_features))
        units = draw(st.integers(1, max_units))
        act = draw(activations)
        pc = draw(st.booleans())
        bias = draw(st.booleans())
        seed = draw(seeds)
        desc = f"fc {batch}x{depth}->{units} {act} pc={pc} bias={bias} seed={seed}"
        return make_case(fully_connected_graph(seed, batch, depth, units, act, pc, bias), seed, desc)

    @st.composite
    def broadcast_shapes(draw, max_rank=4, max_dim=6):
        rank = draw(st.integers(1, max_rank))
        full = [draw(st.integers(1, max_dim)) for _ in range(rank)]
        s1 = [d if draw(st.booleans()) else 1 for d in full]
        s2 = [d if draw(st.booleans()) else 1 for d in full]
        drop = draw(st.integers(0, rank - 1))  # numpy-style rank broadcasting too
        if draw(st.booleans()):
            s2 = s2[drop:]
        return tuple(s1), tuple(s2)

    @st.composite
    def st_binary(draw, kind=None):
        kind = kind or draw(st.sampled_from(("ADD", "MUL")))
        s1, s2 = draw(broadcast_shapes())
        if draw(st.booleans()):
            s1, s2 = s2, s1
        act = draw(activations)
        const = draw(st.booleans())
        seed = draw(seeds)
        desc = f"{kind} {s1} {s2} {act} const={const} seed={seed}"
        return make_case(binary_graph(seed, kind, s1, s2, act, const), seed, desc)

    @st.composite
    def st_pool(draw, kind=None, max_hw=12):
        kind = kind or draw(st.sampled_from(("AVERAGE_POOL_2D", "MAX_POOL_2D")))
        fh, fw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
        stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        padding = draw(paddings)
        h = draw(st.integers(fh, max(fh, max_hw)))
        w = draw(st.integers(fw, max(fw, max_hw)))
        c = draw(st.integers(1, 16))
        act = draw(activations)
        seed = draw(seeds)
        desc = f"{kind} {h}x{w}x{c} f{fh}x{fw} s{stride} {padding} {act} seed={seed}"
        return make_case(pool_graph(seed, kind, h, w, c, fh, fw, stride, padding, act), seed, desc)

    @st.composite
    def st_mean(draw):
        shape = (draw(st.integers(1, 2)), draw(st.integers(1, 12)), draw(st.integers(1, 12)), draw(st.integers(1, 32)))
        axes = draw(st.sampled_from([(1, 2), (2, 1), (1,), (2,), (3,), (-3, -2), (1, 2, 3), (0, 1, 2)]))
        keep = draw(st.booleans())
        same = draw(st.booleans())
        seed = draw(seeds)
        desc = f"MEAN {shape} axes={axes} keep_dims={keep} same_quant={same} seed={seed}"
        return make_case(mean_graph(seed, shape, axes, keep, same), seed, desc)

    @st.composite
    def st_pad(draw):
        rank = draw(st.integers(1, 4))
        shape = tuple(draw(st.integers(1, 6)) for _ in range(rank))
        pads = [[draw(st.integers(0, 3)), draw(st.integers(0, 3))] for _ in range(rank)]
        seed = draw(seeds)
        return make_case(pad_graph(seed, shape, pads), seed, f"PAD {shape} {pads} seed={seed}")

    @st.composite
    def st_concat(draw):
        rank = draw(st.integers(1, 4))
        base = [draw(st.integers(1, 5)) for _ in range(rank)]
        axis = draw(st.integers(-rank, rank - 1))
        k = draw(st.integers(1, 4))
        shapes = []
        for _ in range(k):
            s = list(base)
            s[axis % rank] = draw(st.integers(1, 5))
            shapes.append(tuple(s))
        seed = draw(seeds)
        return make_case(concat_graph(seed, shapes, axis), seed, f"CONCAT {shapes} axis={axis} seed={seed}")

    @st.composite
    def st_transpose(draw):
        rank = draw(st.integers(1, 5))
        shape = tuple(draw(st.integers(1, 5)) for _ in range(rank))
        perm = tuple(draw(st.permutations(range(rank))))
        seed = draw(seeds)
        return make_case(transpose_graph(seed, shape, perm), seed, f"TRANSPOSE {shape} {perm} seed={seed}")

    @st.composite
    def st_resize_nearest(draw):
        h, w, c = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(1, 4))
        oh, ow = draw(st.integers(1, 17)), draw(st.integers(1, 17))
        ac = draw(st.booleans())
        hp = False if ac else draw(st.booleans())  # TFLite forbids both at once
        seed = draw(seeds)
        desc = f"RESIZE_NN {h}x{w}x{c}->{oh}x{ow} ac={ac} hp={hp} seed={seed}"
        return make_case(resize_nearest_graph(seed, h, w, c, oh, ow, ac, hp), seed, desc)

    @st.composite
    def st_quantize(draw):
        shape = tuple(draw(st.integers(1, 8)) for _ in range(draw(st.integers(1, 4))))
        from_float = draw(st.booleans())
        seed = draw(seeds)
        desc = f"QUANTIZE {shape} from_float={from_float} seed={seed}"
        return make_case(quantize_graph(seed, shape, from_float), seed, desc)

    @st.composite
    def st_dequantize(draw):
        shape = tuple(draw(st.integers(1, 8)) for _ in range(draw(st.integers(1, 4))))
        seed = draw(seeds)
        return make_case(dequantize_graph(seed, shape), seed, f"DEQUANTIZE {shape} seed={seed}")

    @st.composite
    def st_unary(draw, kind, max_rank=4, max_dim=8, **attrs):
        """A single one-input op of ``kind`` (for the nonlinear ops' tests)."""
        shape = tuple(draw(st.integers(1, max_dim)) for _ in range(draw(st.integers(1, max_rank))))
        seed = draw(seeds)
        return make_case(unary_graph(seed, kind, shape, **attrs), seed, f"{kind} {shape} seed={seed}")


# ------------------------------------------------------------------------------------------------
# differential checking against TFLM


def first_mismatch(graph: Graph, ref: dict, tflm: dict, kinds=None):
    """Compare every op output in schedule order; return a one-line description of the first op
    whose output differs (index, kind, tensor, how many elements, max |diff|, first position),
    or None when all match. ``kinds`` limits the comparison to ops of those kinds' prefix: the
    comparison stops at the first op whose kind is not in ``kinds``.
    """
    for op in graph.ops:
        if kinds is not None and op.kind not in kinds:
            return None
        for o in op.outputs:
            a = ref.get(o)
            b = tflm.get(o)
            t = graph.tensors[o]
            if a is None or b is None:
                return f"op {op.index} ({op.kind}) tensor {o} {t.name!r}: missing in {'reference' if a is None else 'TFLM'}"
            b = np.asarray(b).reshape(a.shape) if np.asarray(b).size == a.size else np.asarray(b)
            if a.shape != b.shape or a.dtype != b.dtype:
                return (f"op {op.index} ({op.kind}) tensor {o} {t.name!r}: reference {a.dtype}{a.shape} "
                        f"vs TFLM {b.dtype}{b.shape}")
            if not np.array_equal(a, b):
                diff = a.astype(np.float64) - b.astype(np.float64)
                bad = np.argwhere(diff != 0)
                pos = tuple(int(v) for v in bad[0])
                return (f"op {op.index} ({op.kind}) tensor {o} {t.name!r}: {len(bad)} of {a.size} elements "
                        f"differ, max |diff| {np.abs(diff).max():g}; first at {pos}: reference {a[pos]} "
                        f"vs TFLM {b[pos]}")
    return None


def assert_matches_tflm(graph: Graph, inputs, model=None, desc: str = "") -> dict:
    """Run the reference and TFLM (on ``model`` bytes, or ``write_tflite(graph)``) and assert every
    op output is bit-identical; returns the reference's tensors."""
    from tinycompiler.frontends.tflite import write_tflite
    from tinycompiler.oracle.tflm import run_tflm
    from tinycompiler.reference import run

    ref = run(graph, inputs)
    res = run_tflm(model if model is not None else write_tflite(graph), inputs)
    msg = first_mismatch(graph, ref, res.tensors)
    assert msg is None, f"{desc or graph.name}: {msg}"
    return ref


def large_channel_scales(g, target: float) -> None:
    """Rescale op 0's output so its largest per-channel effective scale (in * w / out) is ``target``:
    with target >= 0.25 some channels get a right shift e = -shift < 2 (shift -1, 0 or positive), which
    weights_layout.requant_table() cannot fold (the kernels then get rq NULL)."""
    op = g.ops[0]
    x, w, y = (g.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    eff = float(x.quant.s) * np.asarray(w.quant.scale, np.float64)
    y.quant.scale = np.array([np.float32(eff.max() / target)], np.float32)
