"""Build the int8 IR :class:`~tinycompiler.ir.Graph` from a folded, calibrated float graph.

Layout: 4-D torch values (NCHW) become NHWC IR tensors; weights are permuted at compile time
(conv OIHW -> OHWI, depthwise -> [1, kh, kw, C*M]) and torch dims are remapped, so the IR has
no run-time transpose for an NCHW model. A flatten of an [N, C, H, W] value reshapes the NHWC data
as is (HWC order); a Linear reading it gets its weight columns permuted to match. Only a reshape
whose result depends on the NCHW order in any other way gets TRANSPOSE ops around it.

Padding: torch's symmetric conv/pool padding maps to TFLite SAME when both give the same windows
(same output size and top/left offset), to VALID when it is 0, and otherwise to an explicit PAD
(zeros, exactly 0.0 in int8) before a VALID op.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.torch.quantize import (
    activation_quant,
    quant_of,
    quantize_bias,
    quantize_weights,
)
from tinycompiler.ir import Graph, Quant, conv_output_size, same_pads

#: torch NCHW dim -> NHWC axis
_NHWC_AXIS = (0, 3, 1, 2)


def _nhwc(shape) -> tuple:
    shape = tuple(int(d) for d in shape)
    return (shape[0], shape[2], shape[3], shape[1]) if len(shape) == 4 else shape


def _order_free(shape) -> bool:
    """True if NCHW and NHWC lay this 4-D shape out in the same element order."""
    return len(shape) != 4 or shape[1] == 1 or shape[2] * shape[3] == 1


def _torch_out(size, k, s, p, d, ceil=False) -> int:
    eff = d * (k - 1) + 1
    num = size + 2 * p - eff
    out = (-(-num // s) if ceil else num // s) + 1
    if ceil and (out - 1) * s >= size + p:  # torch drops a last window that starts in the padding
        out -= 1
    return out


def _window_padding(hw, kernel, stride, padding, dilation=(1, 1), ceil=False):
    """``("SAME" | "VALID", None)`` when TFLite padding gives torch's windows, else
    ``("VALID", (top, bottom, left, right))`` for an explicit PAD; None if not expressible."""
    outs = [_torch_out(hw[i], kernel[i], stride[i], padding[i], dilation[i], ceil) for i in range(2)]
    if padding == (0, 0) and all(outs[i] == conv_output_size(hw[i], kernel[i], stride[i], dilation[i], "VALID")
                                 for i in range(2)):
        return "VALID", None
    same = all(outs[i] == conv_output_size(hw[i], kernel[i], stride[i], dilation[i], "SAME")
               and same_pads(hw[i], kernel[i], stride[i], dilation[i], "SAME")[0] == padding[i]
               for i in range(2))
    if same:
        return "SAME", None
    if ceil:
        return None
    return "VALID", (padding[0], padding[0], padding[1], padding[1])


class _Builder:
    def __init__(self, fg, quants, io, name):
        self.fg = fg
        self.q = quants
        self.io = io
        self.g = Graph.empty(name)
        self.tensor = {}  # value -> IR tensor index (NHWC data for 4-D values)
        self.hwc_flat = {}  # flattened value -> 4-D source value: its IR data is in HWC order
        self.canonical = {}  # flattened value -> IR tensor in torch (CHW) order, made on demand

    # --- tensors -----------------------------------------------------------------------------
    def new_act(self, name, shape, quant, dtype="int8") -> int:
        q = Quant(quant.scale.copy(), quant.zero_point.copy()) if quant is not None else None
        return self.g.add_tensor(name, shape, dtype, q).index

    def out(self, layer) -> int:
        idx = self.new_act(layer.output, _nhwc(self.fg.shapes[layer.output]), self.q[layer.output])
        self.tensor[layer.output] = idx
        return idx

    def const(self, name, data, dtype, quant=None) -> int:
        data = np.ascontiguousarray(data)
        return self.g.add_tensor(name, data.shape, dtype, quant, data).index

    def int32(self, name, values) -> int:
        return self.const(name, np.asarray(values, np.int32).reshape(-1), "int32")

    def op(self, kind, inputs, output, **attrs):
        self.g.add_op(kind, inputs, [output], **attrs)

    def read(self, value) -> int:
        """The IR tensor of ``value`` in torch element order (undoes a flatten's HWC order)."""
        if value not in self.hwc_flat:
            return self.tensor[value]
        if value not in self.canonical:
            src = self.hwc_flat[value]
            t = self.transpose(self.tensor[src], (0, 3, 1, 2), f"{value}_nchw")
            shape = self.fg.shapes[value]
            y = self.new_act(f"{value}_chw", shape, self.q[value])
            self.op("RESHAPE", [t, self.int32(f"{value}_chw_shape", shape)], y)
            self.canonical[value] = y
        return self.canonical[value]

    def transpose(self, x, perm, name) -> int:
        t = self.g.tensors[x]
        y = self.new_act(name, tuple(t.shape[p] for p in perm), t.quant)
        self.op("TRANSPOSE", [x, self.int32(f"{name}_perm", perm)], y)
        return y

    # --- graph edges -------------------------------------------------------------------------
    def graph_input(self):
        v = self.fg.input
        shape = _nhwc(self.fg.shapes[v])
        if self.io == "float":
            f = self.new_act(f"{v}_float", shape, None, "float32")
            self.g.inputs.append(f)
            q = self.new_act(v, shape, self.q[v])
            self.op("QUANTIZE", [f], q)
        else:
            q = self.new_act(v, shape, self.q[v])
            self.g.inputs.append(q)
        self.tensor[v] = q

    def graph_outputs(self):
        for v in self.fg.outputs:
            t = self.read(v)
            if self.io == "float":
                f = self.new_act(f"{v}_float", self.g.tensors[t].shape, None, "float32")
                self.op("DEQUANTIZE", [t], f)
                t = f
            self.g.outputs.append(t)

    # --- layers ------------------------------------------------------------------------------
    def layer(self, layer):
        handler = getattr(self, f"_{layer.kind}", None)
        if handler is None:
            raise TinyCompilerError(f"{layer.kind} at {layer.where} has no int8 lowering")
        handler(layer)

    def _pad_input(self, layer, x, pads) -> int:
        top, bottom, left, right = pads
        t = self.g.tensors[x]
        n, h, w, c = t.shape
        y = self.new_act(f"{layer.output}_pad", (n, h + top + bottom, w + left + right, c), t.quant)
        paddings = np.array([[0, 0], [top, bottom], [left, right], [0, 0]], np.int32)
        self.op("PAD", [x, self.const(f"{layer.output}_paddings", paddings, "int32")], y)
        return y

    def _conv(self, layer):
        a = layer.attrs
        x = self.read(layer.inputs[0])
        n, c, h, w = self.fg.shapes[layer.inputs[0]]
        wt = a["weight"]
        o, ipg, kh, kw = wt.shape
        groups = a["groups"]
        padding, pads = _window_padding((h, w), (kh, kw), a["stride"], a["padding"], a["dilation"])
        if pads is not None:
            x = self._pad_input(layer, x, pads)
        in_q = self.g.tensors[x].quant
        bias = a["bias"]
        depthwise = groups == c and ipg == 1 and groups > 1
        if depthwise:
            filt = wt.reshape(o, kh, kw).transpose(1, 2, 0)[None]  # [1, kh, kw, C*M]
            axis, kind = 3, "DEPTHWISE_CONV_2D"
        else:
            if groups > 1:
                # TFLM and the C kernels have no grouped CONV_2D: an exact block-diagonal dense filter
                dense = np.zeros((o, c, kh, kw), np.float32)
                opg = o // groups
                for gi in range(groups):
                    dense[gi * opg:(gi + 1) * opg, gi * ipg:(gi + 1) * ipg] = wt[gi * opg:(gi + 1) * opg]
                wt = dense
            filt = wt.transpose(0, 2, 3, 1)  # OHWI
            axis, kind = 0, "CONV_2D"
        qw, ws = quantize_weights(filt, axis, bias, in_q.s)
        wq = Quant(ws, np.zeros(ws.size, np.int64), axis)
        w_idx = self.const(f"{layer.output}_weights", qw, "int8", wq)
        inputs = [x, w_idx]
        if bias is not None:
            qb, bs = quantize_bias(bias, in_q.s, ws)
            inputs.append(self.const(f"{layer.output}_bias", qb, "int32", Quant(bs, np.zeros(bs.size, np.int64), 0)))
        elif not depthwise:
            inputs.append(None)
        attrs = dict(padding=padding, stride_h=a["stride"][0], stride_w=a["stride"][1],
                     dilation_h=a["dilation"][0], dilation_w=a["dilation"][1], activation=a["act"])
        if depthwise:
            attrs["depth_multiplier"] = o // c
        self.op(kind, inputs, self.out(layer), **attrs)

    def _linear(self, layer):
        a = layer.attrs
        src = layer.inputs[0]
        shape = self.fg.shapes[src]
        if len(shape) != 2:
            raise TinyCompilerError(f"Linear at {layer.where} reads a rank-{len(shape)} tensor "
                                    f"{list(shape)}; supported: [N, features] (flatten first)")
        wt = a["weight"]
        if src in self.hwc_flat:
            x = self.tensor[src]
            _, c, h, w = self.fg.shapes[self.hwc_flat[src]]
            # IR feature j = (y*W + x)*C + ch holds torch feature ch*H*W + y*W + x
            perm = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
            wt = wt[:, perm]
        else:
            x = self.read(src)
        in_q = self.g.tensors[x].quant
        qw, ws = quantize_weights(wt, 0, a["bias"], in_q.s, per_channel=False)
        inputs = [x, self.const(f"{layer.output}_weights", qw, "int8", Quant(ws, np.zeros(1, np.int64), 0))]
        if a["bias"] is not None:
            qb, bs = quantize_bias(a["bias"], in_q.s, ws)
            inputs.append(self.const(f"{layer.output}_bias", qb, "int32", Quant(bs, np.zeros(bs.size, np.int64), 0)))
        else:
            inputs.append(None)
        self.op("FULLY_CONNECTED", inputs, self.out(layer), activation=a["act"], keep_num_dims=False)

    def _operand_const(self, layer, c, rank, name) -> int:
        c = np.asarray(c, np.float32)
        if c.ndim > rank:
            raise TinyCompilerError(f"constant operand at {layer.where} has more dims than the tensor")
        c = c.reshape((1,) * (rank - c.ndim) + c.shape)
        if rank == 4:
            c = c.transpose(0, 2, 3, 1)
        q = activation_quant(float(c.min()), float(c.max()))
        data = np.clip(np.round(c / q.s) + q.zp, -128, 127).astype(np.int8)
        return self.const(name, data, "int8", q)

    def _binary(self, layer, kind):
        x = self.read(layer.inputs[0])
        rank = len(self.fg.shapes[layer.inputs[0]])
        if "const" in layer.attrs:
            other = self._operand_const(layer, layer.attrs["const"], rank, f"{layer.output}_const")
        else:
            if len(self.fg.shapes[layer.inputs[1]]) != rank:
                raise TinyCompilerError(f"{kind.lower()} at {layer.where} mixes ranks "
                                        f"{rank} and {len(self.fg.shapes[layer.inputs[1]])}; supported: equal ranks")
            other = self.read(layer.inputs[1])
        self.op(kind, [x, other], self.out(layer), activation=layer.attrs["act"])

    def _add(self, layer):
        self._binary(layer, "ADD")

    def _mul(self, layer):
        self._binary(layer, "MUL")

    def _axis(self, value, dim) -> int:
        return _NHWC_AXIS[dim] if len(self.fg.shapes[value]) == 4 else dim

    def _mean(self, layer):
        src = layer.inputs[0]
        x = self.read(src)
        axes = sorted(self._axis(src, d) for d in layer.attrs["dims"])
        if not layer.attrs["keepdim"] and len(self.fg.shapes[src]) == 4 and axes != [1, 2]:
            # dropping dims other than H, W changes which torch dim lands where
            raise TinyCompilerError(f"mean at {layer.where} over dims {layer.attrs['dims']} without "
                                    f"keepdim; supported: over H and W (dims 2, 3), or keepdim=True")
        y = self.out(layer)
        self.op("MEAN", [x, self.int32(f"{layer.output}_axes", axes)], y, keep_dims=layer.attrs["keepdim"])

    def _pool(self, layer, kind):
        a = layer.attrs
        x = self.read(layer.inputs[0])
        n, c, h, w = self.fg.shapes[layer.inputs[0]]
        got = _window_padding((h, w), a["kernel"], a["stride"], a["padding"], ceil=a["ceil_mode"])
        ok = got is not None and (got[1] is None or (kind == "AVERAGE_POOL_2D" and a["count_include_pad"]))
        if ok and kind == "AVERAGE_POOL_2D" and got[0] == "SAME" and a["padding"] != (0, 0) and a["count_include_pad"]:
            got = ("VALID", (a["padding"][0],) * 2 + (a["padding"][1],) * 2)  # torch divides by the padded window
        if not ok:
            raise TinyCompilerError(f"{layer.kind} at {layer.where}: kernel {a['kernel']}, stride {a['stride']}, "
                                    f"padding {a['padding']}, ceil_mode {a['ceil_mode']} on {h}x{w} has no TFLite "
                                    f"equivalent; supported: no padding, or padding TFLite's SAME reproduces")
        padding, pads = got
        if pads is not None:
            x = self._pad_input(layer, x, pads)
        self.op(kind, [x], self.out(layer), padding=padding, stride_h=a["stride"][0], stride_w=a["stride"][1],
                filter_h=a["kernel"][0], filter_w=a["kernel"][1], activation="NONE")

    def _maxpool(self, layer):
        self._pool(layer, "MAX_POOL_2D")

    def _avgpool(self, layer):
        self._pool(layer, "AVERAGE_POOL_2D")

    def _pad(self, layer):
        x = self.read(layer.inputs[0])
        top, bottom, left, right = layer.attrs["pads"]
        paddings = np.array([[0, 0], [top, bottom], [left, right], [0, 0]], np.int32)
        self.op("PAD", [x, self.const(f"{layer.output}_paddings", paddings, "int32")], self.out(layer))

    def _unary(self, layer, kind, **attrs):
        self.op(kind, [self.read(layer.inputs[0])], self.out(layer), **attrs)

    def _relu(self, layer):
        self._unary(layer, "RELU")

    def _relu6(self, layer):
        self._unary(layer, "RELU6")

    def _hardswish(self, layer):
        self._unary(layer, "HARD_SWISH")

    def _sigmoid(self, layer):
        self._unary(layer, "LOGISTIC")

    def _softmax(self, layer):
        self._unary(layer, "SOFTMAX", beta=1.0)

    def _hardsigmoid(self, layer):
        """relu6(x + 3) / 6 as ADD(x, 3) with a fused RELU6 and MUL(., 1/6): both exact in range."""
        x = self.read(layer.inputs[0])
        rank = len(self.fg.shapes[layer.inputs[0]])
        shape = _nhwc(self.fg.shapes[layer.output])
        three = self._operand_const(layer, np.float32(3.0), rank, f"{layer.output}_three")
        t = self.new_act(f"{layer.output}_plus3", shape, quant_of(6.0 / 255.0, -128))
        self.op("ADD", [x, three], t, activation="RELU6")
        sixth = self._operand_const(layer, np.float32(1.0 / 6.0), rank, f"{layer.output}_sixth")
        self.op("MUL", [t, sixth], self.out(layer), activation="NONE")

    def _reshape(self, layer):
        src = layer.inputs[0]
        in_shape, out_shape = self.fg.shapes[src], self.fg.shapes[layer.output]
        if src in self.hwc_flat and len(out_shape) == 2 and out_shape == in_shape:
            self.tensor[layer.output] = self.tensor[src]
            self.hwc_flat[layer.output] = self.hwc_flat[src]
            return
        if _order_free(in_shape) and _order_free(out_shape):
            x = self.read(src)
            self.op("RESHAPE", [x, self.int32(f"{layer.output}_shape", _nhwc(out_shape))], self.out(layer))
            return
        if len(in_shape) == 4 and len(out_shape) == 2 and out_shape[0] == in_shape[0]:
            # a flatten: keep the NHWC data, remember its HWC order (a Linear reader permutes its weights)
            self.op("RESHAPE", [self.tensor[src], self.int32(f"{layer.output}_shape", out_shape)], self.out(layer))
            self.hwc_flat[layer.output] = src
            return
        # any other reshape depends on the NCHW order: transpose around it
        x = self.read(src)
        if len(in_shape) == 4:
            x = self.transpose(x, (0, 3, 1, 2), f"{layer.output}_in_nchw")
        if len(out_shape) == 4:
            t = self.new_act(f"{layer.output}_nchw", out_shape, self.q[layer.output])
            self.op("RESHAPE", [x, self.int32(f"{layer.output}_shape", out_shape)], t)
            y = self.out(layer)
            self.op("TRANSPOSE", [t, self.int32(f"{layer.output}_perm", (0, 2, 3, 1))], y)
        else:
            self.op("RESHAPE", [x, self.int32(f"{layer.output}_shape", out_shape)], self.out(layer))

    def _concat(self, layer):
        xs = [self.read(v) for v in layer.inputs]
        axis = self._axis(layer.inputs[0], layer.attrs["dim"])
        self.op("CONCATENATION", xs, self.out(layer), axis=axis, activation="NONE")


def build_graph(fg, quants: dict, io: str = "int8", name: str = "model") -> Graph:
    """The int8 IR graph of ``fg`` with the activation quantization ``quants``.

    ``io="int8"``: the graph input/outputs are int8 (NHWC for 4-D values); ``io="float"``: float32,
    with QUANTIZE/DEQUANTIZE at the edges.
    """
    if io not in ("int8", "float"):
        raise TinyCompilerError(f"io must be 'int8' or 'float', not {io!r}")
    b = _Builder(fg, quants, io, name)
    b.graph_input()
    for layer in fg.layers:
        b.layer(layer)
    b.graph_outputs()
    return b.g
