"""The device commands of the CLI on QEMU boards: run --json fields, bench, eval (top-1 = TFLM's)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import data_path, model_path
from tinycompiler.cli import main
from tinycompiler.oracle.tflm import run_tflm

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (make toolchain)")


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_run_json_has_device_measurements(tmp_path, capsys):
    model = model_path("mlperftiny_kws_dscnn_int8")
    x = np.random.default_rng(5).integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "in.npy", x)
    assert main(["run", str(model), "--board", "mps2-an386", "--input", str(tmp_path / "in.npy"), "--json"]) == 0
    out = last_json(capsys)
    assert out["outputs"] == [run_tflm(model, [x], preserve_all=False).outputs[0].tolist()]
    # KWS is 2,656,768 MACs: SMLAD does two per instruction at best, and we must never fall to half
    # TFLM+CMSIS-NN's speed (7,697,899 instructions)
    assert isinstance(out["instructions"], int) and 2_656_768 // 2 < out["instructions"] < 2 * 7_697_899
    assert "cycles" not in out  # QEMU counts instructions, never cycles
    assert 8_000 <= out["arena_bytes"] <= 16_000
    assert 24_376 < out["flash_bytes"] < 200_000  # the weights plus kernels and harness
    assert out["ram_bytes"] >= out["arena_bytes"]
    assert out["elf"].endswith("firmware.elf")
    assert len(out["layers"]) == 12 and all(layer["instructions"] > 0 for layer in out["layers"])


def test_run_opt_os_is_exact_and_smaller(tmp_path, capsys):
    """--opt Os (size over speed): the same TFLM bytes, less flash, more instructions; built apart
    from the O2 firmware (the cache key holds the optimization)."""
    model = model_path("tflm_micro_speech_int8")
    x = np.random.default_rng(11).integers(-128, 128, (1, 1960), dtype=np.int8)
    np.save(tmp_path / "in.npy", x)
    want = run_tflm(model, [x], preserve_all=False).outputs[0].tolist()
    got = {}
    for opt in ("O2", "Os"):
        assert main(["run", str(model), "--board", "mps2-an386", "--input", str(tmp_path / "in.npy"),
                     "--opt", opt, "--json"]) == 0
        got[opt] = last_json(capsys)
        assert got[opt]["outputs"] == [want]
    assert got["Os"]["elf"] != got["O2"]["elf"]
    assert got["Os"]["flash_bytes"] < got["O2"]["flash_bytes"]
    assert got["Os"]["instructions"] > got["O2"]["instructions"]


def test_bench_json_macs_per_instruction(capsys):
    model = model_path("mlperftiny_kws_dscnn_int8")
    assert main(["bench", str(model), "--board", "mps2-an500", "--json"]) == 0
    out = last_json(capsys)
    assert out["unit"] == "instructions" and out["macs"] == 2_656_768
    assert out["macs_per_instruction"] == pytest.approx(out["macs"] / out["total"])
    convs = [r for r in out["layers"] if r["kernel"] == "conv2d"]
    assert convs and all(r["macs_per_instruction"] > 0 for r in convs)


def test_run_through_port_of_flashed_emulator(capsys):
    """`tinyc run --port` talks to a device someone else started, and refuses another model's firmware."""
    from tinycompiler.boards import load_board
    from tinycompiler.boards.qemu import start
    from tinycompiler.frontends import load_model
    from tinycompiler.harness.firmware import build_firmware

    board = load_board("mps2-an386")
    fw = build_firmware(load_model(model_path("tflm_hello_world_int8")), board)
    with start(board, fw.elf, serial="tcp") as session:
        assert main(["run", str(model_path("tflm_hello_world_int8")), "--board", "mps2-an386", "--port",
                     session.url, "--json"]) == 0
        assert last_json(capsys)["instructions"] > 0
    with start(board, fw.elf, serial="tcp") as session:
        assert main(["run", str(model_path("tflm_micro_speech_int8")), "--board", "mps2-an386", "--port",
                     session.url]) == 1
        assert "runs model 'tflm_hello_world_int8'" in capsys.readouterr().err


def test_eval_digits_matches_tflm_top1(capsys):
    """360 digits, their inputs preloaded into the emulator's PSRAM (~10 s; over the serial link
    they took ~3.5 min)."""
    model = model_path("keras_mobilenetv2_a0.35_64_int8")
    data = data_path("digits_64_test.npz")
    assert main(["eval", str(model), "--board", "mps2-an386", "--data", str(data), "--json"]) == 0
    out = last_json(capsys)
    assert out["samples"] == 360 and out["bit_exact"] == 360 and out["same_top1"] == 360
    assert round(100 * out["top1"], 1) == 93.9 == round(100 * out["top1_tflm"], 1)
