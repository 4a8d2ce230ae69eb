"""Semantic checks of an imported graph: what every later stage may rely on.

:func:`validate_graph` raises a one-line :class:`TinyCompilerError` naming the op or tensor for:
wrong input/output counts, a constant data input where the code needs an activation
(conv, FC, views), dtypes other than int8 activations (float32 only as a QUANTIZE input at
the graph input or a DEQUANTIZE output at the graph output), missing or malformed quantization,
non-constant weights or parameters, shapes that do not agree with the op (filter vs input
channels, SAME/VALID output size, bias length, FC dims, broadcasting, concat, reshape element
count, ...), tensors read before they are written, and graph outputs that no op produces.

It also normalizes two attributes in place: CONCATENATION ``axis`` and SQUEEZE ``squeeze_dims``
become non-negative.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.ir import ACTIVATIONS, Graph, Op, conv_output_size
from tinycompiler.ir.ops import FLOAT_TAIL_OPS

#: largest dimension accepted in a tensor shape
MAX_DIM = 1 << 24
#: largest number of elements in one tensor
MAX_ELEMENTS = 1 << 28
#: largest tensor rank
MAX_RANK = 8

_EDGE_NOTE = "int8 activations only (float32 only as a QUANTIZE input at the graph input, or after a " \
    "DEQUANTIZE in a float tail of " + ", ".join(FLOAT_TAIL_OPS) + " that ends the graph)"

#: op -> (min inputs, max inputs, outputs)
_ARITY = {
    "CONV_2D": (2, 3, 1),
    "DEPTHWISE_CONV_2D": (2, 3, 1),
    "FULLY_CONNECTED": (2, 3, 1),
    "ADD": (2, 2, 1),
    "MUL": (2, 2, 1),
    "AVERAGE_POOL_2D": (1, 1, 1),
    "MAX_POOL_2D": (1, 1, 1),
    "MEAN": (2, 2, 1),
    "PAD": (2, 2, 1),
    "RESHAPE": (1, 2, 1),
    "SQUEEZE": (1, 1, 1),
    "SOFTMAX": (1, 1, 1),
    "LOG_SOFTMAX": (1, 1, 1),
    "LOGISTIC": (1, 1, 1),
    "TANH": (1, 1, 1),
    "HARD_SWISH": (1, 1, 1),
    "RELU": (1, 1, 1),
    "RELU6": (1, 1, 1),
    "CONCATENATION": (1, 64, 1),
    "TRANSPOSE": (2, 2, 1),
    "RESIZE_NEAREST_NEIGHBOR": (2, 2, 1),
    "QUANTIZE": (1, 1, 1),
    "DEQUANTIZE": (1, 1, 1),
}

#: ops with a filter (input 1, const int8) and an optional bias (input 2, const int32)
_WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
#: ops whose input 1 is a constant int32 parameter tensor (RESHAPE's is optional)
_PARAM_INPUT = ("MEAN", "PAD", "TRANSPOSE", "RESIZE_NEAREST_NEIGHBOR", "RESHAPE")
#: per-channel quantization axis of each weighted op's filter
_FILTER_AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}
#: ops whose data input (input 0) the code generator reads from the arena: a constant there has no
#: arena bytes (other ops copy a constant operand into weights.c; views alias their input's bytes)
_ARENA_INPUT = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "RESHAPE", "SQUEEZE")


def _err(op: Op, msg: str) -> TinyCompilerError:
    return TinyCompilerError(f"{op.where()}: {msg}")


def _tname(g: Graph, i: int) -> str:
    t = g.tensors[i]
    return f"tensor {i} ({t.name!r})" if t.name else f"tensor {i}"


def validate_graph(g: Graph) -> None:
    """Check the whole graph; raise TinyCompilerError at the first problem."""
    if not g.ops:
        raise TinyCompilerError("model has no operators; nothing to compile")
    if not g.inputs or not g.outputs:
        raise TinyCompilerError(
            f"model has {len(g.inputs)} inputs and {len(g.outputs)} outputs; at least one of each needed"
        )
    _check_refs(g)
    _check_order(g)
    tail = float_tail(g)
    edges = (set(g.inputs), set(g.outputs), tail)
    for op in g.ops:
        _check_arity(op)
        _check_dtypes(g, op, edges)
        _check_quant(g, op)
        _SHAPE_CHECKS.get(op.kind, _same_shape)(g, op)


# --- graph structure ------------------------------------------------------------------------------
#: attributes the checks below index directly (graphs from other frontends must carry them)
_REQUIRED_ATTRS = {
    "DEPTHWISE_CONV_2D": ("depth_multiplier",),
    "AVERAGE_POOL_2D": ("filter_h", "filter_w"),
    "MAX_POOL_2D": ("filter_h", "filter_w"),
    "MEAN": ("keep_dims",),
    "SQUEEZE": ("squeeze_dims",),
    "CONCATENATION": ("axis",),
}


def _check_refs(g: Graph) -> None:
    """Indices in range, known op kinds, required attributes (cheap guards for any frontend)."""
    n = len(g.tensors)
    for k, t in enumerate(g.tensors):
        if t.index != k:
            raise TinyCompilerError(f"tensor at position {k} has index {t.index}; they must agree")
    for what, idx in (("graph input", g.inputs), ("graph output", g.outputs)):
        for i in idx:
            if not isinstance(i, (int, np.integer)) or not 0 <= i < n:
                raise TinyCompilerError(f"{what} {i!r} is not a tensor index (0..{n - 1})")
    for op in g.ops:
        if op.kind not in _ARITY:
            raise _err(op, f"{op.kind} is not supported; supported: {', '.join(_ARITY)}")
        for i in list(op.inputs) + list(op.outputs):
            if i is not None and (not isinstance(i, (int, np.integer)) or not 0 <= i < n):
                raise _err(op, f"refers to tensor {i!r}, which is not a tensor index (0..{n - 1})")
        if None in op.outputs:
            raise _err(op, "has an absent output")
        for key in _REQUIRED_ATTRS.get(op.kind, ()):
            if key not in op.attrs:
                raise _err(op, f"attribute {key!r} is missing")
        act = op.attrs.get("activation", "NONE")
        if act not in ACTIVATIONS:
            raise _err(op, f"activation {act!r} is not supported; supported: {', '.join(ACTIVATIONS)}")


def _check_order(g: Graph) -> None:
    seen = set()
    for i in g.inputs:
        if i in seen:
            raise TinyCompilerError(f"graph input {_tname(g, i)} is listed twice")
        if g.tensors[i].is_const:
            raise TinyCompilerError(f"graph input {_tname(g, i)} is a constant; inputs must be activations")
        seen.add(i)
    written = set(g.inputs)
    for op in g.ops:
        for i in op.inputs:
            if i is not None and not g.tensors[i].is_const and i not in written:
                raise _err(op, f"reads {_tname(g, i)} before any op writes it (ops out of order, a "
                               f"cycle, or a missing graph input)")
        for i in op.outputs:
            if g.tensors[i].is_const:
                raise _err(op, f"writes {_tname(g, i)}, which is a constant")
            if i in written:
                raise _err(op, f"writes {_tname(g, i)}, which is already a graph input or written "
                               f"by an earlier op")
            written.add(i)
    graph_inputs = set(g.inputs)
    for i in g.outputs:
        if i not in written or i in graph_inputs:
            raise TinyCompilerError(f"graph output {_tname(g, i)} is never produced by any op")


def _check_arity(op: Op) -> None:
    lo, hi, n_out = _ARITY[op.kind]
    n_in = len(op.inputs)
    if not lo <= n_in <= hi:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise _err(op, f"has {n_in} inputs; expected {want}")
    if len(op.outputs) != n_out:
        raise _err(op, f"has {len(op.outputs)} outputs; expected {n_out}")
    optional = {2} if op.kind in _WEIGHTED else ({1} if op.kind == "RESHAPE" else set())
    for pos, i in enumerate(op.inputs):
        if i is None and pos not in optional:
            raise _err(op, f"input {pos} is absent (index -1) but required")
    if len(set(op.outputs)) != len(op.outputs):
        raise _err(op, "lists the same output tensor twice")


# --- dtypes ----------------------------------------------------------------------------------------
def float_tail(g: Graph) -> set:
    """The float32 tensors of the graph's float tail: DEQUANTIZE outputs and what the
    :data:`FLOAT_TAIL_OPS` compute from them (float32 constants allowed as second operands and FC
    weights). Raises TinyCompilerError when a tail tensor is read by anything but a tail op: float
    ops run only at the end of the graph, as a QUANTIZE back to int8 would need float kernels
    everywhere."""
    tail = set()
    for op in g.ops:
        outs = [g.tensors[i] for i in op.outputs]
        if not outs or any(t.dtype != "float32" for t in outs):
            continue
        if op.kind == "DEQUANTIZE":
            tail.update(op.outputs)
            continue
        if op.kind not in FLOAT_TAIL_OPS:
            continue
        data = [op.inputs[p] for p in _data_inputs(op) if p < len(op.inputs) and op.inputs[p] is not None]
        if data and data[0] in tail and all(i in tail or (g.tensors[i].is_const and g.tensors[i].dtype == "float32")
                                            for i in data):
            tail.update(op.outputs)
    for op in g.ops:
        for i in op.inputs:
            if i in tail and not (op.kind in FLOAT_TAIL_OPS and all(o in tail for o in op.outputs)):
                raise _err(op, f"reads float32 {_tname(g, i)} of the float tail; after a DEQUANTIZE only "
                               f"{', '.join(FLOAT_TAIL_OPS)} on float32 may follow, up to the graph outputs")
    return tail


def _data_inputs(op: Op) -> list:
    """Positions of the op's activation-like inputs (int8 data, constant or not)."""
    if op.kind in ("ADD", "MUL"):
        return [0, 1]
    if op.kind == "CONCATENATION":
        return list(range(len(op.inputs)))
    return [0]


def _check_dtypes(g: Graph, op: Op, edges: tuple) -> None:
    graph_inputs, graph_outputs, tail = edges
    if op.kind == "TANH" and not all(o in tail for o in op.outputs):
        raise _err(op, "TANH is supported on float32 only, in a float tail after a DEQUANTIZE")
    if all(o in tail for o in op.outputs) and op.kind != "DEQUANTIZE":
        _check_float_tail_op(g, op)
        return
    if op.kind in _ARENA_INPUT and g.tensors[op.inputs[0]].is_const:
        raise _err(op, f"input {_tname(g, op.inputs[0])} is a constant; {op.kind} runs on activations only "
                       f"(fold the constant computation away when converting the model)")
    for pos in _data_inputs(op):
        i = op.inputs[pos]
        t = g.tensors[i]
        if t.dtype == "int8":
            continue
        if (op.kind == "QUANTIZE" and t.dtype == "float32" and i in graph_inputs):
            continue
        raise _err(op, f"input {_tname(g, i)} is {t.dtype}; {_EDGE_NOTE}")
    for i in op.outputs:
        t = g.tensors[i]
        if t.dtype == "int8":
            continue
        if op.kind == "DEQUANTIZE" and t.dtype == "float32" and (i in graph_outputs or i in tail):
            continue
        raise _err(op, f"output {_tname(g, i)} is {t.dtype}; {_EDGE_NOTE}")
    if op.kind in _WEIGHTED:
        w = g.tensors[op.inputs[1]]
        if w.dtype != "int8" or not w.is_const:
            kind = "constant" if w.is_const else "non-constant"
            raise _err(op, f"filter {_tname(g, w.index)} is {kind} {w.dtype}; supported: constant int8")
        if len(op.inputs) > 2 and op.inputs[2] is not None:
            b = g.tensors[op.inputs[2]]
            if b.dtype != "int32" or not b.is_const:
                kind = "constant" if b.is_const else "non-constant"
                raise _err(op, f"bias {_tname(g, b.index)} is {kind} {b.dtype}; supported: constant int32")
    if op.kind in _PARAM_INPUT and len(op.inputs) > 1 and op.inputs[1] is not None:
        p = g.tensors[op.inputs[1]]
        if p.dtype != "int32" or not p.is_const:
            kind = "constant" if p.is_const else "non-constant"
            raise _err(op, f"parameter {_tname(g, p.index)} is {kind} {p.dtype}; supported: constant int32")


def _check_float_tail_op(g: Graph, op: Op) -> None:
    """A float tail op: float32 data, constant float32 FC weights and bias, int32 parameters."""
    if op.kind == "FULLY_CONNECTED":
        for pos, what in ((1, "weights"), (2, "bias")):
            t = op.input(g, pos)
            if t is not None and (t.dtype != "float32" or not t.is_const):
                kind = "constant" if t.is_const else "non-constant"
                raise _err(op, f"{what} {_tname(g, t.index)} is {kind} {t.dtype}; a float FULLY_CONNECTED needs "
                               f"constant float32")
    if op.kind in _PARAM_INPUT and len(op.inputs) > 1 and op.inputs[1] is not None:
        p = g.tensors[op.inputs[1]]
        if p.dtype != "int32" or not p.is_const:
            raise _err(op, f"parameter {_tname(g, p.index)} must be constant int32")


# --- quantization ----------------------------------------------------------------------------------
def _check_quant(g: Graph, op: Op) -> None:
    act = [op.inputs[p] for p in _data_inputs(op)] + list(op.outputs)
    for i in act:
        t = g.tensors[i]
        if t.dtype != "int8":
            continue
        q = t.quant
        if q is None:
            raise _err(op, f"{_tname(g, i)} is int8 but has no quantization parameters")
        if q.per_channel:
            raise _err(op, f"{_tname(g, i)} has {q.scale.size} scales; activations must be "
                           f"quantized per tensor")
        if not (np.isfinite(q.scale[0]) and q.scale[0] > 0):
            raise _err(op, f"{_tname(g, i)} has scale {q.scale[0]}; it must be positive and finite")
        if not -128 <= q.zp <= 127:
            raise _err(op, f"{_tname(g, i)} has zero point {q.zp}; int8 needs -128..127")
    if op.kind in _WEIGHTED and g.tensors[op.inputs[1]].dtype == "int8":
        w = g.tensors[op.inputs[1]]
        q = w.quant
        if q is None:
            raise _err(op, f"filter {_tname(g, w.index)} has no quantization parameters")
        if not np.all(np.isfinite(q.scale)) or np.any(q.scale < 0):
            raise _err(op, f"filter {_tname(g, w.index)} has negative or non-finite scales")
        if np.any((q.zero_point < -128) | (q.zero_point > 127)):
            raise _err(op, f"filter {_tname(g, w.index)} has zero points outside -128..127")
        axis = _FILTER_AXIS[op.kind]
        if q.per_channel and q.axis != axis:
            raise _err(op, f"filter {_tname(g, w.index)} is quantized per channel along axis "
                           f"{q.axis}; {op.kind} needs axis {axis}")
        bi = op.inputs[2] if len(op.inputs) > 2 else None
        if bi is not None:
            bq = g.tensors[bi].quant
            if bq is not None and bq.per_channel and q.per_channel and bq.scale.size != q.scale.size:
                raise _err(op, f"bias {_tname(g, bi)} has {bq.scale.size} scales but the filter has "
                               f"{q.scale.size}")


# --- shapes ------------------------------------------------------------------------------------------
def _shape(g: Graph, i) -> tuple:
    return tuple(g.tensors[i].shape)


def _expect_rank(g: Graph, op: Op, i, rank: int, what: str) -> tuple:
    s = _shape(g, i)
    if len(s) != rank:
        raise _err(op, f"{what} {_tname(g, i)} has shape {list(s)}; expected rank {rank}")
    return s


def _expect_out(g: Graph, op: Op, expected) -> None:
    got = _shape(g, op.outputs[0])
    expected = tuple(int(d) for d in expected)
    if got != expected:
        raise _err(op, f"output {_tname(g, op.outputs[0])} has shape {list(got)}; the inputs and "
                       f"attributes give {list(expected)}")


def _nonempty(g: Graph, op: Op) -> None:
    for i in [j for j in op.inputs[:1] if j is not None] + list(op.outputs):
        if 0 in _shape(g, i):
            raise _err(op, f"{_tname(g, i)} has an empty shape {list(_shape(g, i))}")


def _window_attrs(op: Op) -> None:
    """Window attributes must be present and sane before any arithmetic uses them (graphs built by
    other frontends reach here without the reader's checks)."""
    a = op.attrs
    if a.get("padding") not in ("SAME", "VALID"):
        raise _err(op, f"attribute 'padding' is {a.get('padding')!r}; supported: SAME, VALID")
    keys = ["stride_h", "stride_w"]
    keys += ["filter_h", "filter_w"] if "POOL" in op.kind else ["dilation_h", "dilation_w"]
    for k in keys:
        v = a.get(k, 1 if k.startswith("dilation") else None)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise _err(op, f"attribute {k!r} is {v!r}; it must be a positive integer")


def _window_out(g, op, h, w, kh, kw) -> tuple:
    _window_attrs(op)
    a = op.attrs
    oh = conv_output_size(h, kh, a["stride_h"], a.get("dilation_h", 1), a["padding"])
    ow = conv_output_size(w, kw, a["stride_w"], a.get("dilation_w", 1), a["padding"])
    if oh < 1 or ow < 1:
        raise _err(op, f"a {kh}x{kw} window (dilation {a.get('dilation_h', 1)}x"
                       f"{a.get('dilation_w', 1)}) does not fit the {h}x{w} input with "
                       f"{a['padding']} padding")
    return oh, ow


def _check_bias(g: Graph, op: Op, channels: int) -> None:
    bi = op.inputs[2] if len(op.inputs) > 2 else None
    if bi is not None and _shape(g, bi) != (channels,):
        raise _err(op, f"bias {_tname(g, bi)} has shape {list(_shape(g, bi))}; expected [{channels}]")


def _conv(g: Graph, op: Op) -> None:
    _nonempty(g, op)
    n, h, w, c = _expect_rank(g, op, op.inputs[0], 4, "input")
    o, kh, kw, ci = _expect_rank(g, op, op.inputs[1], 4, "filter")
    if ci < 1 or c % ci or o % (c // ci):
        raise _err(op, f"filter {_tname(g, op.inputs[1])} has {ci} input channels, which does not "
                       f"divide the input's {c} channels into groups of the {o} outputs")
    _check_bias(g, op, o)
    oh, ow = _window_out(g, op, h, w, kh, kw)
    _expect_out(g, op, (n, oh, ow, o))


def _depthwise(g: Graph, op: Op) -> None:
    _nonempty(g, op)
    n, h, w, c = _expect_rank(g, op, op.inputs[0], 4, "input")
    one, kh, kw, oc = _expect_rank(g, op, op.inputs[1], 4, "filter")
    if one != 1:
        raise _err(op, f"filter {_tname(g, op.inputs[1])} has shape {[one, kh, kw, oc]}; expected [1, H, W, C*M]")
    dm = op.attrs["depth_multiplier"]
    if isinstance(dm, bool) or not isinstance(dm, (int, np.integer)) or dm < 1:
        raise _err(op, f"attribute 'depth_multiplier' is {dm!r}; it must be a positive integer")
    if oc != c * dm:
        raise _err(op, f"filter has {oc} channels but input channels {c} x depth_multiplier {dm} = {c * dm}")
    _check_bias(g, op, oc)
    oh, ow = _window_out(g, op, h, w, kh, kw)
    _expect_out(g, op, (n, oh, ow, oc))


def _fully_connected(g: Graph, op: Op) -> None:
    _nonempty(g, op)
    x = _shape(g, op.inputs[0])
    o, i = _expect_rank(g, op, op.inputs[1], 2, "weights")
    if len(x) < 1:
        raise _err(op, "input is a scalar; expected at least rank 1")
    size = int(np.prod(x, dtype=np.int64))
    if i < 1 or size % i:
        raise _err(op, f"input shape {list(x)} ({size} elements) is not a whole number of rows of "
                       f"the weights' {i} inputs")
    _check_bias(g, op, o)
    out = _shape(g, op.outputs[0])
    if op.attrs.get("keep_num_dims"):
        if x[-1] != i:
            raise _err(op, f"keep_num_dims needs the input's last dimension {x[-1]} to equal the "
                           f"weights' {i} inputs")
        _expect_out(g, op, x[:-1] + (o,))
    elif out != (size // i, o):
        # TFLite writes [batch, units]; accept any shape with the same rows and units
        if not out or out[-1] != o or int(np.prod(out, dtype=np.int64)) != (size // i) * o:
            raise _err(op, f"output shape {list(out)} does not match {size // i} rows of {o} units")


def _broadcast(g: Graph, op: Op) -> None:
    a, b = _shape(g, op.inputs[0]), _shape(g, op.inputs[1])
    try:
        expected = np.broadcast_shapes(a, b)
    except ValueError:
        raise _err(op, f"input shapes {list(a)} and {list(b)} do not broadcast") from None
    if len(expected) > 6:
        raise _err(op, f"broadcast rank {len(expected)} is not supported; supported: <= 6")
    _expect_out(g, op, expected)


def _pool(g: Graph, op: Op) -> None:
    _nonempty(g, op)
    n, h, w, c = _expect_rank(g, op, op.inputs[0], 4, "input")
    oh, ow = _window_out(g, op, h, w, op.attrs["filter_h"], op.attrs["filter_w"])
    _expect_out(g, op, (n, oh, ow, c))


def _param(g: Graph, op: Op, pos: int = 1, limit: int = 2 * MAX_RANK) -> np.ndarray:
    """A constant int32 parameter as int64, checked small before it is read (ops may share it)."""
    t = g.tensors[op.inputs[pos]]
    if t.size > limit:
        raise _err(op, f"parameter {_tname(g, t.index)} has {t.size} elements; expected at most {limit}")
    return np.asarray(t.data).astype(np.int64)


def _mean(g: Graph, op: Op) -> None:
    x = _shape(g, op.inputs[0])
    axes = _param(g, op)
    if axes.ndim > 1:
        raise _err(op, f"axes tensor has shape {list(axes.shape)}; expected a vector")
    r = len(x)
    norm = []
    for a in axes.reshape(-1).tolist():
        if not -r <= a < r:
            raise _err(op, f"axis {a} is out of range for input rank {r}")
        norm.append(a % r)
    if not norm:
        raise _err(op, "axes tensor is empty")
    if op.attrs["keep_dims"]:
        expected = tuple(1 if d in norm else s for d, s in enumerate(x))
    else:
        expected = tuple(s for d, s in enumerate(x) if d not in norm)
    _expect_out(g, op, expected)


def _pad(g: Graph, op: Op) -> None:
    x = _shape(g, op.inputs[0])
    p = _param(g, op)
    if p.shape != (len(x), 2):
        raise _err(op, f"paddings tensor has shape {list(p.shape)}; expected [{len(x)}, 2]")
    if np.any(p < 0) or np.any(p > MAX_DIM):
        raise _err(op, f"paddings {p.tolist()} must be within 0..{MAX_DIM}")
    _expect_out(g, op, tuple(s + int(p[d, 0]) + int(p[d, 1]) for d, s in enumerate(x)))


def _reshape(g: Graph, op: Op) -> None:
    a = g.tensors[op.inputs[0]].size
    b = g.tensors[op.outputs[0]].size
    if a != b:
        raise _err(op, f"reshapes {list(_shape(g, op.inputs[0]))} ({a} elements) to "
                       f"{list(_shape(g, op.outputs[0]))} ({b} elements)")


def _squeeze(g: Graph, op: Op) -> None:
    x = _shape(g, op.inputs[0])
    r = len(x)
    dims = []
    for d in op.attrs["squeeze_dims"]:
        if not -r <= d < r:
            raise _err(op, f"squeeze dimension {d} is out of range for input rank {r}")
        if x[d % r] != 1:
            raise _err(op, f"squeeze dimension {d} has size {x[d % r]}, not 1")
        dims.append(d % r)
    op.attrs["squeeze_dims"] = sorted(set(dims))
    drop = set(dims) if dims else {d for d, s in enumerate(x) if s == 1}
    _expect_out(g, op, tuple(s for d, s in enumerate(x) if d not in drop))


def _concat(g: Graph, op: Op) -> None:
    out = _shape(g, op.outputs[0])
    r = len(out)
    axis = op.attrs["axis"]
    if not -r <= axis < r:
        raise _err(op, f"axis {axis} is out of range for rank {r}")
    axis %= r
    op.attrs["axis"] = axis
    total = 0
    for i in op.inputs:
        s = _shape(g, i)
        if len(s) != r or any(s[d] != out[d] for d in range(r) if d != axis):
            raise _err(op, f"input {_tname(g, i)} shape {list(s)} does not match output "
                           f"{list(out)} outside axis {axis}")
        total += s[axis]
    if total != out[axis]:
        raise _err(op, f"inputs add up to {total} along axis {axis} but the output has {out[axis]}")


def _transpose(g: Graph, op: Op) -> None:
    x = _shape(g, op.inputs[0])
    perm = _param(g, op).reshape(-1).tolist()
    if sorted(perm) != list(range(len(x))):
        raise _err(op, f"perm {perm} is not a permutation of the input's {len(x)} dimensions")
    _expect_out(g, op, tuple(x[p] for p in perm))


def _resize(g: Graph, op: Op) -> None:
    n, h, w, c = _expect_rank(g, op, op.inputs[0], 4, "input")
    size = _param(g, op)
    if size.shape != (2,) or np.any(size < 1) or np.any(size > MAX_DIM):
        raise _err(op, f"size tensor {size.tolist()} must be two values in 1..{MAX_DIM}")
    _expect_out(g, op, (n, int(size[0]), int(size[1]), c))


def _same_shape(g: Graph, op: Op) -> None:
    x = _shape(g, op.inputs[0])
    if op.kind in ("SOFTMAX", "LOG_SOFTMAX") and (len(x) < 1 or 0 in x):
        raise _err(op, f"input shape {list(x)} has no elements to normalize")
    _expect_out(g, op, x)


_SHAPE_CHECKS = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _broadcast,
    "MUL": _broadcast,
    "AVERAGE_POOL_2D": _pool,
    "MAX_POOL_2D": _pool,
    "MEAN": _mean,
    "PAD": _pad,
    "RESHAPE": _reshape,
    "SQUEEZE": _squeeze,
    "CONCATENATION": _concat,
    "TRANSPOSE": _transpose,
    "RESIZE_NEAREST_NEIGHBOR": _resize,
}
