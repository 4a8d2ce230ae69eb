"""Every bundled model on emulated Cortex-M4 (mps2-an386), Cortex-M7 (mps2-an500) and Cortex-M33 (mps2-an505), bit-exact with
TFLM through the serial harness: firmware built with PlatformIO, booted in QEMU, inputs uploaded and
outputs read back over the binary protocol (one QEMU session per model and board)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import MODEL_FILES
from tinycompiler.frontends import load_model
from tinycompiler.oracle.tflm import run_tflm_many_isolated
from tinycompiler.targets.board import BoardTarget
from tinycompiler.tensor_io import random_inputs

pytestmark = [pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (make toolchain)")]


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an500", "mps2-an505"])
@pytest.mark.parametrize("model", MODEL_FILES, ids=[m.stem for m in MODEL_FILES])
def test_model_bit_exact_on_device(model, board):
    graph = load_model(model)
    samples = [random_inputs(graph, seed) for seed in (1, 2)]
    expected = run_tflm_many_isolated(model.read_bytes(), samples, preserve_all=False)
    target = BoardTarget(board, debug=True)  # debug: the device checks the arena guard bytes
    try:
        for inputs, tflm in zip(samples, expected):
            result = target.run(graph, inputs)
            for ours, theirs in zip(result.outputs, tflm.outputs):
                assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs.reshape(ours.shape))
            m = result.metrics
            assert m["arena_guard"] == "intact"
            assert m["instructions"] > 0 and len(m["layers"]) == len(target._firmware.bundle.program.calls)
            # the per-layer counts account for the whole inference but the hooks' own few instructions
            assert 0 <= m["instructions"] - sum(layer["instructions"] for layer in m["layers"]) < 60 * len(m["layers"]) + 500
    finally:
        target.close()
