"""Name <-> enum tables of the TFLite schema, shared by the reader and the writer.

Everything here is derived from the ``tflite`` package's generated enums (schema 2.18), so the
tables cannot drift from the schema. The IR speaks names (``"CONV_2D"``, ``"RELU6"``, ``"SAME"``,
``"int8"``); the flatbuffer speaks integers.
"""

from __future__ import annotations

import numpy as np
import tflite

from tinycompiler.errors import TinyCompilerError


def _enum(cls) -> dict:
    return {k: v for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


#: BuiltinOperator name -> code (every builtin of the schema, not only the supported ones)
BUILTIN_CODES: dict = _enum(tflite.BuiltinOperator)
#: BuiltinOperator code -> name
BUILTIN_NAMES: dict = {v: k for k, v in BUILTIN_CODES.items()}

#: codes at or above this do not fit the int8 ``deprecated_builtin_code`` field
PLACEHOLDER_FOR_GREATER_OP_CODES = 127

#: fused activation name (IR) -> ActivationFunctionType code
ACTIVATION_CODES: dict = _enum(tflite.ActivationFunctionType)
#: ActivationFunctionType code -> name
ACTIVATION_NAMES: dict = {v: k for k, v in ACTIVATION_CODES.items()}

#: padding name (IR) -> Padding code
PADDING_CODES: dict = _enum(tflite.Padding)
#: Padding code -> name
PADDING_NAMES: dict = {v: k for k, v in PADDING_CODES.items()}

#: IR dtype -> TensorType code (the dtypes the IR can hold)
TENSOR_TYPES: dict = {
    "float32": tflite.TensorType.FLOAT32,
    "int32": tflite.TensorType.INT32,
    "uint8": tflite.TensorType.UINT8,
    "int64": tflite.TensorType.INT64,
    "bool": tflite.TensorType.BOOL,
    "int16": tflite.TensorType.INT16,
    "int8": tflite.TensorType.INT8,
}
#: TensorType code -> IR dtype
TENSOR_TYPE_NAMES: dict = {v: k for k, v in TENSOR_TYPES.items()}
#: every TensorType name, for error messages about types the IR cannot hold
TENSOR_TYPE_ENUM_NAMES: dict = {v: k for k, v in _enum(tflite.TensorType).items()}

#: IR dtype -> little-endian numpy dtype of the buffer bytes
NUMPY_DTYPES: dict = {
    "float32": np.dtype("<f4"),
    "int32": np.dtype("<i4"),
    "uint8": np.dtype("u1"),
    "int64": np.dtype("<i8"),
    "bool": np.dtype("bool"),
    "int16": np.dtype("<i2"),
    "int8": np.dtype("i1"),
}

#: BuiltinOptions union member name -> type code
BUILTIN_OPTIONS_CODES: dict = _enum(tflite.BuiltinOptions)
#: BuiltinOptions type code -> union member name
BUILTIN_OPTIONS_NAMES: dict = {v: k for k, v in BUILTIN_OPTIONS_CODES.items()}

#: supported op -> the BuiltinOptions table the converter writes for it (None: no options)
OP_OPTIONS: dict = {
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "ADD": "AddOptions",
    "MUL": "MulOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "MEAN": "ReducerOptions",
    "PAD": "PadOptions",
    "RESHAPE": "ReshapeOptions",
    "SQUEEZE": "SqueezeOptions",
    "SOFTMAX": "SoftmaxOptions",
    "LOG_SOFTMAX": "LogSoftmaxOptions",
    "LOGISTIC": None,
    "TANH": None,
    "HARD_SWISH": "HardSwishOptions",
    "RELU": None,
    "RELU6": None,
    "CONCATENATION": "ConcatenationOptions",
    "TRANSPOSE": "TransposeOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions",
    "QUANTIZE": "QuantizeOptions",
    "DEQUANTIZE": "DequantizeOptions",
}

#: the operator-code ``version`` the TFLite converter records for int8 kernels of each op
#: (TFLite's op_version.cc; TFLM ignores versions, LiteRT checks them against its registry)
OP_VERSIONS_INT8: dict = {
    "CONV_2D": 3,
    "DEPTHWISE_CONV_2D": 3,
    "FULLY_CONNECTED": 4,
    "ADD": 2,
    "MUL": 2,
    "AVERAGE_POOL_2D": 2,
    "MAX_POOL_2D": 2,
    "MEAN": 2,
    "PAD": 2,
    "RESHAPE": 1,
    "SQUEEZE": 1,
    "SOFTMAX": 2,
    "LOG_SOFTMAX": 2,
    "LOGISTIC": 2,
    "TANH": 2,
    "HARD_SWISH": 1,
    "RELU": 2,
    "RELU6": 2,
    "CONCATENATION": 2,
    "TRANSPOSE": 2,
    "RESIZE_NEAREST_NEIGHBOR": 2,
    "QUANTIZE": 1,
    "DEQUANTIZE": 2,
}


def builtin_code(name: str) -> int:
    """The BuiltinOperator code of an op name; TinyCompilerError for an unknown name."""
    try:
        return BUILTIN_CODES[name]
    except KeyError:
        raise TinyCompilerError(f"{name!r} is not a TFLite builtin operator") from None


def builtin_name(code: int) -> str:
    """The op name of a BuiltinOperator code; TinyCompilerError for an unknown code."""
    try:
        return BUILTIN_NAMES[int(code)]
    except KeyError:
        raise TinyCompilerError(
            f"builtin operator code {code} is unknown to TFLite schema 2.18 (a custom op or a newer "
            f"schema)"
        ) from None


def opcode_name(opcode) -> str:
    """The op name of a parsed ``tflite.OperatorCode``: ``max(builtin_code, deprecated_builtin_code)``.

    Old files only set the int8 ``deprecated_builtin_code``; new files set both (the deprecated one
    clamped to 127), so the larger of the two is the real code.
    """
    return builtin_name(max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode()))


def deprecated_code(code: int) -> int:
    """The value for ``deprecated_builtin_code``: the code itself, or 127 when it does not fit."""
    return min(int(code), PLACEHOLDER_FOR_GREATER_OP_CODES)


def op_version(kind: str, dtype: str = "int8") -> int:
    """A sensible operator-code version for an op whose main input has ``dtype``."""
    if dtype == "float32" and kind != "DEQUANTIZE":
        return 1
    return OP_VERSIONS_INT8.get(kind, 1)
