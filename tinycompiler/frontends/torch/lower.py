"""Lower a decomposed aten graph (ExportedProgram) to a float :class:`~.layers.FloatGraph`.

Parameters and buffers become numpy constants; nodes whose inputs are all constants (e.g.
``permute(weight)`` before ``addmm``) are evaluated here, once. Every other node maps onto one
layer, an identity (dropout, clone, ...) or a clear :class:`TinyCompilerError` naming the aten
op, the fx node and the module it came from, and listing what is supported.
"""

from __future__ import annotations

import operator

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.torch.layers import FloatGraph, Layer

#: what users may put in a model, for error messages
SUPPORTED_TORCH = (
    "Conv2d (regular, depthwise, grouped), BatchNorm2d, Linear, ReLU, ReLU6, Hardswish, "
    "Hardsigmoid, Sigmoid, Softmax, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, mean over H/W, "
    "residual add, mul (squeeze-excite), add/mul/div by a constant, cat, flatten/view/reshape/"
    "squeeze/unsqueeze, zero F.pad, Dropout/Identity"
)

#: aten ops that return their input unchanged in inference
_IDENTITY = {
    "aten.clone.default", "aten.alias.default", "aten.contiguous.default", "aten.detach.default",
    "aten.dropout.default", "aten.native_dropout.default", "aten.lift_fresh_copy.default",
    "aten.feature_dropout.default", "aten.alpha_dropout.default",
}

#: aten ops that only change the shape (row-major reinterpretation)
_RESHAPES = {
    "aten.view.default", "aten.reshape.default", "aten._unsafe_view.default", "aten.flatten.using_ints",
    "aten.squeeze.dim", "aten.squeeze.dims", "aten.squeeze.default", "aten.unsqueeze.default",
}


def _where(node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if stack:
        path, cls = list(stack.values())[-1]
        cls = cls.rsplit(".", 1)[-1] if isinstance(cls, str) else getattr(cls, "__name__", str(cls))
        return f"node {node.name!r} (module {path or '<root>'!r}, {cls})"
    return f"node {node.name!r}"


def unsupported(node, why: str = "") -> TinyCompilerError:
    extra = f" ({why})" if why else ""
    return TinyCompilerError(f"unsupported torch op {node.target} at {_where(node)}{extra}; "
                             f"supported: {SUPPORTED_TORCH}")


def _pair(v) -> tuple:
    if isinstance(v, (list, tuple)):
        return (int(v[0]), int(v[0])) if len(v) == 1 else (int(v[0]), int(v[1]))
    return int(v), int(v)


def _arg(node, i, name, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


class _Lowering:
    def __init__(self, ep):
        import torch

        self.torch = torch
        self.ep = ep
        self.consts: dict = {}  # node name -> numpy float32 constant
        self.layers: list = []
        self.shapes: dict = {}
        self.alias: dict = {}  # node name -> value name it forwards (identities)

    # --- constants and values ---------------------------------------------------------------
    def load_constants(self):
        sig = self.ep.graph_signature
        state = dict(self.ep.state_dict)
        state.update(getattr(self.ep, "constants", {}) or {})
        table = {}
        table.update(sig.inputs_to_parameters)
        table.update(sig.inputs_to_buffers)
        table.update(getattr(sig, "inputs_to_lifted_tensor_constants", {}) or {})
        for ph, target in table.items():
            if target in state:
                self.consts[ph] = state[target].detach().to(self.torch.float32).numpy().copy()
        return sig

    def value(self, node_or_name) -> str:
        name = node_or_name if isinstance(node_or_name, str) else node_or_name.name
        while name in self.alias:
            name = self.alias[name]
        return name

    def is_const(self, a) -> bool:
        return hasattr(a, "name") and self.value(a) in self.consts

    def const(self, a):
        if a is None:
            return None
        return self.consts[self.value(a)]

    def emit(self, node, kind, inputs, **attrs):
        self.layers.append(Layer(kind, [self.value(i) for i in inputs], node.name, attrs, _where(node)))
        self._record_shape(node)

    def _record_shape(self, node):
        val = node.meta.get("val")
        if isinstance(val, (tuple, list)) and val:  # multi-output ops: getitem 0 is the value
            val = val[0]
        if val is None or not hasattr(val, "shape"):
            raise unsupported(node, "it does not produce one tensor")
        self.shapes[node.name] = tuple(int(d) for d in val.shape)

    # --- the walk -------------------------------------------------------------------------------
    def run(self) -> FloatGraph:
        sig = self.load_constants()
        user_inputs = list(sig.user_inputs)
        if len(user_inputs) != 1:
            raise TinyCompilerError(f"the model has {len(user_inputs)} tensor inputs; the torch frontend "
                                    f"supports exactly one (an NCHW image or an [N, features] batch)")
        nodes = {n.name: n for n in self.ep.graph.nodes}
        in_node = nodes[user_inputs[0]]
        self._record_shape(in_node)
        rank = len(self.shapes[in_node.name])
        if rank not in (2, 4):
            raise TinyCompilerError(f"the model input has shape {list(self.shapes[in_node.name])}; "
                                    f"supported: NCHW (rank 4) or [N, features] (rank 2)")
        outputs = []
        for node in self.ep.graph.nodes:
            if node.op == "call_function":
                self.lower_node(node)
            elif node.op == "output":
                outputs = [a for a in node.args[0]]
            elif node.op == "get_attr":
                attr = getattr(self.ep.graph_module, node.target)
                self.consts[node.name] = attr.detach().to(self.torch.float32).numpy().copy()
        out_values = []
        for a in outputs:
            if not hasattr(a, "name") or self.is_const(a):
                raise TinyCompilerError("a model output is a constant or not a tensor; every output "
                                        "must depend on the input")
            out_values.append(self.value(a))
        return FloatGraph(in_node.name, out_values, self.layers, self.shapes)

    def fold_constant(self, node) -> bool:
        """Evaluate a node whose tensor arguments are all constants (e.g. ``t(weight)``)."""
        torch = self.torch
        tensors = [a for a in list(node.args) + list(node.kwargs.values()) if hasattr(a, "name")]
        if not tensors or not all(self.is_const(a) for a in tensors):
            return False

        def conv(a):
            if hasattr(a, "name"):
                return torch.from_numpy(self.const(a))
            if isinstance(a, (list, tuple)):
                return type(a)(conv(x) for x in a)
            return a

        try:
            out = node.target(*[conv(a) for a in node.args], **{k: conv(v) for k, v in node.kwargs.items()})
        except Exception as e:
            raise unsupported(node, f"constant folding failed: {e}") from None
        if isinstance(out, (tuple, list)):
            out = out[0]
        self.consts[node.name] = out.detach().to(torch.float32).numpy().copy()
        return True

    def lower_node(self, node):
        target = node.target
        if target is operator.getitem:
            src = node.args[0]
            if node.args[1] != 0 or src.name not in self.shapes and src.name not in self.consts:
                raise unsupported(node, "only the first result of a multi-output op is supported")
            if src.name in self.consts:
                return
            self.alias[node.name] = src.name
            return
        name = str(target)
        if self.fold_constant(node):
            return
        if name in _IDENTITY:
            self.alias[node.name] = self.value(node.args[0])
            return
        if name in _RESHAPES:
            return self.emit(node, "reshape", [node.args[0]])
        handler = _HANDLERS.get(name)
        if handler is None:
            raise unsupported(node)
        handler(self, node)


# --- handlers: one per aten op (family) ----------------------------------------------------------


def _conv(lw, node, x, w, b, stride, padding, dilation, groups, transposed=False):
    if transposed:
        raise unsupported(node, "transposed convolution")
    if isinstance(padding, str):
        raise unsupported(node, f"padding={padding!r}; use integer padding")
    if not lw.is_const(w) or (b is not None and not lw.is_const(b)):
        raise unsupported(node, "weights must be parameters, not computed at run time")
    weight = lw.const(w)
    if weight.ndim != 4:
        raise unsupported(node, f"{weight.ndim - 2}-D convolution; only 2-D is supported")
    lw.emit(node, "conv", [x], weight=weight, bias=lw.const(b), stride=_pair(stride),
            padding=_pair(padding), dilation=_pair(dilation), groups=int(groups), act="NONE")


def _conv2d(lw, node):
    a = node.args
    _conv(lw, node, a[0], a[1], _arg(node, 2, "bias"), _arg(node, 3, "stride", 1),
          _arg(node, 4, "padding", 0), _arg(node, 5, "dilation", 1), _arg(node, 6, "groups", 1))


def _convolution(lw, node):
    a = node.args
    _conv(lw, node, a[0], a[1], a[2], a[3], a[4], a[5], a[8], transposed=bool(a[6]))


def _batchnorm(lw, node, x, w, b, mean, var, eps):
    for t in (mean, var):
        if t is None or not lw.is_const(t):
            raise unsupported(node, "batch norm needs running statistics (call model.eval())")
    mean, var = lw.const(mean).astype(np.float64), lw.const(var).astype(np.float64)
    gamma = lw.const(w).astype(np.float64) if w is not None else np.ones_like(mean)
    beta = lw.const(b).astype(np.float64) if b is not None else np.zeros_like(mean)
    scale = gamma / np.sqrt(var + float(eps))
    lw.emit(node, "batchnorm", [x], scale=scale, shift=beta - mean * scale)


def _batch_norm(lw, node):
    a = node.args
    if a[5]:
        raise unsupported(node, "batch norm in training mode; call model.eval() before exporting")
    _batchnorm(lw, node, a[0], a[1], a[2], a[3], a[4], a[7])


def _bn_legit(lw, node):
    a = node.args
    _batchnorm(lw, node, a[0], a[1], a[2], a[3], a[4], a[6])


def _linear(lw, node):
    x, w, b = node.args[0], node.args[1], _arg(node, 2, "bias")
    if not lw.is_const(w) or (b is not None and not lw.is_const(b)):
        raise unsupported(node, "weights must be parameters, not computed at run time")
    lw.emit(node, "linear", [x], weight=lw.const(w), bias=lw.const(b), act="NONE")


def _addmm(lw, node):
    b, x, wt = node.args[:3]
    if float(node.kwargs.get("beta", 1)) != 1 or float(node.kwargs.get("alpha", 1)) != 1:
        raise unsupported(node, "addmm with alpha/beta")
    if not lw.is_const(wt) or not lw.is_const(b):
        raise unsupported(node, "matrix multiply of two run-time tensors")
    lw.emit(node, "linear", [x], weight=lw.const(wt).T.copy(), bias=lw.const(b).reshape(-1), act="NONE")


def _mm(lw, node):
    x, wt = node.args[:2]
    if not lw.is_const(wt):
        raise unsupported(node, "matrix multiply of two run-time tensors")
    lw.emit(node, "linear", [x], weight=lw.const(wt).T.copy(), bias=None, act="NONE")


def _binary(kind):
    def handler(lw, node):
        a, b = node.args[0], node.args[1]
        alpha = node.kwargs.get("alpha", 1)
        if alpha != 1:
            raise unsupported(node, "alpha != 1")
        sub = "sub" in str(node.target)
        div = "div" in str(node.target)
        if node.kwargs.get("rounding_mode") is not None:
            raise unsupported(node, "rounding division")
        ta, tb = hasattr(a, "name") and not lw.is_const(a), hasattr(b, "name") and not lw.is_const(b)
        if ta and tb:
            if sub or div:
                raise unsupported(node, "subtraction/division of two run-time tensors")
            return lw.emit(node, kind, [a, b], act="NONE")
        if not ta:
            if sub or div:
                raise unsupported(node, "constant minus/over a tensor")
            a, b = b, a
        c = lw.const(b) if hasattr(b, "name") else np.float32(b)
        c = np.asarray(c, dtype=np.float64)
        if sub:
            c = -c
        if div:
            c = 1.0 / c
        lw.emit(node, kind, [a], act="NONE", const=c.astype(np.float32))

    return handler


def _dims(node, dims, rank) -> list:
    if dims is None:
        return list(range(rank))
    dims = [dims] if isinstance(dims, int) else list(dims)
    return sorted(int(d) % rank for d in dims)


def _mean(lw, node):
    x = node.args[0]
    rank = len(lw.shapes[lw.value(x)])
    dims = _dims(node, _arg(node, 1, "dim"), rank)
    if node.kwargs.get("dtype") is not None:
        raise unsupported(node, "mean with a dtype")
    lw.emit(node, "mean", [x], dims=dims, keepdim=bool(_arg(node, 2, "keepdim", False)))


def _adaptive_avg(lw, node):
    x = node.args[0]
    n, c, h, w = lw.shapes[lw.value(x)]
    oh, ow = _pair(node.args[1])
    if (oh, ow) == (1, 1):
        return lw.emit(node, "mean", [x], dims=[2, 3], keepdim=True)
    if h % oh or w % ow:
        raise unsupported(node, f"adaptive pooling {h}x{w} -> {oh}x{ow} with uneven windows")
    k = (h // oh, w // ow)
    lw.emit(node, "avgpool", [x], kernel=k, stride=k, padding=(0, 0), ceil_mode=False, count_include_pad=True)


def _maxpool(lw, node):
    k = _pair(node.args[1])
    s = _arg(node, 2, "stride", None)
    s = k if not s else _pair(s)
    if _pair(_arg(node, 4, "dilation", 1)) != (1, 1):
        raise unsupported(node, "dilated max pooling")
    lw.emit(node, "maxpool", [node.args[0]], kernel=k, stride=s, padding=_pair(_arg(node, 3, "padding", 0)),
            ceil_mode=bool(_arg(node, 5, "ceil_mode", False)))


def _avgpool(lw, node):
    k = _pair(node.args[1])
    s = _arg(node, 2, "stride", None)
    s = k if not s else _pair(s)
    if _arg(node, 6, "divisor_override") is not None:
        raise unsupported(node, "avg pooling with divisor_override")
    lw.emit(node, "avgpool", [node.args[0]], kernel=k, stride=s, padding=_pair(_arg(node, 3, "padding", 0)),
            ceil_mode=bool(_arg(node, 4, "ceil_mode", False)),
            count_include_pad=bool(_arg(node, 5, "count_include_pad", True)))


def _clamp_like(lw, node, lo, hi):
    lo = None if lo is None else float(lo)
    hi = None if hi is None else float(hi)
    if lo == 0.0 and hi is None:
        return lw.emit(node, "relu", [node.args[0]])
    if lo == 0.0 and hi == 6.0:
        return lw.emit(node, "relu6", [node.args[0]])
    raise unsupported(node, f"clamp to [{lo}, {hi}]; supported: [0, inf) (ReLU) and [0, 6] (ReLU6)")


def _hardtanh(lw, node):
    _clamp_like(lw, node, _arg(node, 1, "min_val", -1.0), _arg(node, 2, "max_val", 1.0))


def _clamp(lw, node):
    _clamp_like(lw, node, _arg(node, 1, "min"), _arg(node, 2, "max"))


def _unary(kind):
    def handler(lw, node):
        lw.emit(node, kind, [node.args[0]])

    return handler


def _softmax(lw, node):
    x = node.args[0]
    rank = len(lw.shapes[lw.value(x)])
    dim = int(node.args[1]) % rank
    if len(node.args) > 2 and node.args[2] not in (False, None):
        raise unsupported(node, "softmax with a dtype/half_to_float")
    last = 1 if rank == 4 else rank - 1  # NCHW channels become NHWC's last axis
    if dim != last:
        raise unsupported(node, f"softmax over dim {dim}; supported: the channel/feature dim")
    lw.emit(node, "softmax", [x], dim=dim)


def _cat(lw, node):
    tensors = node.args[0]
    if any(lw.is_const(t) for t in tensors):
        raise unsupported(node, "concatenating constants")
    rank = len(lw.shapes[lw.value(tensors[0])])
    lw.emit(node, "concat", list(tensors), dim=int(_arg(node, 1, "dim", 0)) % rank)


def _pad(lw, node):
    x, pads = node.args[0], list(node.args[1])
    value = float(_arg(node, 2, "value", 0.0))
    rank = len(lw.shapes[lw.value(x)])
    if value != 0.0 or rank != 4 or len(pads) not in (2, 4) or any(p < 0 for p in pads):
        raise unsupported(node, "only zero padding of H and W of an NCHW tensor")
    pads = pads + [0, 0] if len(pads) == 2 else pads
    left, right, top, bottom = (int(p) for p in pads)
    lw.emit(node, "pad", [x], pads=(top, bottom, left, right))


_HANDLERS = {
    "aten.conv2d.default": _conv2d,
    "aten.convolution.default": _convolution,
    "aten.batch_norm.default": _batch_norm,
    "aten._native_batch_norm_legit_no_training.default": _bn_legit,
    "aten.linear.default": _linear,
    "aten.addmm.default": _addmm,
    "aten.mm.default": _mm,
    "aten.add.Tensor": _binary("add"),
    "aten.add.Scalar": _binary("add"),
    "aten.sub.Tensor": _binary("add"),
    "aten.sub.Scalar": _binary("add"),
    "aten.mul.Tensor": _binary("mul"),
    "aten.mul.Scalar": _binary("mul"),
    "aten.div.Tensor": _binary("mul"),
    "aten.div.Scalar": _binary("mul"),
    "aten.mean.dim": _mean,
    "aten.mean.default": _mean,
    "aten.adaptive_avg_pool2d.default": _adaptive_avg,
    "aten._adaptive_avg_pool2d.default": _adaptive_avg,
    "aten.max_pool2d.default": _maxpool,
    "aten.max_pool2d_with_indices.default": _maxpool,
    "aten.avg_pool2d.default": _avgpool,
    "aten.relu.default": _unary("relu"),
    "aten.hardtanh.default": _hardtanh,
    "aten.clamp.default": _clamp,
    "aten.clamp_min.default": lambda lw, node: _clamp_like(lw, node, node.args[1], None),
    "aten.hardswish.default": _unary("hardswish"),
    "aten.hardsigmoid.default": _unary("hardsigmoid"),
    "aten.sigmoid.default": _unary("sigmoid"),
    "aten.softmax.int": _softmax,
    "aten._softmax.default": _softmax,
    "aten.cat.default": _cat,
    "aten.constant_pad_nd.default": _pad,
}


def lower(ep) -> FloatGraph:
    """The float layer list of a decomposed ExportedProgram."""
    return _Lowering(ep).run()
