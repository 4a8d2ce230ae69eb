"""Write an IR :class:`~tinycompiler.ir.Graph` as a TFLite flatbuffer that TFLM runs.

The file follows what the TFLite converter writes: schema version 3, file identifier ``TFL3``,
buffer 0 the empty sentinel, one buffer per constant tensor (its data 16-byte aligned in the file,
as TFLM expects), deduplicated operator codes with both ``builtin_code`` and
``deprecated_builtin_code`` set, builtin options for every op, per-channel quantization, tensor
names, one subgraph and no signature. Tensor ``i`` of the graph is tensor ``i`` of the file.

The graph is validated first, cheaply: anything that would make an invalid file (unknown op kind,
missing or ill-typed attribute, dangling tensor index, constant data of the wrong size) raises
:class:`~tinycompiler.errors.TinyCompilerError` naming the op or tensor and the field.
"""

from __future__ import annotations

from numbers import Integral, Real
from pathlib import Path

import flatbuffers
import numpy as np
import tflite

from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.tflite.opcodes import (
    ACTIVATION_CODES,
    BUILTIN_OPTIONS_CODES,
    NUMPY_DTYPES,
    OP_OPTIONS,
    PADDING_CODES,
    TENSOR_TYPES,
    builtin_code,
    deprecated_code,
    op_version,
)
from tinycompiler.ir.ops import ACTIVATIONS, SUPPORTED_OPS

#: schema version every current TFLite file carries
SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
#: alignment of constant buffers in the file (TFLM reads weights in place)
BUFFER_ALIGNMENT = 16

# attribute kinds for validation
_INT, _BOOL, _FLOAT, _PADDING, _ACT, _INTLIST = "int", "bool", "float", "padding", "act", "intlist"

_WINDOW = {"padding": _PADDING, "stride_h": _INT, "stride_w": _INT}

#: attrs each op must carry (ops.py's contract) and their kinds
OP_ATTRS: dict = {
    "CONV_2D": {**_WINDOW, "dilation_h": _INT, "dilation_w": _INT, "activation": _ACT},
    "DEPTHWISE_CONV_2D": {
        **_WINDOW,
        "dilation_h": _INT,
        "dilation_w": _INT,
        "depth_multiplier": _INT,
        "activation": _ACT,
    },
    "FULLY_CONNECTED": {"activation": _ACT, "keep_num_dims": _BOOL},
    "ADD": {"activation": _ACT},
    "MUL": {"activation": _ACT},
    "AVERAGE_POOL_2D": {**_WINDOW, "filter_h": _INT, "filter_w": _INT, "activation": _ACT},
    "MAX_POOL_2D": {**_WINDOW, "filter_h": _INT, "filter_w": _INT, "activation": _ACT},
    "MEAN": {"keep_dims": _BOOL},
    "SQUEEZE": {"squeeze_dims": _INTLIST},
    "SOFTMAX": {"beta": _FLOAT},
    "CONCATENATION": {"axis": _INT, "activation": _ACT},
    "RESIZE_NEAREST_NEIGHBOR": {"align_corners": _BOOL, "half_pixel_centers": _BOOL},
}

#: (min, max) number of inputs of each op; outputs are always exactly one
OP_ARITY: dict = {
    "CONV_2D": (2, 3),
    "DEPTHWISE_CONV_2D": (2, 3),
    "FULLY_CONNECTED": (2, 3),
    "ADD": (2, 2),
    "MUL": (2, 2),
    "AVERAGE_POOL_2D": (1, 1),
    "MAX_POOL_2D": (1, 1),
    "MEAN": (2, 2),
    "PAD": (2, 2),
    "RESHAPE": (1, 2),
    "SQUEEZE": (1, 1),
    "SOFTMAX": (1, 1),
    "LOG_SOFTMAX": (1, 1),
    "LOGISTIC": (1, 1),
    "TANH": (1, 1),
    "HARD_SWISH": (1, 1),
    "RELU": (1, 1),
    "RELU6": (1, 1),
    "CONCATENATION": (1, None),
    "TRANSPOSE": (2, 2),
    "RESIZE_NEAREST_NEIGHBOR": (2, 2),
    "QUANTIZE": (1, 1),
    "DEQUANTIZE": (1, 1),
}

#: inputs that may be absent (None): (op kind, input position)
_OPTIONAL_INPUTS = {("CONV_2D", 2), ("DEPTHWISE_CONV_2D", 2), ("FULLY_CONNECTED", 2)}


# --------------------------------------------------------------------------------------------
# validation


def _is_int(v) -> bool:
    return isinstance(v, Integral) and not isinstance(v, (bool, np.bool_))


def _check_attr(where, key, kind, value):
    bad = None
    if kind == _INT:
        if not _is_int(value) or not -(2**31) <= int(value) < 2**31:
            bad = "an int32"
    elif kind == _BOOL:
        if not isinstance(value, (bool, np.bool_)):
            bad = "a bool"
    elif kind == _FLOAT:
        if not isinstance(value, Real) or isinstance(value, (bool, np.bool_)):
            bad = "a float"
    elif kind == _PADDING:
        if value not in PADDING_CODES:
            bad = "'SAME' or 'VALID'"
    elif kind == _ACT:
        if value not in ACTIVATIONS:
            bad = "one of " + ", ".join(ACTIVATIONS)
    elif kind == _INTLIST:
        if not isinstance(value, (list, tuple, np.ndarray)) or not all(_is_int(v) for v in value):
            bad = "a list of ints"
    if bad:
        raise TinyCompilerError(f"{where}: attribute {key!r} is {value!r}, expected {bad}")


def _check_tensor(graph, t, pos):
    where = f"tensor {pos} ({getattr(t, 'name', '?')!r})"
    if t.index != pos:
        raise TinyCompilerError(
            f"{where}: its index field is {t.index}, expected {pos} (tensor i must be graph.tensors[i])"
        )
    if t.dtype not in TENSOR_TYPES:
        raise TinyCompilerError(
            f"{where}: dtype {t.dtype!r} cannot be written; use one of {', '.join(TENSOR_TYPES)}"
        )
    if not all(_is_int(d) and 0 <= int(d) < 2**31 for d in t.shape):
        raise TinyCompilerError(
            f"{where}: shape {t.shape!r} is not a tuple of non-negative int32 dimensions"
        )
    if t.data is not None:
        data = np.asarray(t.data)
        if data.size != t.size:
            raise TinyCompilerError(
                f"{where}: constant data has {data.size} elements but shape {t.shape} needs {t.size}"
            )
    q = t.quant
    if q is not None:
        if q.scale.size == 0 or q.scale.size != q.zero_point.size:
            raise TinyCompilerError(
                f"{where}: quantization has {q.scale.size} scales and {q.zero_point.size} zero points; "
                f"they must be the same non-zero number"
            )
        if not _is_int(q.axis) or int(q.axis) < 0:
            raise TinyCompilerError(f"{where}: quantization axis {q.axis!r} must be an int >= 0")
        if q.scale.size > 1 and (q.axis >= len(t.shape) or t.shape[q.axis] != q.scale.size):
            raise TinyCompilerError(
                f"{where}: {q.scale.size} per-channel scales along axis {q.axis} do not match "
                f"shape {t.shape}"
            )


def validate_for_tflite(graph) -> None:
    """Raise TinyCompilerError if ``graph`` cannot be written as a valid TFLite file."""
    n = len(graph.tensors)
    for pos, t in enumerate(graph.tensors):
        _check_tensor(graph, t, pos)

    def check_index(i, what):
        if not _is_int(i) or not 0 <= int(i) < n:
            raise TinyCompilerError(f"{what} is tensor {i!r}, but the graph has {n} tensors")

    for k, i in enumerate(graph.inputs):
        check_index(i, f"graph input {k}")
    for k, i in enumerate(graph.outputs):
        check_index(i, f"graph output {k}")

    for pos, op in enumerate(graph.ops):
        where = f"op {pos} ({op.kind})"
        if op.kind not in SUPPORTED_OPS:
            raise TinyCompilerError(
                f"{where}: op kind {op.kind!r} cannot be written; supported: {', '.join(SUPPORTED_OPS)}"
            )
        lo, hi = OP_ARITY[op.kind]
        if not lo <= len(op.inputs) <= (hi if hi is not None else len(op.inputs)):
            want = f"{lo}" if lo == hi else f"{lo} to {hi if hi is not None else 'any'}"
            raise TinyCompilerError(f"{where}: has {len(op.inputs)} inputs, expected {want}")
        for k, i in enumerate(op.inputs):
            if i is None:
                if (op.kind, k) not in _OPTIONAL_INPUTS:
                    raise TinyCompilerError(f"{where}: input {k} is absent (None) but required")
                continue
            check_index(i, f"{where}: input {k}")
        if len(op.outputs) != 1:
            raise TinyCompilerError(f"{where}: has {len(op.outputs)} outputs, expected 1")
        for k, i in enumerate(op.outputs):
            check_index(i, f"{where}: output {k}")
        for key, kind in OP_ATTRS.get(op.kind, {}).items():
            if key not in op.attrs:
                raise TinyCompilerError(f"{where}: attribute {key!r} is missing")
            _check_attr(where, key, kind, op.attrs[key])


# --------------------------------------------------------------------------------------------
# builtin options, one writer per option table


def _act(op) -> int:
    return ACTIVATION_CODES[op.attrs["activation"]]


def _conv_options(b, op):
    a = op.attrs
    tflite.Conv2DOptionsStart(b)
    tflite.Conv2DOptionsAddPadding(b, PADDING_CODES[a["padding"]])
    tflite.Conv2DOptionsAddStrideW(b, int(a["stride_w"]))
    tflite.Conv2DOptionsAddStrideH(b, int(a["stride_h"]))
    tflite.Conv2DOptionsAddDilationWFactor(b, int(a["dilation_w"]))
    tflite.Conv2DOptionsAddDilationHFactor(b, int(a["dilation_h"]))
    tflite.Conv2DOptionsAddFusedActivationFunction(b, _act(op))
    return tflite.Conv2DOptionsEnd(b)


def _depthwise_options(b, op):
    a = op.attrs
    tflite.DepthwiseConv2DOptionsStart(b)
    tflite.DepthwiseConv2DOptionsAddPadding(b, PADDING_CODES[a["padding"]])
    tflite.DepthwiseConv2DOptionsAddStrideW(b, int(a["stride_w"]))
    tflite.DepthwiseConv2DOptionsAddStrideH(b, int(a["stride_h"]))
    tflite.DepthwiseConv2DOptionsAddDepthMultiplier(b, int(a["depth_multiplier"]))
    tflite.DepthwiseConv2DOptionsAddDilationWFactor(b, int(a["dilation_w"]))
    tflite.DepthwiseConv2DOptionsAddDilationHFactor(b, int(a["dilation_h"]))
    tflite.DepthwiseConv2DOptionsAddFusedActivationFunction(b, _act(op))
    return tflite.DepthwiseConv2DOptionsEnd(b)


def _fc_options(b, op):
    tflite.FullyConnectedOptionsStart(b)
    tflite.FullyConnectedOptionsAddFusedActivationFunction(b, _act(op))
    tflite.FullyConnectedOptionsAddKeepNumDims(b, bool(op.attrs["keep_num_dims"]))
    return tflite.FullyConnectedOptionsEnd(b)


def _add_options(b, op):
    tflite.AddOptionsStart(b)
    tflite.AddOptionsAddFusedActivationFunction(b, _act(op))
    return tflite.AddOptionsEnd(b)


def _mul_options(b, op):
    tflite.MulOptionsStart(b)
    tflite.MulOptionsAddFusedActivationFunction(b, _act(op))
    return tflite.MulOptionsEnd(b)


def _pool_options(b, op):
    a = op.attrs
    tflite.Pool2DOptionsStart(b)
    tflite.Pool2DOptionsAddPadding(b, PADDING_CODES[a["padding"]])
    tflite.Pool2DOptionsAddStrideW(b, int(a["stride_w"]))
    tflite.Pool2DOptionsAddStrideH(b, int(a["stride_h"]))
    tflite.Pool2DOptionsAddFilterWidth(b, int(a["filter_w"]))
    tflite.Pool2DOptionsAddFilterHeight(b, int(a["filter_h"]))
    tflite.Pool2DOptionsAddFusedActivationFunction(b, _act(op))
    return tflite.Pool2DOptionsEnd(b)


def _reducer_options(b, op):
    tflite.ReducerOptionsStart(b)
    tflite.ReducerOptionsAddKeepDims(b, bool(op.attrs["keep_dims"]))
    return tflite.ReducerOptionsEnd(b)


def _int32_vector(b, values):
    return b.CreateNumpyVector(np.asarray([int(v) for v in values], dtype="<i4"))


def _reshape_options(b, op, graph):
    new_shape = _int32_vector(b, graph.tensors[op.outputs[0]].shape)
    tflite.ReshapeOptionsStart(b)
    tflite.ReshapeOptionsAddNewShape(b, new_shape)
    return tflite.ReshapeOptionsEnd(b)


def _squeeze_options(b, op):
    dims = _int32_vector(b, op.attrs["squeeze_dims"])
    tflite.SqueezeOptionsStart(b)
    tflite.SqueezeOptionsAddSqueezeDims(b, dims)
    return tflite.SqueezeOptionsEnd(b)


def _softmax_options(b, op):
    tflite.SoftmaxOptionsStart(b)
    tflite.SoftmaxOptionsAddBeta(b, float(op.attrs["beta"]))
    return tflite.SoftmaxOptionsEnd(b)


def _concat_options(b, op):
    tflite.ConcatenationOptionsStart(b)
    tflite.ConcatenationOptionsAddAxis(b, int(op.attrs["axis"]))
    tflite.ConcatenationOptionsAddFusedActivationFunction(b, _act(op))
    return tflite.ConcatenationOptionsEnd(b)


def _resize_nn_options(b, op):
    tflite.ResizeNearestNeighborOptionsStart(b)
    tflite.ResizeNearestNeighborOptionsAddAlignCorners(b, bool(op.attrs["align_corners"]))
    tflite.ResizeNearestNeighborOptionsAddHalfPixelCenters(b, bool(op.attrs["half_pixel_centers"]))
    return tflite.ResizeNearestNeighborOptionsEnd(b)


def _empty_options(start, end):
    def write(b, op):
        start(b)
        return end(b)

    return write


_OPTION_WRITERS = {
    "Conv2DOptions": _conv_options,
    "DepthwiseConv2DOptions": _depthwise_options,
    "FullyConnectedOptions": _fc_options,
    "AddOptions": _add_options,
    "MulOptions": _mul_options,
    "Pool2DOptions": _pool_options,
    "ReducerOptions": _reducer_options,
    "SqueezeOptions": _squeeze_options,
    "SoftmaxOptions": _softmax_options,
    "ConcatenationOptions": _concat_options,
    "ResizeNearestNeighborOptions": _resize_nn_options,
    "PadOptions": _empty_options(tflite.PadOptionsStart, tflite.PadOptionsEnd),
    "LogSoftmaxOptions": _empty_options(tflite.LogSoftmaxOptionsStart, tflite.LogSoftmaxOptionsEnd),
    "HardSwishOptions": _empty_options(tflite.HardSwishOptionsStart, tflite.HardSwishOptionsEnd),
    "TransposeOptions": _empty_options(tflite.TransposeOptionsStart, tflite.TransposeOptionsEnd),
    "QuantizeOptions": _empty_options(tflite.QuantizeOptionsStart, tflite.QuantizeOptionsEnd),
    "DequantizeOptions": _empty_options(tflite.DequantizeOptionsStart, tflite.DequantizeOptionsEnd),
}


def _write_options(b, op, graph):
    """(BuiltinOptions type code, table offset or None) of an op."""
    name = OP_OPTIONS[op.kind]
    if name is None:
        return BUILTIN_OPTIONS_CODES["NONE"], None
    if name == "ReshapeOptions":
        return BUILTIN_OPTIONS_CODES[name], _reshape_options(b, op, graph)
    return BUILTIN_OPTIONS_CODES[name], _OPTION_WRITERS[name](b, op)


# --------------------------------------------------------------------------------------------
# the model


def _const_bytes(t) -> bytes:
    """A constant's data as little-endian bytes of its declared dtype (values must fit)."""
    data = np.asarray(t.data)
    target = NUMPY_DTYPES[t.dtype]
    if data.dtype != target:
        cast = data.astype(target)
        if not np.array_equal(cast, data):
            raise TinyCompilerError(
                f"tensor {t.index} ({t.name!r}): constant data of dtype {data.dtype} does not fit "
                f"its declared dtype {t.dtype}"
            )
        data = cast
    return np.ascontiguousarray(data).tobytes(order="C")


def _aligned_bytes_vector(b, payload: bytes):
    """A ubyte vector whose first element is BUFFER_ALIGNMENT-aligned in the final file."""
    b.StartVector(1, len(payload), BUFFER_ALIGNMENT)
    b.head = b.head - len(payload)
    b.Bytes[b.head : b.head + len(payload)] = payload
    return b.EndVector()


def _offset_vector(b, offsets):
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _quantization(b, q):
    scale = b.CreateNumpyVector(np.asarray(q.scale, dtype="<f4"))
    zero_point = b.CreateNumpyVector(np.asarray(q.zero_point, dtype="<i8"))
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale)
    tflite.QuantizationParametersAddZeroPoint(b, zero_point)
    tflite.QuantizationParametersAddQuantizedDimension(b, int(q.axis))
    return tflite.QuantizationParametersEnd(b)


def _file_inputs(op) -> list:
    """Inputs as stored in the file. TFLM's DEPTHWISE_CONV_2D crashes on an explicit absent (-1)
    bias, so an absent trailing bias is left out there; it reads a missing slot as no bias."""
    inputs = list(op.inputs)
    if op.kind == "DEPTHWISE_CONV_2D":
        while len(inputs) > 2 and inputs[-1] is None:
            inputs.pop()
    return inputs


def write_tflite(graph) -> bytes:
    """Serialize ``graph`` as a ``.tflite`` flatbuffer (bytes) that TFLM loads and runs."""
    validate_for_tflite(graph)

    payloads = {t.index: _const_bytes(t) for t in graph.tensors if t.data is not None}
    total = sum(len(p) + BUFFER_ALIGNMENT + 8 for p in payloads.values())
    b = flatbuffers.Builder(total + 256 * (len(graph.tensors) + len(graph.ops)) + 4096)

    # Buffers first: flatbuffers builds back to front, so the bulk data lands at the end of the file.
    buffer_of = {}
    buffer_offsets = []
    tflite.BufferStart(b)
    buffer_offsets.append(tflite.BufferEnd(b))  # buffer 0: the empty sentinel
    for t in graph.tensors:
        if t.data is None:
            continue
        data = _aligned_bytes_vector(b, payloads[t.index])
        tflite.BufferStart(b)
        tflite.BufferAddData(b, data)
        buffer_of[t.index] = len(buffer_offsets)
        buffer_offsets.append(tflite.BufferEnd(b))
    buffers = _offset_vector(b, buffer_offsets)

    # tensors
    tensor_offsets = []
    for t in graph.tensors:
        name = b.CreateString(str(t.name))
        shape = _int32_vector(b, t.shape)
        quant = _quantization(b, t.quant) if t.quant is not None else None
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, TENSOR_TYPES[t.dtype])
        tflite.TensorAddBuffer(b, buffer_of.get(t.index, 0))
        tflite.TensorAddName(b, name)
        if quant is not None:
            tflite.TensorAddQuantization(b, quant)
        tensor_offsets.append(tflite.TensorEnd(b))
    tensors = _offset_vector(b, tensor_offsets)

    # operator codes, deduplicated by (kind, version), in order of first use
    opcode_index = {}
    for op in graph.ops:
        first = op.input(graph, 0)
        key = (op.kind, op_version(op.kind, first.dtype if first is not None else "int8"))
        opcode_index.setdefault(key, len(opcode_index))
    opcode_offsets = []
    for kind, version in opcode_index:
        code = builtin_code(kind)
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, deprecated_code(code))
        tflite.OperatorCodeAddBuiltinCode(b, code)
        tflite.OperatorCodeAddVersion(b, version)
        opcode_offsets.append(tflite.OperatorCodeEnd(b))
    operator_codes = _offset_vector(b, opcode_offsets)

    # operators
    op_offsets = []
    for op in graph.ops:
        first = op.input(graph, 0)
        key = (op.kind, op_version(op.kind, first.dtype if first is not None else "int8"))
        inputs = _int32_vector(b, [-1 if i is None else i for i in _file_inputs(op)])
        outputs = _int32_vector(b, op.outputs)
        options_type, options = _write_options(b, op, graph)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, opcode_index[key])
        tflite.OperatorAddInputs(b, inputs)
        tflite.OperatorAddOutputs(b, outputs)
        if options is not None:
            tflite.OperatorAddBuiltinOptionsType(b, options_type)
            tflite.OperatorAddBuiltinOptions(b, options)
        op_offsets.append(tflite.OperatorEnd(b))
    operators = _offset_vector(b, op_offsets)

    # the one subgraph
    sg_inputs = _int32_vector(b, graph.inputs)
    sg_outputs = _int32_vector(b, graph.outputs)
    sg_name = b.CreateString(str(graph.name))
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors)
    tflite.SubGraphAddInputs(b, sg_inputs)
    tflite.SubGraphAddOutputs(b, sg_outputs)
    tflite.SubGraphAddOperators(b, operators)
    tflite.SubGraphAddName(b, sg_name)
    subgraph = tflite.SubGraphEnd(b)
    subgraphs = _offset_vector(b, [subgraph])

    description = b.CreateString(str(graph.description)) if graph.description else None
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, SCHEMA_VERSION)
    tflite.ModelAddOperatorCodes(b, operator_codes)
    tflite.ModelAddSubgraphs(b, subgraphs)
    if description is not None:
        tflite.ModelAddDescription(b, description)
    tflite.ModelAddBuffers(b, buffers)
    model = tflite.ModelEnd(b)
    b.Finish(model, file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


def save_tflite(graph, path) -> Path:
    """Write ``graph`` to ``path`` as a ``.tflite`` file and return the path."""
    from tinycompiler.output_files import write_file

    return write_file(path, write_tflite(graph))
