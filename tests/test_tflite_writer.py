"""The TFLite writer: hand-built IR graphs for every supported op run in TFLM, the file layout
matches what TFLM and the converter expect, invalid graphs are refused, and every bundled model
survives read -> write -> read unchanged and gives byte-identical TFLM outputs."""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest
import tflite
from tflite_micro.python.tflite_micro import runtime

from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.tflite import opcodes
from tinycompiler.frontends.tflite.writer import save_tflite, write_tflite
from tinycompiler.ir import SUPPORTED_OPS, Graph, Quant

from conftest import MODEL_FILES

MODELS = [str(p) for p in MODEL_FILES]

ARENA = 1 << 20


def q(scale, zp, axis=0):
    return Quant(np.atleast_1d(np.asarray(scale, np.float32)), np.atleast_1d(np.asarray(zp)), axis)


def run_tflm(model: bytes, inputs, n_outputs=1, arena=ARENA):
    """Run a model once in TFLM; returns the list of its ``n_outputs`` outputs."""
    it = runtime.Interpreter.from_bytes(model, arena_size=arena)
    for i, x in enumerate(inputs):
        it.set_input(x, i)
    it.invoke()
    return [np.array(it.get_output(i)) for i in range(n_outputs)]


def rand_int8(rng, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


# ---------------------------------------------------------------------------------------------
# one small graph per supported op: (graph, inputs, expected outputs or None)

QA = (0.05, -2)  # a plausible activation quantization


def _conv(rng):
    g = Graph.empty("conv")
    x = g.add_tensor("x", (1, 5, 5, 3), "int8", q(*QA))
    ws = np.array([0.01, 0.02, 0.015, 0.03], np.float32)
    w = g.add_tensor("w", (4, 3, 3, 3), "int8", q(ws, [0] * 4, 0), rand_int8(rng, (4, 3, 3, 3)))
    b = g.add_tensor(
        "b", (4,), "int32", q(ws * QA[0], [0] * 4, 0), rng.integers(-500, 500, 4).astype(np.int32)
    )
    y = g.add_tensor("y", (1, 3, 3, 4), "int8", q(0.1, 3))
    g.add_op("CONV_2D", [x.index, w.index, b.index], [y.index], padding="SAME", stride_h=2,
             stride_w=2, dilation_h=1, dilation_w=1, activation="RELU")
    g.inputs, g.outputs = [x.index], [y.index]
    return g, [rand_int8(rng, x.shape)], None


def _depthwise(rng):
    g = Graph.empty("dw")
    x = g.add_tensor("x", (1, 6, 6, 4), "int8", q(*QA))
    ws = np.linspace(0.01, 0.03, 8).astype(np.float32)
    w = g.add_tensor("w", (1, 3, 3, 8), "int8", q(ws, [0] * 8, 3), rand_int8(rng, (1, 3, 3, 8)))
    b = g.add_tensor(
        "b", (8,), "int32", q(ws * QA[0], [0] * 8, 0), rng.integers(-500, 500, 8).astype(np.int32)
    )
    y = g.add_tensor("y", (1, 6, 6, 8), "int8", q(0.08, -1))
    g.add_op("DEPTHWISE_CONV_2D", [x.index, w.index, b.index], [y.index], padding="SAME",
             stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, depth_multiplier=2,
             activation="RELU6")
    g.inputs, g.outputs = [x.index], [y.index]
    return g, [rand_int8(rng, x.shape)], None


def _fully_connected(rng):
    g = Graph.empty("fc")
    x = g.add_tensor("x", (1, 16), "int8", q(*QA))
    w = g.add_tensor("w", (5, 16), "int8", q(0.02, 0), rand_int8(rng, (5, 16)))
    y = g.add_tensor("y", (1, 5), "int8", q(0.2, 1))
    # no bias: the optional input is absent (written as -1)
    g.add_op("FULLY_CONNECTED", [x.index, w.index, None], [y.index], activation="NONE",
             keep_num_dims=False)
    g.inputs, g.outputs = [x.index], [y.index]
    return g, [rand_int8(rng, x.shape)], None


def _binary(kind):
    def build(rng):
        g = Graph.empty(kind.lower())
        a = g.add_tensor("a", (1, 4, 4, 3), "int8", q(0.05, -2))
        b = g.add_tensor("b", (1, 4, 4, 3), "int8", q(0.03, 5))
        y = g.add_tensor("y", (1, 4, 4, 3), "int8", q(0.1, 0))
        g.add_op(kind, [a.index, b.index], [y.index], activation="NONE")
        g.inputs, g.outputs = [a.index, b.index], [y.index]
        return g, [rand_int8(rng, a.shape), rand_int8(rng, b.shape)], None

    return build


def _pool(kind):
    def build(rng):
        g = Graph.empty(kind.lower())
        x = g.add_tensor("x", (1, 6, 6, 3), "int8", q(*QA))
        y = g.add_tensor("y", (1, 3, 3, 3), "int8", q(*QA))
        g.add_op(kind, [x.index], [y.index], padding="VALID", stride_h=2, stride_w=2,
                 filter_h=2, filter_w=2, activation="NONE")
        g.inputs, g.outputs = [x.index], [y.index]
        xv = rand_int8(rng, x.shape)
        expected = None
        if kind == "MAX_POOL_2D":
            expected = xv.reshape(1, 3, 2, 3, 2, 3).max(axis=(2, 4))
        return g, [xv], expected

    return build


def _mean(rng):
    g = Graph.empty("mean")
    x = g.add_tensor("x", (1, 4, 4, 8), "int8", q(*QA))
    axes = g.add_tensor("axes", (2,), "int32", None, np.array([1, 2], np.int32))
    y = g.add_tensor("y", (1, 1, 1, 8), "int8", q(0.04, 1))
    g.add_op("MEAN", [x.index, axes.index], [y.index], keep_dims=True)
    g.inputs, g.outputs = [x.index], [y.index]
    return g, [rand_int8(rng, x.shape)], None


def _pad(rng):
    g = Graph.empty("pad")
    x = g.add_tensor("x", (1, 3, 3, 2), "int8", q(*QA))
    pads = np.array([[0, 0], [1, 1], [2, 0], [0, 0]], np.int32)
    p = g.add_tensor("paddings", (4, 2), "int32", None, pads)
    y = g.add_tensor("y", (1, 5, 5, 2), "int8", q(*QA))
    g.add_op("PAD", [x.index, p.index], [y.index])
    g.inputs, g.outputs = [x.index], [y.index]
    xv = rand_int8(rng, x.shape)
    return g, [xv], np.pad(xv, pads, constant_values=QA[1])


def _reshape(rng):
    g = Graph.empty("reshape")
    x = g.add_tensor("x", (1, 2, 3, 4), "int8", q(*QA))
    s = g.add_tensor("shape", (2,), "int32", None, np.array([1, 24], np.int32))
    y = g.add_tensor("y", (1, 24), "int8", q(*QA))
    g.add_op("RESHAPE", [x.index, s.index], [y.index])
    g.inputs, g.outputs = [x.index], [y.index]
    xv = rand_int8(rng, x.shape)
    return g, [xv], xv.reshape(1, 24)


def _squeeze(rng):
    g = Graph.empty("squeeze")
    x = g.add_tensor("x", (1, 1, 1, 8), "int8", q(*QA))
    y = g.add_tensor("y", (1, 8), "int8", q(*QA))
    g.add_op("SQUEEZE", [x.index], [y.index], squeeze_dims=[1, 2])
    g.inputs, g.outputs = [x.index], [y.index]
    xv = rand_int8(rng, x.shape)
    return g, [xv], xv.reshape(1, 8)


def _softmax(rng):
    g = Graph.empty("softmax")
    x = g.add_tensor("x", (1, 10), "int8", q(0.1, 0))
    y = g.add_tensor("y", (1, 10), "int8", q(1 / 256, -128))
    g.add_op("SOFTMAX", [x.index], [y.index], beta=1.0)
    g.inputs, g.outputs = [x.index], [y.index]
    return g, [rand_int8(rng, x.shape)], None


def _log_softmax(rng):
    g = Graph.empty("log_softmax")
    x = g.add_tensor("x", (1, 10), "int8", q(0.1, 0))
    y = g.add_tensor("y", (1, 10), "int8", q(16 / 256, 127))
    g.add_op("LOG_SOFTMAX", [x.index], [y.index])
    g.inputs, g.outputs = [x.index], [y.index]
    return g, [rand_int8(rng, x.shape)], None


def _unary(kind, out_q=QA):
    def build(rng):
        g = Graph.empty(kind.lower())
        x = g.add_tensor("x", (1, 4, 4, 3), "int8", q(*QA))
        y = g.add_tensor("y", (1, 4, 4, 3), "int8", q(*out_q))
        g.add_op(kind, [x.index], [y.index])
        g.inputs, g.outputs = [x.index], [y.index]
        xv = rand_int8(rng, x.shape)
        expected = None
        if kind == "RELU":  # same scale in and out: exact clamp at the zero point
            expected = np.maximum(xv, np.int8(QA[1]))
        return g, [xv], expected

    return build


def _concat(rng):
    g = Graph.empty("concat")
    a = g.add_tensor("a", (1, 2, 2, 3), "int8", q(*QA))
    b = g.add_tensor("b", (1, 2, 2, 5), "int8", q(*QA))
    y = g.add_tensor("y", (1, 2, 2, 8), "int8", q(*QA))
    g.add_op("CONCATENATION", [a.index, b.index], [y.index], axis=3, activation="NONE")
    g.inputs, g.outputs = [a.index, b.index], [y.index]
    av, bv = rand_int8(rng, a.shape), rand_int8(rng, b.shape)
    return g, [av, bv], np.concatenate([av, bv], axis=3)


def _transpose(rng):
    g = Graph.empty("transpose")
    x = g.add_tensor("x", (1, 2, 3, 4), "int8", q(*QA))
    perm = np.array([0, 3, 1, 2], np.int32)
    p = g.add_tensor("perm", (4,), "int32", None, perm)
    y = g.add_tensor("y", (1, 4, 2, 3), "int8", q(*QA))
    g.add_op("TRANSPOSE", [x.index, p.index], [y.index])
    g.inputs, g.outputs = [x.index], [y.index]
    xv = rand_int8(rng, x.shape)
    return g, [xv], np.transpose(xv, perm)


def _resize_nn(rng):
    g = Graph.empty("resize")
    x = g.add_tensor("x", (1, 2, 2, 3), "int8", q(*QA))
    s = g.add_tensor("size", (2,), "int32", None, np.array([4, 4], np.int32))
    y = g.add_tensor("y", (1, 4, 4, 3), "int8", q(*QA))
    g.add_op("RESIZE_NEAREST_NEIGHBOR", [x.index, s.index], [y.index], align_corners=False,
             half_pixel_centers=False)
    g.inputs, g.outputs = [x.index], [y.index]
    xv = rand_int8(rng, x.shape)
    return g, [xv], xv.repeat(2, axis=1).repeat(2, axis=2)


def _quantize(rng):
    g = Graph.empty("quantize")
    x = g.add_tensor("x", (1, 8), "float32")
    y = g.add_tensor("y", (1, 8), "int8", q(0.05, 3))
    g.add_op("QUANTIZE", [x.index], [y.index])
    g.inputs, g.outputs = [x.index], [y.index]
    # values away from rounding ties, so any round-half rule gives the same integers
    k = rng.integers(-100, 100, size=(1, 8))
    xv = ((k + 0.25) * np.float32(0.05)).astype(np.float32)
    return g, [xv], np.clip(k + 3, -128, 127).astype(np.int8)


def _dequantize(rng):
    g = Graph.empty("dequantize")
    x = g.add_tensor("x", (1, 8), "int8", q(0.05, 3))
    y = g.add_tensor("y", (1, 8), "float32")
    g.add_op("DEQUANTIZE", [x.index], [y.index])
    g.inputs, g.outputs = [x.index], [y.index]
    xv = rand_int8(rng, x.shape)
    return g, [xv], ((xv.astype(np.float32) - 3) * np.float32(0.05)).astype(np.float32)


def _tanh(rng):
    """TANH runs on float32 only, in a float tail after a DEQUANTIZE."""
    g = Graph.empty("tanh")
    x = g.add_tensor("x", (1, 8), "int8", q(0.05, 3))
    f = g.add_tensor("f", (1, 8), "float32")
    y = g.add_tensor("y", (1, 8), "float32")
    g.add_op("DEQUANTIZE", [x.index], [f.index])
    g.add_op("TANH", [f.index], [y.index])
    g.inputs, g.outputs = [x.index], [y.index]
    xv = rand_int8(rng, x.shape)
    return g, [xv], np.tanh((xv.astype(np.float64) - 3) * 0.05).astype(np.float32)


BUILDERS = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _binary("ADD"),
    "MUL": _binary("MUL"),
    "AVERAGE_POOL_2D": _pool("AVERAGE_POOL_2D"),
    "MAX_POOL_2D": _pool("MAX_POOL_2D"),
    "MEAN": _mean,
    "PAD": _pad,
    "RESHAPE": _reshape,
    "SQUEEZE": _squeeze,
    "SOFTMAX": _softmax,
    "LOG_SOFTMAX": _log_softmax,
    "LOGISTIC": _unary("LOGISTIC", (1 / 256, -128)),
    "HARD_SWISH": _unary("HARD_SWISH", (0.04, -10)),
    "RELU": _unary("RELU"),
    "RELU6": _unary("RELU6", (6 / 255, -128)),
    "CONCATENATION": _concat,
    "TRANSPOSE": _transpose,
    "RESIZE_NEAREST_NEIGHBOR": _resize_nn,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
    "TANH": _tanh,
}


def test_every_supported_op_has_a_builder():
    assert set(BUILDERS) == set(SUPPORTED_OPS)


@pytest.mark.parametrize("kind", SUPPORTED_OPS)
def test_op_runs_in_tflm(kind):
    rng = np.random.default_rng(zlib.crc32(kind.encode()))
    graph, inputs, expected = BUILDERS[kind](rng)
    model = write_tflite(graph)
    outs = run_tflm(model, inputs, len(graph.outputs))
    assert len(outs) == len(graph.outputs)
    want = graph.tensors[graph.outputs[0]]
    assert outs[0].shape == want.shape
    assert outs[0].dtype == np.dtype(want.dtype)
    if expected is not None:
        if want.dtype == "float32":
            np.testing.assert_allclose(outs[0], expected, rtol=1e-6, atol=1e-6)
        else:
            np.testing.assert_array_equal(outs[0], expected)


# ---------------------------------------------------------------------------------------------
# file layout


def _model(data):
    return tflite.Model.GetRootAs(data, 0)


def _buffer_data_offset(buf):
    o = buf._tab.Offset(4)
    return buf._tab.Vector(o) if o else None


def test_file_layout():
    rng = np.random.default_rng(0)
    graph, _, _ = _conv(rng)
    data = write_tflite(graph)
    assert data[4:8] == b"TFL3"
    assert tflite.Model.ModelBufferHasIdentifier(data, 0)
    m = _model(data)
    assert m.Version() == 3
    assert m.SubgraphsLength() == 1
    assert m.SignatureDefsLength() == 0
    # buffer 0 is the empty sentinel, then one buffer per constant tensor
    consts = [t for t in graph.tensors if t.is_const]
    assert m.BuffersLength() == 1 + len(consts)
    assert m.Buffers(0).DataLength() == 0
    sg = m.Subgraphs(0)
    assert sg.TensorsLength() == len(graph.tensors)
    for t in graph.tensors:
        ft = sg.Tensors(t.index)
        assert ft.Name().decode() == t.name
        assert tuple(ft.ShapeAsNumpy()) == t.shape
        assert ft.Type() == opcodes.TENSOR_TYPES[t.dtype]
        buf = m.Buffers(ft.Buffer())
        if t.is_const:
            assert ft.Buffer() != 0
            raw = buf.DataAsNumpy().tobytes()
            back = np.frombuffer(raw, opcodes.NUMPY_DTYPES[t.dtype]).reshape(t.shape)
            np.testing.assert_array_equal(back, t.data)
            assert _buffer_data_offset(buf) % 16 == 0, "constant data must be 16-byte aligned"
        else:
            assert ft.Buffer() == 0
    assert list(sg.InputsAsNumpy()) == graph.inputs
    assert list(sg.OutputsAsNumpy()) == graph.outputs


def test_per_channel_quantization_written():
    rng = np.random.default_rng(1)
    graph, _, _ = _depthwise(rng)
    sg = _model(write_tflite(graph)).Subgraphs(0)
    for t in graph.tensors:
        fq = sg.Tensors(t.index).Quantization()
        np.testing.assert_array_equal(fq.ScaleAsNumpy(), t.quant.scale)
        np.testing.assert_array_equal(fq.ZeroPointAsNumpy(), t.quant.zero_point)
        assert fq.QuantizedDimension() == t.quant.axis
    assert sg.Tensors(1).Quantization().QuantizedDimension() == 3


def test_builtin_options_written():
    conv, _, _ = _conv(np.random.default_rng(4))
    op = _model(write_tflite(conv)).Subgraphs(0).Operators(0)
    assert op.BuiltinOptionsType() == tflite.BuiltinOptions.Conv2DOptions
    o = tflite.Conv2DOptions()
    o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
    assert (o.Padding(), o.StrideH(), o.StrideW(), o.DilationHFactor(), o.DilationWFactor()) == (
        tflite.Padding.SAME, 2, 2, 1, 1)
    assert o.FusedActivationFunction() == tflite.ActivationFunctionType.RELU

    reshape, _, _ = _reshape(np.random.default_rng(5))
    op = _model(write_tflite(reshape)).Subgraphs(0).Operators(0)
    assert op.BuiltinOptionsType() == tflite.BuiltinOptions.ReshapeOptions
    o = tflite.ReshapeOptions()
    o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
    assert list(o.NewShapeAsNumpy()) == [1, 24]

    for kind in SUPPORTED_OPS:
        graph, _, _ = BUILDERS[kind](np.random.default_rng(6))
        ops = _model(write_tflite(graph)).Subgraphs(0)
        op = ops.Operators(ops.OperatorsLength() - 1)  # the op under test is the last (TANH's follows a DEQUANTIZE)
        want = opcodes.OP_OPTIONS[kind]
        assert op.BuiltinOptionsType() == opcodes.BUILTIN_OPTIONS_CODES[want or "NONE"], kind


def test_unquantized_tensor_has_no_quantization():
    graph, _, _ = _quantize(np.random.default_rng(2))
    sg = _model(write_tflite(graph)).Subgraphs(0)
    fq = sg.Tensors(0).Quantization()
    assert fq is None or fq.ScaleLength() == 0


def test_opcodes_deduplicated_and_absent_input_is_minus_one():
    g = Graph.empty()
    x = g.add_tensor("x", (1, 16), "int8", q(*QA))
    h = g.add_tensor("h", (1, 16), "int8", q(*QA))
    w = g.add_tensor("w", (4, 16), "int8", q(0.02, 0), np.ones((4, 16), np.int8))
    y1 = g.add_tensor("y1", (1, 4), "int8", q(0.2, 0))
    y2 = g.add_tensor("y2", (1, 4), "int8", q(0.2, 0))
    g.add_op("RELU", [x.index], [h.index])
    g.add_op("FULLY_CONNECTED", [h.index, w.index, None], [y1.index], activation="RELU",
             keep_num_dims=False)
    g.add_op("RELU", [y1.index], [y2.index])
    g.inputs, g.outputs = [x.index], [y2.index]
    data = write_tflite(g)
    m = _model(data)
    assert m.OperatorCodesLength() == 2
    names = []
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        assert oc.BuiltinCode() == oc.DeprecatedBuiltinCode()  # both codes < 127
        assert oc.Version() >= 1
        names.append(opcodes.opcode_name(oc))
    assert names == ["RELU", "FULLY_CONNECTED"]
    sg = m.Subgraphs(0)
    assert [sg.Operators(i).OpcodeIndex() for i in range(3)] == [0, 1, 0]
    assert list(sg.Operators(1).InputsAsNumpy()) == [h.index, w.index, -1]
    fc = sg.Operators(1)
    assert fc.BuiltinOptionsType() == tflite.BuiltinOptions.FullyConnectedOptions
    out = run_tflm(data, [np.full((1, 16), 10, np.int8)])[0]
    assert out.shape == (1, 4)


def test_tensor_indices_preserved_with_unusual_order():
    # output tensor and an unused tensor come before the input: indices must not be renumbered
    g = Graph.empty()
    y = g.add_tensor("y", (1, 4), "int8", q(*QA))
    g.add_tensor("unused", (3,), "int32", None, np.array([1, 2, 3], np.int32))
    x = g.add_tensor("x", (1, 4), "int8", q(*QA))
    g.add_op("RELU", [x.index], [y.index])
    g.inputs, g.outputs = [x.index], [y.index]
    data = write_tflite(g)
    sg = _model(data).Subgraphs(0)
    assert [sg.Tensors(i).Name().decode() for i in range(3)] == ["y", "unused", "x"]
    xv = np.array([[-5, -2, 0, 7]], np.int8)
    np.testing.assert_array_equal(run_tflm(data, [xv])[0], np.maximum(xv, QA[1]))


def test_deterministic_and_save(tmp_path):
    graph, inputs, expected = _transpose(np.random.default_rng(3))
    assert write_tflite(graph) == write_tflite(graph)
    path = save_tflite(graph, tmp_path / "t.tflite")
    assert path.read_bytes() == write_tflite(graph)
    it = runtime.Interpreter.from_file(str(path), arena_size=ARENA)
    it.set_input(inputs[0], 0)
    it.invoke()
    np.testing.assert_array_equal(it.get_output(0), expected)


def test_opcode_tables():
    assert opcodes.builtin_code("CONV_2D") == 3
    assert opcodes.builtin_name(114) == "QUANTIZE"
    assert opcodes.deprecated_code(3) == 3 and opcodes.deprecated_code(150) == 127
    assert opcodes.ACTIVATION_CODES["RELU6"] == 3 and opcodes.ACTIVATION_NAMES[1] == "RELU"
    assert opcodes.PADDING_CODES == {"SAME": 0, "VALID": 1}
    assert opcodes.TENSOR_TYPE_NAMES[9] == "int8"
    for kind in SUPPORTED_OPS:
        assert kind in opcodes.BUILTIN_CODES and kind in opcodes.OP_OPTIONS
    with pytest.raises(TinyCompilerError):
        opcodes.builtin_name(100000)


# ---------------------------------------------------------------------------------------------
# validation


def _relu_graph():
    g = Graph.empty()
    x = g.add_tensor("x", (1, 4), "int8", q(*QA))
    y = g.add_tensor("y", (1, 4), "int8", q(*QA))
    g.inputs, g.outputs = [x.index], [y.index]
    return g


def _conv_attrs(**over):
    a = dict(padding="SAME", stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, activation="NONE")
    a.update(over)
    return {k: v for k, v in a.items() if v is not None}


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda g: g.add_op("GELU", [0], [1]), "GELU"),
        (lambda g: g.add_op("RELU", [0], [7]), "output 0"),
        (lambda g: g.add_op("RELU", [None], [1]), "input 0"),
        (lambda g: g.add_op("RELU", [0, 0], [1]), "inputs"),
        (lambda g: g.add_op("SOFTMAX", [0], [1]), "'beta'"),
        (lambda g: g.add_op("SQUEEZE", [0], [1], squeeze_dims="1"), "'squeeze_dims'"),
        (lambda g: g.add_op("ADD", [0, 0], [1], activation="TANH"), "'activation'"),
        (lambda g: g.add_op("MEAN", [0, 0], [1], keep_dims=1), "'keep_dims'"),
    ],
)
def test_invalid_op_is_refused(mutate, needle):
    g = _relu_graph()
    mutate(g)
    with pytest.raises(TinyCompilerError, match="op 0") as e:
        write_tflite(g)
    assert needle in str(e.value)


@pytest.mark.parametrize("missing", ["padding", "stride_h", "dilation_w", "activation"])
def test_missing_conv_attr_is_refused(missing):
    g = Graph.empty()
    x = g.add_tensor("x", (1, 3, 3, 1), "int8", q(*QA))
    w = g.add_tensor("w", (1, 1, 1, 1), "int8", q(0.1, 0), np.ones((1, 1, 1, 1), np.int8))
    y = g.add_tensor("y", (1, 3, 3, 1), "int8", q(*QA))
    g.add_op("RELU", [x.index], [x.index])  # op 0 is fine
    g.add_op("CONV_2D", [x.index, w.index, None], [y.index], **_conv_attrs(**{missing: None}))
    with pytest.raises(TinyCompilerError, match=rf"op 1 \(CONV_2D\).*'{missing}'.*missing"):
        write_tflite(g)


def test_bad_padding_value_is_refused():
    g = Graph.empty()
    x = g.add_tensor("x", (1, 3, 3, 1), "int8", q(*QA))
    w = g.add_tensor("w", (1, 1, 1, 1), "int8", q(0.1, 0), np.ones((1, 1, 1, 1), np.int8))
    y = g.add_tensor("y", (1, 3, 3, 1), "int8", q(*QA))
    g.add_op("CONV_2D", [x.index, w.index, None], [y.index], **_conv_attrs(padding="FULL"))
    with pytest.raises(TinyCompilerError, match="'padding'"):
        write_tflite(g)


def test_bad_tensors_are_refused():
    g = _relu_graph()
    g.add_op("RELU", [0], [1])
    g.tensors[0].dtype = "float16"
    with pytest.raises(TinyCompilerError, match="tensor 0.*float16"):
        write_tflite(g)

    g = _relu_graph()
    g.tensors[1].shape = (1, -1)
    with pytest.raises(TinyCompilerError, match="tensor 1.*shape"):
        write_tflite(g)

    g = _relu_graph()
    g.add_op("RELU", [0], [1])
    g.add_tensor("c", (2, 3), "int8", None, np.zeros(5, np.int8))
    with pytest.raises(TinyCompilerError, match="tensor 2.*5 elements"):
        write_tflite(g)

    g = _relu_graph()
    g.add_tensor("c", (2,), "int8", None, np.array([1, 300]))
    with pytest.raises(TinyCompilerError, match="tensor 2.*does not fit"):
        write_tflite(g)

    g = _relu_graph()
    g.tensors[0].quant = Quant(np.array([0.1, 0.2], np.float32), np.array([0, 0]), axis=1)
    with pytest.raises(TinyCompilerError, match="tensor 0.*per-channel"):
        write_tflite(g)

    g = _relu_graph()
    g.outputs = [5]
    with pytest.raises(TinyCompilerError, match="graph output 0"):
        write_tflite(g)


# ---------------------------------------------------------------------------------------------
# round trip through the importer, on every bundled model


def _load(path_or_bytes):
    from tinycompiler.frontends.tflite import load_tflite

    return load_tflite(path_or_bytes)


def _load_bytes(data: bytes, tmp_path, name):
    """Load a model from bytes, through a file if load_tflite only takes paths."""
    path = tmp_path / name
    path.write_bytes(data)
    return _load(str(path))


def _assert_same_quant(a, b, where):
    if a is None or b is None:
        assert a is None and b is None, where
        return
    np.testing.assert_array_equal(a.scale, b.scale, err_msg=where)
    assert a.scale.dtype == b.scale.dtype, where
    np.testing.assert_array_equal(a.zero_point, b.zero_point, err_msg=where)
    assert a.axis == b.axis, where


def assert_same_graph(g1, g2):
    assert len(g1.tensors) == len(g2.tensors)
    for t1, t2 in zip(g1.tensors, g2.tensors):
        where = f"tensor {t1.index} {t1.name!r}"
        assert (t1.index, t1.name, tuple(t1.shape), t1.dtype) == (
            t2.index, t2.name, tuple(t2.shape), t2.dtype), where
        _assert_same_quant(t1.quant, t2.quant, where)
        assert (t1.data is None) == (t2.data is None), where
        if t1.data is not None:
            assert np.asarray(t1.data).dtype == np.asarray(t2.data).dtype, where
            np.testing.assert_array_equal(t1.data, t2.data, err_msg=where)
    assert len(g1.ops) == len(g2.ops)
    for o1, o2 in zip(g1.ops, g2.ops):
        where = o1.where()
        assert (o1.kind, list(o1.inputs), list(o1.outputs)) == (
            o2.kind, list(o2.inputs), list(o2.outputs)), where
        assert o1.attrs.keys() == o2.attrs.keys(), where
        for k in o1.attrs:
            v1, v2 = o1.attrs[k], o2.attrs[k]
            if isinstance(v1, np.ndarray) or isinstance(v2, np.ndarray):
                np.testing.assert_array_equal(v1, v2, err_msg=f"{where} {k}")
            else:
                assert v1 == v2, f"{where} attr {k}: {v1!r} != {v2!r}"
    assert list(g1.inputs) == list(g2.inputs)
    assert list(g1.outputs) == list(g2.outputs)


@pytest.mark.parametrize("path", MODELS, ids=[os.path.basename(p) for p in MODELS])
def test_round_trip_shared_model(path, tmp_path):
    g1 = _load(path)
    data = write_tflite(g1)
    g2 = _load_bytes(data, tmp_path, "rewritten.tflite")
    assert_same_graph(g1, g2)

    # TFLM gives byte-identical outputs for the original and the rewritten file
    original = open(path, "rb").read()
    arena = 4 << 20
    rng = np.random.default_rng(1234)
    for _ in range(3):
        inputs = []
        for i in g1.inputs:
            t = g1.tensors[i]
            if t.dtype == "float32":
                inputs.append(rng.uniform(-1.0, 1.0, size=t.shape).astype(np.float32))
            else:
                info = np.iinfo(t.dtype)
                inputs.append(rng.integers(info.min, info.max + 1, size=t.shape, dtype=t.dtype))
        want = run_tflm(original, inputs, len(g1.outputs), arena)
        got = run_tflm(data, inputs, len(g1.outputs), arena)
        assert len(want) == len(got) == len(g1.outputs)
        for w, o in zip(want, got):
            assert w.dtype == o.dtype and w.shape == o.shape
            assert w.tobytes() == o.tobytes()
