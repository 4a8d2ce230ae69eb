"""Per-layer statistics: MACs and weight bytes match the bundled models, and the table."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import MODEL_FILES, model_path
from tinycompiler.analysis import analyze, format_inspect, op_activation_bytes, op_macs, op_weight_bytes
from tinycompiler.frontends.tflite import load_tflite
from tinycompiler.ir import Graph, Quant

#: MACs and weight bytes from examples/models (see its NOTICE)
README = {
    "mlperftiny_kws_dscnn_int8": (2_656_768, 24_376),
    "mlperftiny_ic_resnet8_cifar10_int8": (12_501_632, 78_752),
    "tflm_person_detect_mobilenetv1_96_int8": (7_157_888, 218_928),
    "tflm_micro_speech_int8": (336_000, 16_704),
    "tflm_hello_world_int8": (288, 420),
    "tinyengine_mcunet_vww": (11_578_816, 445_128),
    "keras_mobilenetv2_a0.35_64_int8": (4_747_968, 423_056),
}


@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.stem for p in MODEL_FILES])
def test_totals_match_readme(path):
    g = load_tflite(path)
    st = analyze(g)
    macs, weights = README[path.stem]
    assert st.macs == macs
    assert st.weight_bytes == weights
    assert len(st.layers) == len(g.ops)
    assert sum(r.macs for r in st.layers) == macs
    assert st.peak_activation_bytes == max(r.activation_bytes for r in st.layers)
    text = format_inspect(g)
    assert f"{macs:,}" in text and f"{weights:,}" in text
    for op in g.ops:
        assert op.kind in text


def test_kws_activation_peak_matches_readme():
    st = analyze(load_tflite(model_path("mlperftiny_kws_dscnn_int8")))
    # README: TFLM plans 16,000 B of activations; the largest layer needs exactly that
    assert st.peak_activation_bytes == 16_000


def _q(scale=0.1, zp=0):
    return Quant(np.array([scale]), np.array([zp]))


def _graph():
    g = Graph.empty("synthetic")
    x = g.add_tensor("x", (1, 8, 8, 4), "int8", _q())
    w = g.add_tensor("w", (6, 3, 3, 2), "int8", _q(), np.ones((6, 3, 3, 2), np.int8))  # 2 groups
    b = g.add_tensor("b", (6,), "int32", None, np.zeros(6, np.int32))
    y = g.add_tensor("y", (1, 4, 4, 6), "int8", _q(0.2, -3))
    dw = g.add_tensor("dw", (1, 3, 3, 12), "int8", _q(), np.ones((1, 3, 3, 12), np.int8))
    z = g.add_tensor("z", (1, 4, 4, 12), "int8", _q())
    fw = g.add_tensor("fw", (5, 96), "int8", _q(), np.ones((5, 96), np.int8))
    o = g.add_tensor("o", (2, 5), "int8", _q())
    s = g.add_tensor("s", (2, 5), "int8", _q(1 / 256, -128))
    g.add_op("CONV_2D", [x.index, w.index, b.index], [y.index], padding="SAME", stride_h=2,
             stride_w=2, dilation_h=1, dilation_w=1, activation="NONE")
    g.add_op("DEPTHWISE_CONV_2D", [y.index, dw.index, None], [z.index], padding="SAME", stride_h=1,
             stride_w=1, dilation_h=1, dilation_w=1, depth_multiplier=2, activation="RELU")
    g.add_op("FULLY_CONNECTED", [z.index, fw.index, None], [o.index], activation="NONE", keep_num_dims=False)
    g.add_op("SOFTMAX", [o.index], [s.index], beta=1.0)
    g.inputs, g.outputs = [x.index], [s.index]
    return g


def test_definitions_on_a_synthetic_graph():
    g = _graph()
    conv, dw, fc, sm = g.ops
    assert op_macs(g, conv) == 4 * 4 * 6 * 3 * 3 * 2  # in_c per group = 2
    assert op_macs(g, dw) == 4 * 4 * 12 * 3 * 3
    assert op_macs(g, fc) == 2 * 5 * 96  # 192 elements = 2 rows of 96
    assert op_macs(g, sm) == 0
    assert op_weight_bytes(g, conv) == 6 * 9 * 2 + 6 * 4
    assert op_weight_bytes(g, dw) == 108
    assert op_weight_bytes(g, sm) == 0
    assert op_activation_bytes(g, conv) == 256 + 96
    assert op_activation_bytes(g, sm) == 20
    st = analyze(g)
    assert st.macs == sum(op_macs(g, op) for op in g.ops)
    assert st.weight_bytes == 108 + 24 + 108 + 480
    assert st.op_counts == {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1}
    assert st.layers[0].quant == "s=0.2 zp=-3; w s=0.1 zp=0"


def test_shared_constant_counted_once():
    g = Graph.empty()
    x = g.add_tensor("x", (1, 4), "int8", _q())
    w = g.add_tensor("w", (4, 4), "int8", _q(), np.ones((4, 4), np.int8))
    y = g.add_tensor("y", (1, 4), "int8", _q())
    z = g.add_tensor("z", (1, 4), "int8", _q())
    g.add_op("FULLY_CONNECTED", [x.index, w.index, None], [y.index], activation="NONE", keep_num_dims=False)
    g.add_op("FULLY_CONNECTED", [y.index, w.index, None], [z.index], activation="NONE", keep_num_dims=False)
    g.inputs, g.outputs = [0], [3]
    st = analyze(g)
    assert [r.weight_bytes for r in st.layers] == [16, 16]
    assert st.weight_bytes == 16


def test_format_inspect_layout():
    text = format_inspect(_graph())
    lines = text.splitlines()
    assert lines[0].startswith("model: synthetic")
    assert any(line.startswith("input  0: 1x8x8x4 int8") for line in lines)
    assert "ops: 4  (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, SOFTMAX)" in text
    header = next(line for line in lines if line.lstrip().startswith("#"))
    for col in ("op", "output", "MACs", "weights B", "act B", "quantization"):
        assert col in header
    row = next(line for line in lines if "DEPTHWISE_CONV_2D" in line and "x" in line.split()[2])
    assert "1x4x4x12" in row and "1,728" in row
    assert "total" in text and "largest layer activations" in text
    widths = {len(line) for line in lines if line and set(line) <= {"-", " "}}
    assert len(widths) == 1  # both rules are the same width
