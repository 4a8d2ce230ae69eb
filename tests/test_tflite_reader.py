"""The TFLite importer: the bundled models load correctly, and bad files give TinyCompilerError.

Malformed files come from two places: byte edits of a real model at positions located with the
``tflite`` bindings, and tiny models built here with the flatbuffers builder (:func:`build`), which
can express semantic errors (wrong shapes, bad order, missing quantization, ...).
"""

from __future__ import annotations

import random
import struct

import flatbuffers
import numpy as np
import pytest
import tflite

from conftest import MODEL_FILES, model_path
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.tflite import load_tflite
from tinycompiler.frontends.tflite.validate import MAX_DIM
from tinycompiler.ir import SUPPORTED_OPS, Graph, conv_pads

# -------------------------------------------------------------------------------------------------
# expectations from examples/models (see its NOTICE)
EXPECTED = {
    "mlperftiny_kws_dscnn_int8": dict(
        inp=((1, 49, 10, 1), "int8"), out=((1, 12), "int8"),
        ops={"CONV_2D": 5, "DEPTHWISE_CONV_2D": 4, "AVERAGE_POOL_2D": 1, "RESHAPE": 1,
             "FULLY_CONNECTED": 1, "SOFTMAX": 1}),
    "mlperftiny_ic_resnet8_cifar10_int8": dict(
        inp=((1, 32, 32, 3), "int8"), out=((1, 10), "int8"),
        ops={"CONV_2D": 9, "ADD": 3, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1,
             "SOFTMAX": 1}),
    "tflm_person_detect_mobilenetv1_96_int8": dict(
        inp=((1, 96, 96, 1), "int8"), out=((1, 2), "int8"),
        ops={"DEPTHWISE_CONV_2D": 14, "CONV_2D": 14, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "SOFTMAX": 1}),
    "tflm_micro_speech_int8": dict(
        inp=((1, 1960), "int8"), out=((1, 4), "int8"),
        ops={"RESHAPE": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1}),
    "tflm_hello_world_int8": dict(
        inp=((1, 1), "int8"), out=((1, 1), "int8"), ops={"FULLY_CONNECTED": 3}),
    "tinyengine_mcunet_vww": dict(
        inp=((1, 80, 80, 3), "float32"), out=((1, 2), "float32"),
        ops={"QUANTIZE": 1, "PAD": 4, "CONV_2D": 30, "DEPTHWISE_CONV_2D": 15, "ADD": 8,
             "TRANSPOSE": 1, "MEAN": 2, "FULLY_CONNECTED": 1, "DEQUANTIZE": 1}),
    "keras_mobilenetv2_a0.35_64_int8": dict(
        inp=((1, 64, 64, 3), "int8"), out=((1, 10), "int8"),
        ops={"CONV_2D": 35, "DEPTHWISE_CONV_2D": 17, "ADD": 10, "MEAN": 1, "FULLY_CONNECTED": 1,
             "SOFTMAX": 1}),
}

#: attribute keys each op must carry (tinycompiler/ir/ops.py)
ATTR_KEYS = {
    "CONV_2D": {"padding", "stride_h", "stride_w", "dilation_h", "dilation_w", "activation"},
    "DEPTHWISE_CONV_2D": {"padding", "stride_h", "stride_w", "dilation_h", "dilation_w",
                          "depth_multiplier", "activation"},
    "FULLY_CONNECTED": {"activation", "keep_num_dims"},
    "ADD": {"activation"},
    "MUL": {"activation"},
    "AVERAGE_POOL_2D": {"padding", "stride_h", "stride_w", "filter_h", "filter_w", "activation"},
    "MAX_POOL_2D": {"padding", "stride_h", "stride_w", "filter_h", "filter_w", "activation"},
    "MEAN": {"keep_dims"},
    "SQUEEZE": {"squeeze_dims"},
    "SOFTMAX": {"beta"},
    "CONCATENATION": {"axis", "activation"},
    "RESIZE_NEAREST_NEIGHBOR": {"align_corners", "half_pixel_centers"},
}

MODEL_IDS = [p.stem for p in MODEL_FILES]


def _error(data, *fragments) -> str:
    """Load ``data``, expect TinyCompilerError whose message holds every fragment; return it."""
    with pytest.raises(TinyCompilerError) as ei:
        load_tflite(data)
    msg = str(ei.value)
    assert "\n" not in msg
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    return msg


# -------------------------------------------------------------------------------------------------
# the bundled models
def test_all_readme_models_present():
    assert sorted(MODEL_IDS) == sorted(EXPECTED)


@pytest.mark.parametrize("path", MODEL_FILES, ids=MODEL_IDS)
def test_shared_model_loads(path):
    g = load_tflite(path)
    exp = EXPECTED[path.stem]
    assert isinstance(g, Graph)
    assert g.name == path.stem
    counts = {}
    for op in g.ops:
        counts[op.kind] = counts.get(op.kind, 0) + 1
    assert counts == exp["ops"]
    assert [op.index for op in g.ops] == list(range(len(g.ops)))
    assert len(g.inputs) == 1 and len(g.outputs) == 1
    x, y = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    assert (x.shape, x.dtype) == exp["inp"]
    assert (y.shape, y.dtype) == exp["out"]
    for i, t in enumerate(g.tensors):
        assert t.index == i
        if t.is_const:
            assert t.data.shape == t.shape and t.data.dtype == np.dtype(t.dtype)
    for op in g.ops:
        assert op.kind in SUPPORTED_OPS
        assert ATTR_KEYS.get(op.kind, set()) <= set(op.attrs), op.where()
        if "activation" in op.attrs:
            assert op.attrs["activation"] in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
        for i in op.inputs + op.outputs:
            assert i is None or 0 <= i < len(g.tensors)
        for i in op.inputs + op.outputs:
            t = None if i is None else g.tensors[i]
            if t is not None and t.dtype == "int8":
                assert t.quant is not None


def test_load_from_bytes_equals_load_from_path():
    p = model_path("mlperftiny_kws_dscnn_int8")
    a, b = load_tflite(p), load_tflite(p.read_bytes())
    assert b.name == "model" and a.name == p.stem
    assert [(o.kind, o.inputs, o.outputs, o.attrs) for o in a.ops] == \
        [(o.kind, o.inputs, o.outputs, o.attrs) for o in b.ops]
    for ta, tb in zip(a.tensors, b.tensors):
        assert ta.shape == tb.shape and ta.dtype == tb.dtype and ta.name == tb.name
        assert (ta.data is None) == (tb.data is None)
        if ta.data is not None:
            assert np.array_equal(ta.data, tb.data)


def test_missing_file_is_a_clean_error(tmp_path):
    _error(tmp_path / "nope.tflite", "cannot read model")


def test_kws_first_conv_asymmetric_same_padding():
    g = load_tflite(model_path("mlperftiny_kws_dscnn_int8"))
    op = g.ops[0]
    assert op.kind == "CONV_2D"
    a = op.attrs
    assert (a["padding"], a["stride_h"], a["stride_w"], a["dilation_h"], a["dilation_w"]) == ("SAME", 2, 2, 1, 1)
    w = op.input(g, 1)
    assert w.shape == (64, 10, 4, 1)
    # TFLite puts the extra padding row at the bottom
    assert conv_pads((49, 10), (10, 4), (2, 2), (1, 1), "SAME") == (4, 5, 1, 1)
    assert w.quant.per_channel and w.quant.axis == 0 and w.quant.scale.size == 64
    assert op.input(g, 2).dtype == "int32" and op.input(g, 2).shape == (64,)
    assert op.output(g).shape == (1, 25, 5, 64)
    assert g.ops[9].attrs["filter_h"] == 25 and g.ops[9].attrs["filter_w"] == 5


def test_person_detect_bias_axis_normalized():
    g = load_tflite(model_path("tflm_person_detect_mobilenetv1_96_int8"))
    op = g.ops[0]
    assert op.kind == "DEPTHWISE_CONV_2D"
    bias, w = op.input(g, 2), op.input(g, 1)
    assert bias.shape == (8,) and bias.quant.scale.size == 8 and bias.quant.axis == 0
    assert w.quant.axis == 3 and w.quant.scale.size == 8
    assert op.attrs["depth_multiplier"] == 8
    assert np.all(bias.quant.scale > 0) and np.all(bias.quant.zero_point == 0)
    assert g.ops[-1].kind == "SOFTMAX" and g.ops[-1].attrs["beta"] == 1.0


def test_mcunet_float_edges_pad_transpose_mean():
    g = load_tflite(model_path("tinyengine_mcunet_vww"))
    q, dq = g.ops[0], g.ops[-1]
    assert q.kind == "QUANTIZE" and q.input(g, 0).dtype == "float32" and q.output(g).dtype == "int8"
    assert dq.kind == "DEQUANTIZE" and dq.output(g).dtype == "float32" and dq.input(g, 0).dtype == "int8"
    pad = g.ops[1]
    assert pad.kind == "PAD"
    p = pad.input(g, 1)
    assert p.is_const and p.dtype == "int32" and p.data.shape == (4, 2)
    assert p.data.tolist() == [[0, 0], [1, 1], [1, 1], [0, 0]]
    tr = next(o for o in g.ops if o.kind == "TRANSPOSE")
    assert tr.input(g, 1).data.tolist() == [0, 3, 1, 2]
    assert tr.output(g).shape == (1, 160, 3, 3)
    means = [o for o in g.ops if o.kind == "MEAN"]
    assert [m.attrs["keep_dims"] for m in means] == [False, False]
    assert means[-1].output(g).shape == (1, 160)
    conv = g.ops[2]
    assert conv.attrs["padding"] == "VALID" and conv.attrs["stride_h"] == 2


def test_keras_per_channel_fc_and_depthwise_axis():
    g = load_tflite(model_path("keras_mobilenetv2_a0.35_64_int8"))
    fc = next(o for o in g.ops if o.kind == "FULLY_CONNECTED")
    w = fc.input(g, 1)
    assert w.shape == (10, 1280) and w.quant.per_channel and w.quant.axis == 0
    assert fc.attrs == {"activation": "NONE", "keep_num_dims": False}
    dw = next(o for o in g.ops if o.kind == "DEPTHWISE_CONV_2D")
    assert dw.input(g, 1).quant.axis == 3
    assert dw.attrs["depth_multiplier"] == 1


def test_fc_without_bias_index_minus_one():
    """An FC whose bias input is -1 loads with ``None`` there (never ``Tensors(-1)``)."""
    p = model_path("keras_mobilenetv2_a0.35_64_int8")
    buf = p.read_bytes()
    g = load_tflite(buf)
    fc = next(o for o in g.ops if o.kind == "FULLY_CONNECTED")
    start = _op_vector_start(buf, fc.index, 6)
    edited = _put_i32(buf, start + 8, -1)
    g2 = load_tflite(edited)
    fc2 = g2.ops[fc.index]
    assert fc2.inputs == [fc.inputs[0], fc.inputs[1], None]
    assert fc2.input(g2, 2) is None


def test_micro_speech_fc_flattens_4d_input():
    g = load_tflite(model_path("tflm_micro_speech_int8"))
    fc = g.ops[2]
    assert fc.kind == "FULLY_CONNECTED"
    assert fc.input(g, 0).shape == (1, 25, 20, 8) and fc.input(g, 1).shape == (4, 4000)
    assert g.ops[0].kind == "RESHAPE" and g.ops[0].input(g, 1).data.tolist() == [-1, 49, 40, 1]
    assert g.ops[1].attrs["depth_multiplier"] == 8


def test_constant_data_is_little_endian_and_exact():
    p = model_path("tflm_hello_world_int8")
    buf = p.read_bytes()
    g = load_tflite(buf)
    m = tflite.Model.GetRootAs(buf, 0)
    sg = m.Subgraphs(0)
    for t in g.tensors:
        if t.is_const:
            raw = m.Buffers(sg.Tensors(t.index).Buffer()).DataAsNumpy().tobytes()
            assert t.data.astype(t.data.dtype.newbyteorder("<")).tobytes() == raw


# -------------------------------------------------------------------------------------------------
# byte edits of real models
def _model(buf):
    return tflite.Model.GetRootAs(buf, 0)


def _put_i32(buf, off, value) -> bytes:
    b = bytearray(buf)
    b[off:off + 4] = struct.pack("<i", value)
    return bytes(b)


def _field_pos(obj, voff) -> int:
    o = obj._tab.Offset(voff)
    assert o, "field absent in this model"
    return obj._tab.Pos + o


def _vector_start(obj, voff) -> int:
    return obj._tab.Vector(obj._tab.Offset(voff))


def _op_vector_start(buf, op_index, voff) -> int:
    return _vector_start(_model(buf).Subgraphs(0).Operators(op_index), voff)


def _hello():
    return model_path("tflm_hello_world_int8").read_bytes()


def test_bad_identifier():
    buf = bytearray(_hello())
    buf[4:8] = b"XXXX"
    _error(bytes(buf), "TFL3")


@pytest.mark.parametrize("data", [b"", b"\0", b"TFL3", b"\0" * 7, b"\x08\0\0\0TFL3"])
def test_tiny_inputs(data):
    _error(data)


@pytest.mark.parametrize("stem", ["tflm_hello_world_int8", "tflm_micro_speech_int8"])
def test_truncations_at_many_offsets(stem):
    buf = model_path(stem).read_bytes()
    cuts = sorted(set(list(range(0, 200)) + list(range(200, len(buf), 37)) + [len(buf) - 1]))
    for n in cuts:
        with pytest.raises(TinyCompilerError):
            load_tflite(buf[:n])


def test_random_bit_flips_give_graph_or_clean_error():
    buf = _hello()
    rng = random.Random(5)
    for _ in range(300):
        b = bytearray(buf)
        for _ in range(rng.randint(1, 4)):
            k = rng.randrange(len(b) * 8)
            b[k // 8] ^= 1 << (k % 8)
        try:
            assert isinstance(load_tflite(bytes(b)), Graph)
        except TinyCompilerError as e:
            assert str(e)


def _set_opcode(buf, index, code) -> bytes:
    oc = _model(buf).OperatorCodes(index)
    b = bytearray(buf)
    b[_field_pos(oc, 4)] = min(code, 127)  # deprecated_builtin_code (int8)
    if oc._tab.Offset(10):
        b[_field_pos(oc, 10):_field_pos(oc, 10) + 4] = struct.pack("<i", code)
    return bytes(b)


def test_unsupported_op_by_opcode_edit():
    buf = model_path("tflm_micro_speech_int8").read_bytes()
    # find the opcode used by op 3 (SOFTMAX) and turn it into LSTM (16)
    op = _model(buf).Subgraphs(0).Operators(3)
    msg = _error(_set_opcode(buf, op.OpcodeIndex(), tflite.BuiltinOperator.LSTM),
                 "op 3 (LSTM) is not supported", "supported:", "CONV_2D")
    assert "SOFTMAX" in msg


def test_unknown_and_custom_opcodes():
    buf = model_path("tflm_micro_speech_int8").read_bytes()
    op = _model(buf).Subgraphs(0).Operators(3)
    hello = _hello()  # has the int32 builtin_code field, so codes above 127 fit
    _error(_set_opcode(hello, 0, 5000), "op 0", "code 5000", "supported:")
    _error(_set_opcode(buf, op.OpcodeIndex(), tflite.BuiltinOperator.CUSTOM), "op 3 (CUSTOM", "not supported")


def _tensor_type_pos(buf, ti) -> int:
    return _field_pos(_model(buf).Subgraphs(0).Tensors(ti), 6)


def test_int16_activation():
    buf = _hello()
    b = bytearray(buf)
    b[_tensor_type_pos(buf, 7)] = tflite.TensorType.INT16  # output of op 0, input of op 1
    _error(bytes(b), "op 0 (FULLY_CONNECTED)", "int16", "int8 activations only")


def test_float_activation_in_the_middle():
    buf = _hello()
    b = bytearray(buf)
    b[_tensor_type_pos(buf, 7)] = tflite.TensorType.FLOAT32
    _error(bytes(b), "float32", "int8 activations only")


def test_unsupported_tensor_type():
    buf = _hello()
    b = bytearray(buf)
    b[_tensor_type_pos(buf, 7)] = tflite.TensorType.COMPLEX64
    _error(bytes(b), "tensor 7", "COMPLEX64", "not supported")


@pytest.mark.parametrize("value", [0x7FFFFFFF, MAX_DIM + 1, -1, -0x80000000])
def test_absurd_dimension(value):
    buf = _hello()
    t = _model(buf).Subgraphs(0).Tensors(7)
    _error(_put_i32(buf, _vector_start(t, 4) + 4, value), "tensor 7", "dimension")


def test_too_many_elements():
    buf = model_path("mlperftiny_kws_dscnn_int8").read_bytes()
    g = load_tflite(buf)
    ti = g.ops[0].outputs[0]  # 1x25x5x64
    start = _vector_start(_model(buf).Subgraphs(0).Tensors(ti), 4)
    b = _put_i32(_put_i32(buf, start + 4, 1 << 20), start + 8, 1 << 20)
    _error(b, f"tensor {ti}", "elements")


def test_two_subgraphs():
    buf = _hello()
    m = _model(buf)
    start = _vector_start(m, 8)
    _error(_put_i32(buf, start - 4, 2), "2 subgraphs", "exactly 1")


def test_schema_version():
    buf = _hello()
    _error(_put_i32(buf, _field_pos(_model(buf), 4), 2), "schema version 2")


def test_tensor_index_out_of_range():
    buf = _hello()
    start = _op_vector_start(buf, 1, 6)
    _error(_put_i32(buf, start, 99), "op 1 (FULLY_CONNECTED) inputs", "tensor index 99", "10 tensors")


def test_graph_output_index_out_of_range():
    buf = _hello()
    start = _vector_start(_model(buf).Subgraphs(0), 8)
    _error(_put_i32(buf, start, 10), "subgraph outputs", "out of range")


def test_buffer_index_out_of_range():
    buf = _hello()
    t = _model(buf).Subgraphs(0).Tensors(4)
    _error(_put_i32(buf, _field_pos(t, 8), 1000), "tensor 4", "buffer index 1000", "13 buffers")


def test_buffer_wrong_size():
    buf = _hello()
    m = _model(buf)
    t = m.Subgraphs(0).Tensors(4)  # 16x16 int8 weights
    start = _vector_start(m.Buffers(t.Buffer()), 4)
    _error(_put_i32(buf, start - 4, 255), "tensor 4", "255 bytes", "needs 256")


def test_opcode_index_out_of_range():
    buf = model_path("tflm_micro_speech_int8").read_bytes()
    op = _model(buf).Subgraphs(0).Operators(3)
    _error(_put_i32(buf, _field_pos(op, 4), 7), "op 3", "opcode index 7", "4 operator codes")


def test_vector_length_past_end():
    buf = _hello()
    m = _model(buf)
    _error(_put_i32(buf, _vector_start(m, 12) - 4, 0x7FFFFFFF), "corrupted", "model.buffers")


def test_table_offset_out_of_range():
    buf = _hello()
    _error(_put_i32(buf, 0, len(buf) + 100), "corrupted")
    _error(_put_i32(buf, 0, 0xFFFFFFF0 - (1 << 32)), "corrupted")


def test_options_type_mismatch():
    buf = _hello()
    op = _model(buf).Subgraphs(0).Operators(0)
    b = bytearray(buf)
    b[_field_pos(op, 10)] = tflite.BuiltinOptions.Conv2DOptions
    _error(bytes(b), "op 0 (FULLY_CONNECTED)", "Conv2DOptions", "FullyConnectedOptions")


# -------------------------------------------------------------------------------------------------
# tiny models built from scratch
def _i8q(scale=0.05, zp=0, axis=0):
    return dict(scale=scale, zp=zp, axis=axis)


def build(tensors, ops, inputs, outputs, *, n_subgraphs=1, version=3, extra_tensor_refs=0):
    """A .tflite from specs (``extra_tensor_refs`` more tensor-vector entries pointing at the last
    tensor's table, as a hostile file could). tensor: dict(shape, type='int8', data=None (ndarray), quant=dict(scale,
    zp, axis) or None, name); op: dict(code, inputs, outputs, opt=(type code, fn(builder)->off))."""
    b = flatbuffers.Builder(1024)
    codes = sorted({op["code"] for op in ops})
    # buffers: 0 is the empty sentinel
    buffer_offs, tensor_buffer = [], []
    tflite.BufferStart(b)
    buffer_offs.append(tflite.BufferEnd(b))
    for t in tensors:
        if t.get("data") is not None:
            vec = b.CreateNumpyVector(np.frombuffer(np.ascontiguousarray(t["data"]).tobytes(), np.uint8))
            tflite.BufferStart(b)
            tflite.BufferAddData(b, vec)
            tensor_buffer.append(len(buffer_offs))
            buffer_offs.append(tflite.BufferEnd(b))
        else:
            tensor_buffer.append(0)
    t_offs = []
    for i, t in enumerate(tensors):
        name = b.CreateString(t.get("name", f"t{i}"))
        shape = b.CreateNumpyVector(np.array(t["shape"], np.int32))
        q = t.get("quant")
        qoff = None
        if q is not None:
            sc = b.CreateNumpyVector(np.array(np.atleast_1d(q["scale"]), np.float32))
            zp = b.CreateNumpyVector(np.array(np.atleast_1d(q["zp"]), np.int64))
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, sc)
            tflite.QuantizationParametersAddZeroPoint(b, zp)
            tflite.QuantizationParametersAddQuantizedDimension(b, q.get("axis", 0))
            qoff = tflite.QuantizationParametersEnd(b)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, getattr(tflite.TensorType, t.get("type", "int8").upper()))
        tflite.TensorAddBuffer(b, tensor_buffer[i])
        tflite.TensorAddName(b, name)
        if qoff is not None:
            tflite.TensorAddQuantization(b, qoff)
        t_offs.append(tflite.TensorEnd(b))
    op_offs = []
    for op in ops:
        ins = b.CreateNumpyVector(np.array(op["inputs"], np.int32))
        outs = b.CreateNumpyVector(np.array(op["outputs"], np.int32))
        opt = op.get("opt")
        opt_off = opt[1](b) if opt else None
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, codes.index(op["code"]))
        tflite.OperatorAddInputs(b, ins)
        tflite.OperatorAddOutputs(b, outs)
        if opt:
            tflite.OperatorAddBuiltinOptionsType(b, opt[0])
            tflite.OperatorAddBuiltinOptions(b, opt_off)
        op_offs.append(tflite.OperatorEnd(b))

    def vec_of_tables(offs):
        b.StartVector(4, len(offs), 4)
        for o in reversed(offs):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    sgs = []
    for _ in range(n_subgraphs):
        tv, ov = vec_of_tables(t_offs + [t_offs[-1]] * extra_tensor_refs), vec_of_tables(op_offs)
        iv = b.CreateNumpyVector(np.array(inputs, np.int32))
        outv = b.CreateNumpyVector(np.array(outputs, np.int32))
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tv)
        tflite.SubGraphAddInputs(b, iv)
        tflite.SubGraphAddOutputs(b, outv)
        tflite.SubGraphAddOperators(b, ov)
        sgs.append(tflite.SubGraphEnd(b))
    oc_offs = []
    for c in codes:
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(c, 127))
        tflite.OperatorCodeAddBuiltinCode(b, c)
        tflite.OperatorCodeAddVersion(b, 1)
        oc_offs.append(tflite.OperatorCodeEnd(b))
    ocv, sgv, bv = vec_of_tables(oc_offs), vec_of_tables(sgs), vec_of_tables(buffer_offs)
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, version)
    tflite.ModelAddOperatorCodes(b, ocv)
    tflite.ModelAddSubgraphs(b, sgv)
    tflite.ModelAddBuffers(b, bv)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


OP = tflite.BuiltinOperator


def conv_opt(padding="SAME", stride=1, act=0):
    def f(b):
        tflite.Conv2DOptionsStart(b)
        tflite.Conv2DOptionsAddPadding(b, getattr(tflite.Padding, padding))
        tflite.Conv2DOptionsAddStrideH(b, stride)
        tflite.Conv2DOptionsAddStrideW(b, stride)
        tflite.Conv2DOptionsAddDilationHFactor(b, 1)
        tflite.Conv2DOptionsAddDilationWFactor(b, 1)
        tflite.Conv2DOptionsAddFusedActivationFunction(b, act)
        return tflite.Conv2DOptionsEnd(b)

    return (tflite.BuiltinOptions.Conv2DOptions, f)


def conc_opt(axis):
    def f(b):
        tflite.ConcatenationOptionsStart(b)
        tflite.ConcatenationOptionsAddAxis(b, axis)
        return tflite.ConcatenationOptionsEnd(b)

    return (tflite.BuiltinOptions.ConcatenationOptions, f)


def conv_model(in_shape=(1, 8, 8, 4), w_shape=(6, 3, 3, 4), bias=6, out_shape=(1, 8, 8, 6),
               padding="SAME", stride=1, w_quant=None, act=0, **over):
    """input -> CONV_2D -> output; ``over`` overrides tensor specs by index (0 x, 1 w, 2 b, 3 y)."""
    tensors = [
        dict(shape=in_shape, quant=_i8q(0.1, 3)),
        dict(shape=w_shape, data=np.ones(w_shape, np.int8),
             quant=w_quant or _i8q([0.01] * w_shape[0], [0] * w_shape[0], 0)),
        dict(shape=(bias,), type="int32", data=np.zeros(bias, np.int32)),
        dict(shape=out_shape, quant=_i8q(0.2, -5)),
    ]
    for k, v in over.items():
        tensors[int(k[1:])].update(v)
    return build(tensors, [dict(code=OP.CONV_2D, inputs=[0, 1, 2], outputs=[3],
                                opt=conv_opt(padding, stride, act))], [0], [3])


def test_built_conv_model_loads():
    g = load_tflite(conv_model())
    assert g.ops[0].attrs == dict(padding="SAME", stride_h=1, stride_w=1, dilation_h=1,
                                  dilation_w=1, activation="NONE")
    assert g.tensors[1].quant.per_channel and g.tensors[1].data.shape == (6, 3, 3, 4)
    assert g.name == "model"


def test_conv_filter_channels_mismatch():
    _error(conv_model(w_shape=(6, 3, 3, 3)), "op 0 (CONV_2D)", "input channels")


def test_grouped_conv_is_accepted():
    g = load_tflite(conv_model(w_shape=(6, 3, 3, 2)))
    assert g.tensors[1].shape == (6, 3, 3, 2)


def test_conv_output_shape_mismatch():
    _error(conv_model(out_shape=(1, 7, 8, 6)), "op 0 (CONV_2D)", "[1, 7, 8, 6]", "[1, 8, 8, 6]")
    _error(conv_model(padding="VALID"), "[1, 6, 6, 6]")
    _error(conv_model(stride=2), "[1, 4, 4, 6]")
    assert load_tflite(conv_model(stride=2, out_shape=(1, 4, 4, 6)))


def test_conv_bias_length():
    _error(conv_model(bias=5), "op 0 (CONV_2D)", "bias", "[6]")


def test_conv_bias_wrong_dtype():
    _error(conv_model(t2=dict(type="int8", data=np.zeros(6, np.int8), quant=_i8q())), "bias", "int32")


def test_conv_window_larger_than_input():
    _error(conv_model(in_shape=(1, 2, 2, 4), out_shape=(1, 0, 0, 6), padding="VALID"), "op 0 (CONV_2D)")


def test_fused_activation_unsupported():
    _error(conv_model(act=tflite.ActivationFunctionType.TANH), "fused activation TANH", "supported")


def test_missing_quantization_on_int8():
    _error(conv_model(t3=dict(quant=None)), "tensor 3", "no quantization")
    _error(conv_model(t1=dict(quant=None)), "filter", "no quantization")


def test_per_channel_activation_rejected():
    _error(conv_model(t0=dict(quant=_i8q([0.1] * 4, [0] * 4, 3))), "tensor 0", "per tensor")


def test_bad_scale_and_zero_point():
    _error(conv_model(t3=dict(quant=_i8q(0.0, 0))), "scale", "positive")
    _error(conv_model(t3=dict(quant=_i8q(float("nan"), 0))), "scale")
    _error(conv_model(t3=dict(quant=_i8q(0.1, 300))), "zero point 300")


def test_per_channel_scale_count_mismatch():
    _error(conv_model(w_quant=_i8q([0.01] * 5, [0] * 5, 0)), "5 per-channel scales")
    _error(conv_model(w_quant=_i8q([0.01] * 6, [0] * 5, 0)), "6 scales but 5 zero points")


def test_filter_per_channel_on_wrong_axis():
    _error(conv_model(w_shape=(4, 3, 3, 4), out_shape=(1, 8, 8, 4), bias=4,
                      w_quant=_i8q([0.01] * 4, [0] * 4, 3)), "axis 3", "needs axis 0")


def test_non_constant_filter():
    data = build([dict(shape=(1, 4, 4, 2), quant=_i8q()), dict(shape=(2, 1, 1, 2), quant=_i8q()),
                  dict(shape=(1, 4, 4, 2), quant=_i8q())],
                 [dict(code=OP.CONV_2D, inputs=[0, 1, -1], outputs=[2], opt=conv_opt())], [0, 1], [2])
    _error(data, "filter", "non-constant")


def test_float_input_without_quantize():
    _error(conv_model(t0=dict(type="float32", quant=None)), "float32", "int8 activations only")


def test_buffer_wrong_size_built():
    _error(conv_model(t1=dict(data=np.ones(10, np.int8))), "tensor 1", "10 bytes", "needs 216")


def test_missing_conv_options():
    data = build([dict(shape=(1, 4, 4, 1), quant=_i8q()),
                  dict(shape=(1, 1, 1, 1), data=np.ones((1, 1, 1, 1), np.int8), quant=_i8q()),
                  dict(shape=(1, 4, 4, 1), quant=_i8q())],
                 [dict(code=OP.CONV_2D, inputs=[0, 1, -1], outputs=[2])], [0], [2])
    _error(data, "op 0 (CONV_2D)", "options are missing")


def _act(shape, **kw):
    return dict(shape=shape, quant=_i8q(), **kw)


def test_add_broadcast():
    ok = build([_act((1, 4, 4, 3)), _act((1, 1, 1, 3)), _act((1, 4, 4, 3))],
               [dict(code=OP.ADD, inputs=[0, 1], outputs=[2])], [0, 1], [2])
    assert load_tflite(ok).ops[0].attrs == {"activation": "NONE"}
    bad = build([_act((1, 4, 4, 3)), _act((1, 1, 1, 2)), _act((1, 4, 4, 3))],
                [dict(code=OP.ADD, inputs=[0, 1], outputs=[2])], [0, 1], [2])
    _error(bad, "op 0 (ADD)", "do not broadcast")
    wrong_out = build([_act((1, 4, 4, 3)), _act((1, 4, 4, 3)), _act((1, 4, 4, 4))],
                      [dict(code=OP.MUL, inputs=[0, 1], outputs=[2])], [0, 1], [2])
    _error(wrong_out, "op 0 (MUL)", "[1, 4, 4, 3]")


def test_concat_axis_normalized_and_checked():
    ok = build([_act((1, 2, 2, 3)), _act((1, 2, 2, 5)), _act((1, 2, 2, 8))],
               [dict(code=OP.CONCATENATION, inputs=[0, 1], outputs=[2], opt=conc_opt(-1))], [0, 1], [2])
    assert load_tflite(ok).ops[0].attrs == {"axis": 3, "activation": "NONE"}
    bad = build([_act((1, 2, 2, 3)), _act((1, 2, 3, 5)), _act((1, 2, 2, 8))],
                [dict(code=OP.CONCATENATION, inputs=[0, 1], outputs=[2], opt=conc_opt(3))], [0, 1], [2])
    _error(bad, "op 0 (CONCATENATION)", "does not match")
    bad_sum = build([_act((1, 2, 2, 3)), _act((1, 2, 2, 5)), _act((1, 2, 2, 9))],
                    [dict(code=OP.CONCATENATION, inputs=[0, 1], outputs=[2], opt=conc_opt(3))], [0, 1], [2])
    _error(bad_sum, "add up to 8")
    bad_axis = build([_act((1, 2, 2, 3)), _act((1, 2, 2, 5)), _act((1, 2, 2, 8))],
                     [dict(code=OP.CONCATENATION, inputs=[0, 1], outputs=[2], opt=conc_opt(7))], [0, 1], [2])
    _error(bad_axis, "axis 7")


def test_reshape_element_count():
    shape = dict(shape=(2,), type="int32", data=np.array([1, 12], np.int32))
    ok = build([_act((1, 3, 4)), shape, _act((1, 12))],
               [dict(code=OP.RESHAPE, inputs=[0, 1], outputs=[2])], [0], [2])
    assert load_tflite(ok).ops[0].inputs == [0, 1]
    bad = build([_act((1, 3, 4)), shape, _act((1, 13))],
                [dict(code=OP.RESHAPE, inputs=[0, 1], outputs=[2])], [0], [2])
    _error(bad, "op 0 (RESHAPE)", "12 elements", "13 elements")


def test_fc_dims():
    def fc(x, w, y, bias=None):
        ts = [_act(x), dict(shape=w, data=np.ones(w, np.int8), quant=_i8q()), _act(y)]
        ins = [0, 1, -1]
        if bias is not None:
            ts.append(dict(shape=(bias,), type="int32", data=np.zeros(bias, np.int32)))
            ins[2] = 3
        return build(ts, [dict(code=OP.FULLY_CONNECTED, inputs=ins, outputs=[2])], [0], [2])

    g = load_tflite(fc((2, 8), (3, 8), (2, 3)))
    assert g.ops[0].inputs == [0, 1, None]
    assert g.ops[0].attrs == {"activation": "NONE", "keep_num_dims": False}
    _error(fc((1, 7), (3, 8), (1, 3)), "op 0 (FULLY_CONNECTED)", "7 elements")
    _error(fc((1, 8), (3, 8), (1, 4)), "op 0 (FULLY_CONNECTED)", "3 units")
    _error(fc((1, 8), (3, 8), (1, 3), bias=4), "bias", "[3]")
    _error(fc((1, 8), (3, 2, 4), (1, 3)), "weights", "rank 2")


def test_order_cycle_and_unproduced_output():
    # op 0 reads tensor 1, which only op 1 writes
    cyc = build([_act((1, 4)), _act((1, 4)), _act((1, 4))],
                [dict(code=OP.RELU, inputs=[1], outputs=[2]), dict(code=OP.RELU, inputs=[0], outputs=[1])],
                [0], [2])
    _error(cyc, "op 0 (RELU)", "before any op writes it")
    unproduced = build([_act((1, 4)), _act((1, 4)), _act((1, 4))],
                       [dict(code=OP.RELU, inputs=[0], outputs=[1])], [0], [2])
    _error(unproduced, "graph output tensor 2", "never produced")
    twice = build([_act((1, 4)), _act((1, 4))],
                  [dict(code=OP.RELU, inputs=[0], outputs=[1]), dict(code=OP.RELU, inputs=[1], outputs=[1])],
                  [0], [1])
    _error(twice, "op 1 (RELU)", "already")


def test_no_ops_and_arity():
    _error(build([_act((1, 4))], [], [0], [0]), "no operators")
    _error(build([_act((1, 4)), _act((1, 4))], [dict(code=OP.ADD, inputs=[0], outputs=[1])], [0], [1]),
           "op 0 (ADD)", "1 inputs", "expected 2")
    _error(build([_act((1, 4)), _act((1, 4))], [dict(code=OP.RELU, inputs=[-1], outputs=[1])], [0], [1]),
           "op 0 (RELU)", "input 0 is absent")


def test_built_two_subgraphs():
    _error(build([_act((1, 4)), _act((1, 4))], [dict(code=OP.RELU, inputs=[0], outputs=[1])], [0], [1],
                 n_subgraphs=2), "2 subgraphs")


def test_transpose_and_pad_params():
    perm = dict(shape=(4,), type="int32", data=np.array([0, 3, 1, 2], np.int32))
    ok = build([_act((1, 2, 3, 4)), perm, _act((1, 4, 2, 3))],
               [dict(code=OP.TRANSPOSE, inputs=[0, 1], outputs=[2])], [0], [2])
    load_tflite(ok)
    badperm = dict(shape=(4,), type="int32", data=np.array([0, 3, 3, 2], np.int32))
    _error(build([_act((1, 2, 3, 4)), badperm, _act((1, 4, 2, 3))],
                 [dict(code=OP.TRANSPOSE, inputs=[0, 1], outputs=[2])], [0], [2]), "not a permutation")
    pads = dict(shape=(4, 2), type="int32", data=np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32))
    load_tflite(build([_act((1, 2, 3, 4)), pads, _act((1, 5, 4, 4))],
                      [dict(code=OP.PAD, inputs=[0, 1], outputs=[2])], [0], [2]))
    _error(build([_act((1, 2, 3, 4)), pads, _act((1, 5, 5, 4))],
                 [dict(code=OP.PAD, inputs=[0, 1], outputs=[2])], [0], [2]), "op 0 (PAD)", "[1, 5, 4, 4]")
    act_pads = dict(shape=(4, 2), type="int32")
    _error(build([_act((1, 2, 3, 4)), act_pads, _act((1, 5, 4, 4))],
                 [dict(code=OP.PAD, inputs=[0, 1], outputs=[2])], [0, 1], [2]), "parameter", "non-constant")


@pytest.mark.timeout(30)
def test_many_references_to_one_table_are_linear():
    """Tens of thousands of tensor entries sharing one table: loads quickly, or hits the cap."""
    import time

    spec = ([_act((1, 4)), _act((1, 4))], [dict(code=OP.RELU, inputs=[0], outputs=[1])], [0], [1])
    t0 = time.perf_counter()
    g = load_tflite(build(*spec, extra_tensor_refs=50_000))
    assert len(g.tensors) == 50_002
    assert time.perf_counter() - t0 < 5
    _error(build(*spec, extra_tensor_refs=100_000), "100002 tensors", "<= 100000")


@pytest.mark.parametrize("attrs, expect", [
    (dict(stride_h=0), "'stride_h' is 0"),
    (dict(dilation_w=-1), "'dilation_w' is -1"),
    (dict(padding="FULL"), "'padding' is 'FULL'"),
    (dict(stride_w=None), "'stride_w' is None"),
])
def test_validate_graph_rejects_bad_window_attrs_from_other_frontends(attrs, expect):
    """validate_graph also guards IR graphs that never went through the reader's option checks."""
    from tinycompiler.frontends.tflite.validate import validate_graph
    from tinycompiler.ir import Quant

    g = Graph.empty()
    q = Quant([0.1], [0])
    x = g.add_tensor("x", (1, 4, 4, 2), "int8", q).index
    w = g.add_tensor("w", (3, 1, 1, 2), "int8", q, np.ones((3, 1, 1, 2), np.int8)).index
    y = g.add_tensor("y", (1, 4, 4, 3), "int8", q).index
    base = dict(padding="VALID", stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, activation="NONE")
    g.add_op("CONV_2D", [x, w, None], [y], **base)
    g.inputs, g.outputs = [x], [y]
    validate_graph(g)
    g.ops[0].attrs.update(attrs)
    with pytest.raises(TinyCompilerError, match="op 0 \\(CONV_2D\\)") as e:
        validate_graph(g)
    assert expect in str(e.value)


def test_validate_graph_guards_structure_of_ir_graphs():
    """Bad indices, unknown kinds and missing attributes give TinyCompilerError, not KeyError."""
    from tinycompiler.frontends.tflite.validate import validate_graph
    from tinycompiler.ir import Quant

    def graph():
        g = Graph.empty()
        q = Quant([0.1], [0])
        x = g.add_tensor("x", (1, 4, 4, 2), "int8", q).index
        w = g.add_tensor("w", (1, 3, 3, 2), "int8", Quant([0.1, 0.1], [0, 0], 3),
                         np.ones((1, 3, 3, 2), np.int8)).index
        y = g.add_tensor("y", (1, 4, 4, 2), "int8", q).index
        g.add_op("DEPTHWISE_CONV_2D", [x, w, None], [y], padding="SAME", stride_h=1, stride_w=1,
                 dilation_h=1, dilation_w=1, depth_multiplier=1, activation="NONE")
        g.inputs, g.outputs = [x], [y]
        return g

    validate_graph(graph())
    g = graph()
    del g.ops[0].attrs["depth_multiplier"]
    with pytest.raises(TinyCompilerError, match="'depth_multiplier' is missing"):
        validate_graph(g)
    g = graph()
    g.ops[0].attrs["depth_multiplier"] = "2"
    with pytest.raises(TinyCompilerError, match="positive integer"):
        validate_graph(g)
    g = graph()
    g.ops[0].inputs[0] = 7
    with pytest.raises(TinyCompilerError, match="refers to tensor 7"):
        validate_graph(g)
    g = graph()
    g.ops[0].kind = "LSTM"
    with pytest.raises(TinyCompilerError, match="LSTM is not supported"):
        validate_graph(g)
    g = graph()
    g.ops[0].attrs["activation"] = "TANH"
    with pytest.raises(TinyCompilerError, match="activation 'TANH'"):
        validate_graph(g)
    g = graph()
    g.outputs = [9]
    with pytest.raises(TinyCompilerError, match="graph output 9"):
        validate_graph(g)
