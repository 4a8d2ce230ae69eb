"""The tinyc command line: one-line errors, exit codes, JSON last line, files in and out."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import model_path
from tinycompiler.cli import main
from tinycompiler.oracle.tflm import run_tflm


def tinyc(*args):
    """Run the real console entry in a child process: (exit code, stdout, stderr)."""
    res = subprocess.run([sys.executable, "-m", "tinycompiler.cli", *map(str, args)], capture_output=True, text=True,
                         timeout=300)
    return res.returncode, res.stdout, res.stderr


def test_unsupported_file_is_one_line_error(tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(model_path("tflm_hello_world_int8").read_bytes()[:300])
    code, out, err = tinyc("inspect", bad)
    assert code == 1
    assert err.startswith("tinyc: error: ")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_missing_model_and_unknown_board(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope.tflite")]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["run", str(model_path("tflm_hello_world_int8")), "--board", "nosuchboard"]) == 1
    err = capsys.readouterr().err
    assert "unknown board 'nosuchboard'" in err and "reference" in err


def test_inspect_json_totals(capsys):
    assert main(["inspect", str(model_path("mlperftiny_kws_dscnn_int8")), "--json"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["macs"] == 2_656_768
    assert last["weight_bytes"] == 24_376
    assert len(last["layers"]) == 13


@pytest.mark.parametrize("board", ["reference", "host"])
def test_run_writes_tflm_exact_outputs(tmp_path, capsys, board):
    model = model_path("mlperftiny_kws_dscnn_int8")
    x = np.random.default_rng(3).integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "in.npy", x)
    code = main(["run", str(model), "--board", board, "--input", str(tmp_path / "in.npy"),
                 "--output", str(tmp_path / "out.npz"), "--json"])
    assert code == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    expected = run_tflm(model, [x], preserve_all=False).outputs[0]
    got = np.load(tmp_path / "out.npz")["output_0"]
    assert got.dtype == np.int8 and np.array_equal(got, expected)
    assert last["outputs"] == [expected.tolist()]


def test_run_rejects_wrong_input_dtype(tmp_path, capsys):
    np.save(tmp_path / "in.npy", np.zeros((1, 49, 10, 1), np.float32))
    code = main(["run", str(model_path("mlperftiny_kws_dscnn_int8")), "--input", str(tmp_path / "in.npy")])
    assert code == 1
    assert "dtype float32" in capsys.readouterr().err


def test_verify_reference_exits_zero_when_exact(capsys):
    code = main(["verify", str(model_path("tflm_micro_speech_int8")), "--samples", "2", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    last = json.loads(out.strip().splitlines()[-1])
    assert last["bit_exact"] == 2 and last["mismatches"] == []


def test_verify_detects_a_difference(capsys, monkeypatch):
    # a target that flips one output byte must fail verification with a non-zero exit
    from tinycompiler import targets
    from tinycompiler.targets.reference import ReferenceTarget

    class Broken(ReferenceTarget):
        def run(self, graph, inputs):
            res = super().run(graph, inputs)
            out = res.outputs[0].copy()
            out.reshape(-1)[0] ^= 1
            res.outputs[0] = out
            res.tensors = {}
            return res

    monkeypatch.setattr(targets, "_targets", lambda: {"reference": Broken})
    code = main(["verify", str(model_path("tflm_hello_world_int8")), "--samples", "1"])
    assert code == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_compile_writes_a_bundle(tmp_path, capsys):
    assert main(["compile", str(model_path("tflm_hello_world_int8")), "--board", "host", "-o", str(tmp_path / "b")]) == 0
    names = {p.name for p in (tmp_path / "b").iterdir()}
    assert {"model.h", "model.c", "weights.c"} <= names
    assert any(n.startswith("tc_fully_connected") and n.endswith(".c") for n in names)  # the FC kernel it uses
    # self-contained: every source compiles with nothing but the bundle on the include path
    sources = sorted(str(tmp_path / "b" / n) for n in names if n.endswith(".c"))
    res = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-c", "-I", str(tmp_path / "b"), *sources],
                         cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
