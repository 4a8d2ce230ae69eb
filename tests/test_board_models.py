"""Every bundled model on emulated Cortex-M4 (mps2-an386, and the STM32F405 of netduinoplus2 with
its real 128 KB + 64 KB memory map), Cortex-M7 (mps2-an500), Cortex-M33 (mps2-an505) and Cortex-M55
(mps3-an547: scalar and DSP kernels; Helium is issue #15), bit-exact
with TFLM through the serial harness: firmware built with PlatformIO, booted in QEMU, inputs uploaded and
outputs read back over the binary protocol (one QEMU session per model and board)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import MODEL_FILES
from tinycompiler.boards.ram_layout import STACK_BYTES, static_bytes
from tinycompiler.frontends import load_model
from tinycompiler.oracle.tflm import run_tflm_many_isolated
from tinycompiler.targets.board import BoardTarget
from tinycompiler.tensor_io import random_inputs

pytestmark = [pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (make toolchain)")]


BOARDS = ["mps2-an386", "netduinoplus2", "mps2-an500", "mps2-an505", "mps3-an547"]


@pytest.mark.parametrize("board", BOARDS)
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
            # all the RAM, measured: static data beside the arena within the fit check's estimate (and
            # at most 4 KB), the stack's high-water mark well inside its reservation
            ram, layers = m["ram"], len(m["layers"])
            assert ram["arena_bytes"] == target._firmware.bundle.program.arena_bytes
            assert 0 < ram["static_bytes"] <= min(static_bytes(layers), 4096), ram
            assert 0 < ram["stack_peak_bytes"] <= STACK_BYTES // 2, ram
            assert ram["used_bytes"] == ram["data_bss_bytes"] + ram["stack_peak_bytes"]
            assert ram["data_bss_bytes"] - ram["static_bytes"] >= ram["arena_bytes"]
    finally:
        target.close()


@pytest.mark.parametrize("model", MODEL_FILES, ids=[m.stem for m in MODEL_FILES])
def test_f405_counts_the_same_instructions_as_the_mps2_m4(model):
    """The same kernels built for the same core execute the same instructions whatever the chip:
    the STM32F405 port's counts (TIM2 under QEMU) equal the MPS2 AN386's (CMSDK timer0) up to the
    instructions by which the two ports' tick reads differ: exactly that, on every model and layer."""
    graph = load_model(model)
    inputs = random_inputs(graph, 1)
    counts = {}
    for board in ("mps2-an386", "netduinoplus2"):
        target = BoardTarget(board, debug=True)  # the builds of the test above
        try:
            m = target.run(graph, inputs).metrics
        finally:
            target.close()
        counts[board] = (m["instructions"], [layer["instructions"] for layer in m["layers"]])
    (mps2, mps2_layers), (f405, f405_layers) = counts["mps2-an386"], counts["netduinoplus2"]
    # a layer's window holds one tick read; the whole inference's, the two hooks' reads of every
    # layer plus its own closing read
    assert {b - a for a, b in zip(mps2_layers, f405_layers)} == {F405_TICK_READ_EXTRA}
    assert f405 - mps2 == F405_TICK_READ_EXTRA * (2 * len(mps2_layers) + 1)


#: instructions the STM32F405 port's tick read adds (its DWT-or-TIM2 choice: a load and a branch)
F405_TICK_READ_EXTRA = 2
