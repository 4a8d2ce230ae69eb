"""Read a ``.tflite`` flatbuffer into the IR (:func:`load_tflite`).

Two steps: :func:`_parse` walks the flatbuffer through the ``tflite`` package's generated bindings,
with every table, vector and buffer bounds-checked first (:mod:`.flatcheck`), and builds a
:class:`~tinycompiler.ir.Graph`; then :func:`~.validate.validate_graph` checks what the rest of the
compiler relies on (supported dtypes, quantization, shapes per op, execution order). Anything
wrong is a one-line :class:`TinyCompilerError` that names the op, tensor or field.

IR tensor indices are the file's tensor indices, and op inputs keep TFLite's order with ``None``
for an absent optional input (``-1`` in the file).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Union

import numpy as np
import tflite

from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.tflite import opcodes
from tinycompiler.frontends.tflite.flatcheck import FlatCheck
from tinycompiler.frontends.tflite.validate import MAX_DIM, MAX_ELEMENTS, MAX_RANK, validate_graph
from tinycompiler.ir import ACTIVATIONS, SUPPORTED_OPS, Graph, Op, Quant, Tensor, supported_list

#: schema version TFLM and LiteRT accept
SCHEMA_VERSION = 3
#: most tensors, ops, buffers or operator codes accepted (far beyond any microcontroller model;
#: bounds the memory a hostile file can make the reader allocate)
MAX_ITEMS = 100_000
#: largest model file read (TFLite flatbuffers cannot exceed 2 GiB without external buffers)
MAX_FILE_BYTES = 1 << 31

# vtable offsets of the fields read directly (as in schema.fbs: 4 + 2 * field id)
_MODEL_OPCODES, _MODEL_SUBGRAPHS, _MODEL_DESCRIPTION, _MODEL_BUFFERS = 6, 8, 10, 12
_SG_TENSORS, _SG_INPUTS, _SG_OUTPUTS, _SG_OPERATORS = 4, 6, 8, 10
_T_SHAPE, _T_NAME, _T_QUANT, _T_SPARSITY = 4, 10, 12, 16
_Q_SCALE, _Q_ZERO_POINT, _Q_DETAILS = 8, 10, 14
_OP_INPUTS, _OP_OUTPUTS, _OP_OPTIONS = 6, 8, 12
_BUF_DATA = 4
_SQUEEZE_DIMS = 4
_OPCODE_CUSTOM = 6

#: the ``tflite`` binding class of each supported op's options
_OPTION_CLASSES = {
    name: (getattr(tflite, cls) if cls else None) for name, cls in opcodes.OP_OPTIONS.items()
}
#: ops whose options carry values without a sensible default: a file must provide them
_OPTIONS_REQUIRED = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D")

# exceptions the flatbuffers runtime or numpy raise on malformed input
_PARSE_ERRORS = (
    IndexError,
    struct.error,
    ValueError,
    TypeError,
    OverflowError,
    UnicodeDecodeError,
    AttributeError,
    KeyError,
)


def load_tflite(source: Union[str, os.PathLike, bytes, bytearray, memoryview]) -> Graph:
    """Read a TFLite model (a path or the file's bytes) into a validated :class:`Graph`.

    Raises :class:`TinyCompilerError` for a file that cannot be read, is malformed, or uses
    anything the compiler does not support.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        buf, name = bytes(source), "model"
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise TinyCompilerError(f"{path}: {size} bytes is too large for a TFLite flatbuffer")
            buf = path.read_bytes()
        except OSError as e:
            raise TinyCompilerError(f"cannot read model {path}: {e.strerror or e}") from None
        name = path.stem
    graph = parse_tflite(buf, name)
    validate_graph(graph)
    return graph


def parse_tflite(buf: bytes, name: str = "model") -> Graph:
    """Decode the flatbuffer into a Graph without the semantic checks of :func:`validate_graph`."""
    fc = FlatCheck(buf)
    if len(buf) < 8:
        raise fc.corrupt("shorter than a flatbuffer header")
    if buf[4:8] != b"TFL3":
        raise TinyCompilerError(
            f"not a TFLite model: file identifier is {bytes(buf[4:8])!r}, expected b'TFL3' "
            f"(a .tflite flatbuffer)"
        )
    try:
        return _parse(fc, name)
    except _PARSE_ERRORS as e:
        raise fc.corrupt(f"{type(e).__name__}: {e}") from None


# -------------------------------------------------------------------------------------------------
def _parse(fc: FlatCheck, name: str) -> Graph:
    buf = fc.buf
    root = struct.unpack_from("<I", buf, 0)[0]
    model = tflite.Model()
    model.Init(buf, root)
    fc.table(model, "model")
    version = model.Version()
    if version != SCHEMA_VERSION:
        raise TinyCompilerError(
            f"model schema version {version} is not supported; supported: {SCHEMA_VERSION}"
        )

    n_sub = fc.table_vector(model, _MODEL_SUBGRAPHS, "model.subgraphs")
    if n_sub != 1:
        raise TinyCompilerError(
            f"model has {n_sub} subgraphs; supported: exactly 1 (no control flow or signatures "
            f"with several subgraphs)"
        )
    sg = fc.element(model.Subgraphs(0), "subgraph 0")

    n_codes = fc.table_vector(model, _MODEL_OPCODES, "model.operator_codes")
    n_bufs = fc.table_vector(model, _MODEL_BUFFERS, "model.buffers")
    n_tensors = fc.table_vector(sg, _SG_TENSORS, "subgraph.tensors")
    n_ops = fc.table_vector(sg, _SG_OPERATORS, "subgraph.operators")

    for what, count in (("operator codes", n_codes), ("buffers", n_bufs), ("tensors", n_tensors),
                        ("operators", n_ops)):
        if count > MAX_ITEMS:
            raise TinyCompilerError(f"model has {count} {what}; supported: <= {MAX_ITEMS}")

    graph = Graph.empty(name)
    graph.description = fc.string(model, _MODEL_DESCRIPTION, "model.description", limit=256)

    buffers = _BufferCache(fc, model, n_bufs)
    parsed = {}  # table position -> Tensor: entries sharing a table are decoded once
    for i in range(n_tensors):
        tab = fc.element(sg.Tensors(i), f"tensor {i}")
        pos = tab._tab.Pos
        if pos in parsed:
            t = parsed[pos]
            q = None if t.quant is None else Quant(t.quant.scale.copy(), t.quant.zero_point.copy(), t.quant.axis)
            graph.tensors.append(Tensor(i, t.name, t.shape, t.dtype, q, t.data))
        else:
            parsed[pos] = _read_tensor(fc, tab, i, buffers)
            graph.tensors.append(parsed[pos])

    graph.inputs = _index_list(fc, sg, _SG_INPUTS, "subgraph inputs", n_tensors)
    graph.outputs = _index_list(fc, sg, _SG_OUTPUTS, "subgraph outputs", n_tensors)

    codes = [None] * n_codes  # decoded lazily: unused codes are never looked at
    for i in range(n_ops):
        graph.ops.append(_read_op(fc, model, sg, i, codes, n_tensors, graph))
    return graph


def _index_list(fc, obj, voff, what, n_tensors, allow_absent=False) -> list:
    out = []
    for v in fc.array(obj, voff, "<i4", what).tolist():
        if v == -1 and allow_absent:
            out.append(None)
        elif not 0 <= v < n_tensors:
            raise TinyCompilerError(
                f"{what}: tensor index {v} is out of range (the subgraph has {n_tensors} tensors)"
            )
        else:
            out.append(int(v))
    return out


class _BufferCache:
    """Constant data per buffer index; copies while the total stays proportional to the file."""

    def __init__(self, fc: FlatCheck, model, n_bufs: int):
        self.fc, self.model, self.n = fc, model, n_bufs
        self.budget = 2 * fc.n + (1 << 20)

    def raw(self, index: int, where: str):
        """(offset, size) of buffer ``index``'s bytes in the file, size 0 when it has none."""
        fc = self.fc
        if not 0 <= index < self.n:
            raise TinyCompilerError(
                f"{where}: buffer index {index} is out of range (the model has {self.n} buffers)"
            )
        b = fc.element(self.model.Buffers(index), f"buffer {index}")
        start, length = fc.vector(b, _BUF_DATA, 1, f"buffer {index} data")
        if length:
            return start, length
        offset, size = b.Offset(), b.Size()
        if offset > 1:  # data stored after the flatbuffer (models larger than 2 GiB)
            return fc.span(offset, size, f"buffer {index} external data")
        return 0, 0

    def array(self, start: int, nbytes: int, dtype: str, shape: tuple) -> np.ndarray:
        view = np.frombuffer(self.fc.buf, dtype=opcodes.NUMPY_DTYPES[dtype], count=nbytes // max(
            1, opcodes.NUMPY_DTYPES[dtype].itemsize), offset=start).reshape(shape)
        if nbytes <= self.budget:
            self.budget -= nbytes
            return view.astype(view.dtype.newbyteorder("="), copy=True)
        return view  # read-only view into the file bytes (shared buffers beyond the budget)


def _read_tensor(fc: FlatCheck, t, i: int, buffers: _BufferCache) -> Tensor:
    where = f"tensor {i}"
    name = fc.string(t, _T_NAME, f"{where} name", limit=256)
    where = f"tensor {i} ({name!r})" if name else where
    type_code = t.Type()
    dtype = opcodes.TENSOR_TYPE_NAMES.get(type_code)
    if dtype is None:
        tname = opcodes.TENSOR_TYPE_ENUM_NAMES.get(type_code, f"code {type_code}")
        raise TinyCompilerError(
            f"{where}: tensor type {tname} is not supported; supported: "
            f"{', '.join(opcodes.TENSOR_TYPES)}"
        )
    if fc.sub_table(t, _T_SPARSITY, f"{where} sparsity"):
        raise TinyCompilerError(f"{where}: sparse tensors are not supported; supported: dense")
    if t.IsVariable():
        raise TinyCompilerError(f"{where}: variable tensors are not supported (stateful models)")

    dims = fc.array(t, _T_SHAPE, "<i4", f"{where} shape").tolist()
    if len(dims) > MAX_RANK:
        raise TinyCompilerError(f"{where}: rank {len(dims)} is not supported; supported: <= {MAX_RANK}")
    for d in dims:
        if not 0 <= d <= MAX_DIM:
            raise TinyCompilerError(
                f"{where}: dimension {d} in shape {dims} is out of range; supported: 0..{MAX_DIM}"
            )
    shape = tuple(int(d) for d in dims)
    count = 1
    for d in shape:
        count *= d
    if count > MAX_ELEMENTS:
        raise TinyCompilerError(
            f"{where}: shape {list(shape)} has {count} elements; supported: <= {MAX_ELEMENTS}"
        )

    quant = _read_quant(fc, t, where, shape)

    start, size = buffers.raw(t.Buffer(), where)
    data = None
    if size:
        nbytes = count * opcodes.NUMPY_DTYPES[dtype].itemsize
        if size != nbytes:
            raise TinyCompilerError(
                f"{where}: buffer {t.Buffer()} holds {size} bytes but shape {list(shape)} of "
                f"{dtype} needs {nbytes}"
            )
        data = buffers.array(start, size, dtype, shape)
    return Tensor(i, name, shape, dtype, quant, data)


def _read_quant(fc: FlatCheck, t, where: str, shape: tuple):
    if not fc.sub_table(t, _T_QUANT, f"{where} quantization"):
        return None
    q = t.Quantization()
    if fc.sub_table(q, _Q_DETAILS, f"{where} quantization details") or q.DetailsType() != 0:
        raise TinyCompilerError(
            f"{where}: custom quantization details are not supported; supported: affine scale/zero point"
        )
    scale = fc.array(q, _Q_SCALE, "<f4", f"{where} quantization scale")
    zp = fc.array(q, _Q_ZERO_POINT, "<i8", f"{where} quantization zero_point")
    if scale.size == 0:
        if zp.size:
            raise TinyCompilerError(f"{where}: quantization has zero points but no scale")
        return None  # min/max only: not quantized as far as kernels are concerned
    if zp.size != scale.size:
        raise TinyCompilerError(
            f"{where}: quantization has {scale.size} scales but {zp.size} zero points; they must match"
        )
    axis = int(q.QuantizedDimension())
    rank = len(shape)
    if scale.size == 1:
        # per-tensor: the axis means nothing; person_detect's 1-D biases carry 3 here
        if not 0 <= axis < max(rank, 1):
            axis = 0
    else:
        if rank == 1 and axis != 0:
            axis = 0  # 1-D per-channel tensors (biases) have only axis 0; TFLM ignores the field
        if not 0 <= axis < rank:
            raise TinyCompilerError(
                f"{where}: quantized_dimension {axis} is out of range for shape {list(shape)}"
            )
        if shape[axis] != scale.size:
            raise TinyCompilerError(
                f"{where}: {scale.size} per-channel scales but dimension {axis} of shape "
                f"{list(shape)} is {shape[axis]}"
            )
    return Quant(scale, zp, axis)


def _opcode(fc: FlatCheck, model, codes: list, index: int, where: str) -> str:
    if not 0 <= index < len(codes):
        raise TinyCompilerError(
            f"{where}: opcode index {index} is out of range (the model has {len(codes)} operator codes)"
        )
    if codes[index] is None:
        oc = fc.element(model.OperatorCodes(index), f"operator code {index}")
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        name = opcodes.BUILTIN_NAMES.get(code)
        if name is None:
            raise TinyCompilerError(
                f"{where}: builtin operator code {code} is unknown to TFLite schema 2.18; "
                f"supported: {supported_list()}"
            )
        if name == "CUSTOM":
            custom = fc.string(oc, _OPCODE_CUSTOM, f"operator code {index} custom_code", limit=64)
            name = f"CUSTOM {custom!r}"
        codes[index] = name
    return codes[index]


def _read_op(fc: FlatCheck, model, sg, i: int, codes: list, n_tensors: int, graph: Graph) -> Op:
    o = fc.element(sg.Operators(i), f"op {i}")
    kind = _opcode(fc, model, codes, o.OpcodeIndex(), f"op {i}")
    if kind not in SUPPORTED_OPS:
        raise TinyCompilerError(f"op {i} ({kind}) is not supported; supported: {supported_list()}")
    where = f"op {i} ({kind})"
    inputs = _index_list(fc, o, _OP_INPUTS, f"{where} inputs", n_tensors, allow_absent=True)
    outputs = _index_list(fc, o, _OP_OUTPUTS, f"{where} outputs", n_tensors)
    attrs = _read_attrs(fc, o, kind, where, graph, inputs)
    return Op(i, kind, inputs, outputs, attrs)


def _options(fc: FlatCheck, o, kind: str, where: str):
    """The op's options as a binding object, or None when the file has none."""
    cls = _OPTION_CLASSES[kind]
    otype = o.BuiltinOptionsType()
    present = fc.sub_table(o, _OP_OPTIONS, f"{where} options")
    if otype == 0 or not present:
        if kind in _OPTIONS_REQUIRED:
            raise TinyCompilerError(f"{where}: builtin options are missing; {kind} needs {cls.__name__}")
        return None
    if cls is None:
        return None  # ops without options: ignore whatever table is attached
    expected = opcodes.BUILTIN_OPTIONS_CODES[cls.__name__]
    if otype != expected:
        got = opcodes.BUILTIN_OPTIONS_NAMES.get(otype, f"type {otype}")
        raise TinyCompilerError(f"{where}: builtin options are {got}; expected {cls.__name__}")
    tab = o.BuiltinOptions()
    opts = cls()
    opts.Init(tab.Bytes, tab.Pos)
    return opts


def _activation(code: int, where: str) -> str:
    name = opcodes.ACTIVATION_NAMES.get(code)
    if name not in ACTIVATIONS:
        raise TinyCompilerError(
            f"{where}: fused activation {name or code} is not supported; supported: "
            f"{', '.join(ACTIVATIONS)}"
        )
    return name


def _padding(code: int, where: str) -> str:
    name = opcodes.PADDING_NAMES.get(code)
    if name not in ("SAME", "VALID"):
        raise TinyCompilerError(f"{where}: padding code {code} is not supported; supported: SAME, VALID")
    return name


def _positive(value: int, field: str, where: str, cap: int = MAX_DIM) -> int:
    if not 1 <= value <= cap:
        raise TinyCompilerError(f"{where}: {field} is {value}; supported: 1..{cap}")
    return int(value)


def _read_attrs(fc: FlatCheck, o, kind: str, where: str, graph: Graph, inputs: list) -> dict:
    opts = _options(fc, o, kind, where)
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        attrs = {
            "padding": _padding(opts.Padding(), where),
            "stride_h": _positive(opts.StrideH(), "stride_h", where),
            "stride_w": _positive(opts.StrideW(), "stride_w", where),
            "dilation_h": _positive(opts.DilationHFactor(), "dilation_h", where),
            "dilation_w": _positive(opts.DilationWFactor(), "dilation_w", where),
        }
        if kind == "DEPTHWISE_CONV_2D":
            dm = opts.DepthMultiplier()
            if dm == 0:
                dm = _derived_depth_multiplier(graph, inputs)  # old converters wrote 0
            attrs["depth_multiplier"] = _positive(dm, "depth_multiplier", where)
        attrs["activation"] = _activation(opts.FusedActivationFunction(), where)
        return attrs
    if kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return {
            "padding": _padding(opts.Padding(), where),
            "stride_h": _positive(opts.StrideH(), "stride_h", where),
            "stride_w": _positive(opts.StrideW(), "stride_w", where),
            "filter_h": _positive(opts.FilterHeight(), "filter_h", where),
            "filter_w": _positive(opts.FilterWidth(), "filter_w", where),
            "activation": _activation(opts.FusedActivationFunction(), where),
        }
    if kind == "FULLY_CONNECTED":
        if opts is None:
            return {"activation": "NONE", "keep_num_dims": False}
        if opts.WeightsFormat() != 0:
            raise TinyCompilerError(
                f"{where}: weights_format {opts.WeightsFormat()} is not supported; supported: DEFAULT"
            )
        return {
            "activation": _activation(opts.FusedActivationFunction(), where),
            "keep_num_dims": bool(opts.KeepNumDims()),
        }
    if kind in ("ADD", "MUL"):
        return {"activation": "NONE" if opts is None else _activation(opts.FusedActivationFunction(), where)}
    if kind == "CONCATENATION":
        if opts is None:
            return {"axis": 0, "activation": "NONE"}
        return {"axis": int(opts.Axis()), "activation": _activation(opts.FusedActivationFunction(), where)}
    if kind == "SOFTMAX":
        beta = 1.0 if opts is None else float(opts.Beta())
        if not np.isfinite(beta) or beta <= 0:
            raise TinyCompilerError(f"{where}: softmax beta {beta} must be positive and finite")
        return {"beta": beta}
    if kind == "MEAN":
        return {"keep_dims": False if opts is None else bool(opts.KeepDims())}
    if kind == "SQUEEZE":
        dims = [] if opts is None else fc.array(opts, _SQUEEZE_DIMS, "<i4", f"{where} squeeze_dims").tolist()
        if len(dims) > MAX_RANK:
            raise TinyCompilerError(f"{where}: {len(dims)} squeeze_dims; supported: <= {MAX_RANK}")
        return {"squeeze_dims": [int(d) for d in dims]}
    if kind == "RESIZE_NEAREST_NEIGHBOR":
        if opts is None:
            return {"align_corners": False, "half_pixel_centers": False}
        return {"align_corners": bool(opts.AlignCorners()), "half_pixel_centers": bool(opts.HalfPixelCenters())}
    return {}


def _derived_depth_multiplier(graph: Graph, inputs: list) -> int:
    """depth_multiplier from the shapes (filter channels / input channels), 0 when unknowable."""
    try:
        x, w = graph.tensors[inputs[0]], graph.tensors[inputs[1]]
        if x.shape[-1] and w.shape[-1] % x.shape[-1] == 0:
            return w.shape[-1] // x.shape[-1]
    except (IndexError, TypeError):
        pass
    return 0
