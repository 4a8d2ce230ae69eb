"""The model's float boundary: float inputs quantized as they are written, and ``--io int8``.

* a float32 input read by QUANTIZE is stored int8 only: the plan shrinks by the float bytes, and
  the generated ``model_input_write()`` quantizes values arriving in pieces of any size exactly as
  TFLM (host and emulated M4, against TFLM on the model file);
* ``--io int8`` drops a .tflite's QUANTIZE/DEQUANTIZE: int8 in and out, the scale and zero point in
  model.h and the plan JSON, and ``verify`` still runs TFLM on the original file (int8 tensors
  before its DEQUANTIZE compared);
* options that do not apply are refused in one line.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import model_path
from tinycompiler.cli import main
from tinycompiler.codegen import generate, plan_for_codegen
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends import load_model
from tinycompiler.oracle.tflm import run_tflm
from tinycompiler.passes import codegen_graph, int8_io
from tinycompiler.passes.boundary_io import source_inputs, stored_inputs
from tinycompiler.reference.quantize import affine_quantize
from tinycompiler.targets.host import HostTarget
from tinycompiler.tensor_io import check_inputs, random_inputs

VWW = "tinyengine_mcunet_vww"  # 1x80x80x3 float32 in, 1x2 float32 out


def test_float_input_is_stored_int8_and_the_plan_counts_only_that():
    graph = load_model(model_path(VWW))
    g = codegen_graph(graph)
    f32, q = graph.inputs[0], g.inputs[0]
    assert graph.tensors[f32].dtype == "float32" and g.tensors[q].dtype == "int8"
    assert g.written_inputs == {0: f32} and len(g.ops) < len(graph.ops)
    plan = plan_for_codegen(graph)
    assert f32 not in plan.tensor_offsets  # the float tensor has no bytes in the arena
    # the layer plan's peak sits later than the input now: below the old 96,000 B (float + int8 input)
    assert plan.arena_bytes < 96_000 - 76_800 + 19_200 + 60_000


def test_model_h_says_how_the_input_is_written(tmp_path):
    graph = load_model(model_path(VWW))
    bundle = generate(graph, tmp_path / "b")
    h = (tmp_path / "b" / "model.h").read_text()
    assert "#define MODEL_INPUT0_WRITTEN 1" in h
    assert "#define MODEL_INPUT0_WRITE_BYTES 76800u" in h and "#define MODEL_INPUT0_BYTES 19200u" in h
    assert "#define MODEL_INPUT_WRITE_TOTAL_BYTES 76800u" in h
    assert bundle.program.inputs[0].written and bundle.program.inputs[0].write_ctype == "float"


@pytest.mark.parametrize("seed", [0, 1])
def test_quantize_on_write_is_tflm_exact_on_the_host(seed):
    """host_main feeds 250-byte pieces: floats straddle the writes. Edge values included."""
    graph = load_model(model_path(VWW))
    x = random_inputs(graph, seed)
    flat = x[0].reshape(-1)
    q = graph.consumers(graph.inputs[0])[0].output(graph).quant
    flat[:6] = [0.5 * q.s, -0.5 * q.s, 1e30, -1e30, np.nan, 127.5 * q.s]  # ties, saturation, NaN
    tflm = run_tflm(model_path(VWW), x)
    got = HostTarget(sanitize=True).run(graph, x).outputs[0]
    assert np.array_equal(got, tflm.outputs[0])
    stored = stored_inputs(graph, x)[0]
    assert stored.dtype == np.int8 and np.array_equal(stored, affine_quantize(x[0], q.s, q.zp, "int8"))


def test_int8_io_drops_the_boundary_and_keeps_the_source_mapping():
    graph = load_model(model_path(VWW))
    g = int8_io(graph)
    assert [graph.tensors[t].dtype for t in g.inputs + g.outputs] == ["int8", "int8"]
    assert g.source_io == {"inputs": {0: graph.inputs[0]}, "outputs": {0: graph.outputs[0]}}
    assert {op.kind for op in graph.ops} - {op.kind for op in g.ops} == {"QUANTIZE", "DEQUANTIZE"}
    # the int8 input given as float is quantized as TFLM's QUANTIZE does; as int8 it passes
    xf = random_inputs(graph, 3)
    q = check_inputs(g, xf)[0]
    assert q.dtype == np.int8
    tf = source_inputs(g, [q])[0]  # back to float for TFLM: its QUANTIZE gives exactly q again
    assert tf.dtype == np.float32 and tf.shape == xf[0].shape
    assert np.array_equal(affine_quantize(tf, g.tensors[g.inputs[0]].quant.s, g.tensors[g.inputs[0]].quant.zp,
                                          "int8").reshape(q.shape), q)


@pytest.mark.parametrize("board", ["reference", "host"])
def test_verify_io_int8_compares_with_tflm_on_the_model_file(board, capsys):
    assert main(["verify", str(model_path(VWW)), "--io", "int8", "--board", board, "--samples", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["bit_exact"] == 2


def test_plan_json_and_model_h_carry_the_int8_io(tmp_path, capsys):
    assert main(["plan", str(model_path(VWW)), "--io", "int8", "--json"]) == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    io = d["io"]
    assert io["inputs"][0]["dtype"] == "int8" and io["inputs"][0]["from_float"]
    assert io["outputs"][0]["dtype"] == "int8" and io["outputs"][0]["from_float"]
    graph = int8_io(load_model(model_path(VWW)))
    q = graph.tensors[graph.inputs[0]].quant
    assert io["inputs"][0]["scale"] == pytest.approx(q.s) and io["inputs"][0]["zero_point"] == q.zp
    out = tmp_path / "proj"
    assert main(["compile", str(model_path(VWW)), "--io", "int8", "-o", str(out)]) == 0
    h = next(out.rglob("model.h")).read_text()
    assert "MODEL_INPUT0_WRITTEN" not in h and "int8_t[1, 80, 80, 3]" in h and f"#define MODEL_INPUT0_ZERO_POINT {q.zp}" in h


def test_options_that_do_not_apply_are_refused(capsys):
    tfl = str(model_path("mlperftiny_kws_dscnn_int8"))  # int8 I/O
    assert main(["plan", tfl, "--calib", "x.npy"]) != 0
    assert "--calib only apply to a .pt2" in capsys.readouterr().err
    assert main(["plan", tfl, "--io", "float"]) != 0
    assert "does not add a float boundary" in capsys.readouterr().err
    assert main(["plan", tfl, "--io", "int8"]) == 0  # already int8: nothing to drop


def test_int8_io_refuses_a_float_input_without_its_quantize():
    from tinycompiler.ir.graph import Graph

    g = Graph.empty()
    x = g.add_tensor("x", (1, 4), "float32")
    y = g.add_tensor("y", (1, 4), "float32")
    g.add_op("RELU", [x.index], [y.index])
    g.inputs, g.outputs = [x.index], [y.index]
    with pytest.raises(TinyCompilerError, match="input 0 .* is float32 but not a lone QUANTIZE"):
        int8_io(g)


def test_run_and_bench_take_io_int8_on_the_emulated_m4(capsys):
    """int8 in, int8 out on the device: the same int8 scores TFLM's tensor before its DEQUANTIZE holds."""
    graph = int8_io(load_model(model_path(VWW)))
    x = random_inputs(graph, 0)
    want = run_tflm(model_path(VWW), source_inputs(graph, x)).tensors[graph.outputs[0]]
    assert main(["run", str(model_path(VWW)), "--io", "int8", "--board", "mps2-an386", "--json"]) == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    got = np.array(d["outputs"][0]["values"] if isinstance(d["outputs"][0], dict) else d["outputs"][0])
    assert np.array_equal(got.reshape(-1), want.reshape(-1).astype(got.dtype))
    assert main(["bench", str(model_path(VWW)), "--io", "int8", "--board", "mps2-an386", "--json"]) == 0
    b = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert b["arena_bytes"] == plan_for_codegen(graph).arena_bytes


def test_eval_io_int8_agrees_with_tflm_on_the_model_file(tmp_path, capsys):
    """eval --io int8: float images in the data set are quantized as the dropped QUANTIZE would; the
    int8 scores are compared with TFLM's float scores through the dropped DEQUANTIZE (one to one)."""
    graph = load_model(model_path(VWW))
    x = np.stack([random_inputs(graph, s)[0][0] for s in range(4)])
    data = tmp_path / "set.npz"
    np.savez(data, x=x, y=np.array([0, 1, 0, 1]))
    assert main(["eval", str(model_path(VWW)), "--io", "int8", "--board", "mps2-an386", "--data", str(data),
                 "--jobs", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert d["bit_exact"] == d["samples"] == 4 and d["top1"] == d["top1_tflm"]
