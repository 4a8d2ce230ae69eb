"""Converted PyTorch models on the emulated Cortex-M4 board: the firmware's outputs equal TFLM's.

The same six test networks as tests/test_torch_frontend.py (squeeze-excite, hardswish, 7x7
depthwise with stride 2, residuals, pools, grouped convs, reshapes), built into firmware for
mps2-an386 and driven over the serial harness.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_torch_frontend import MODELS, _model  # noqa: E402

from tinycompiler.frontends.tflite import write_tflite  # noqa: E402
from tinycompiler.frontends.torch import convert, quantize_input  # noqa: E402
from tinycompiler.oracle.tflm import run_tflm  # noqa: E402
from tinycompiler.targets.board import BoardTarget  # noqa: E402


@pytest.mark.parametrize("name", sorted(MODELS))
def test_converted_model_is_bit_exact_on_mps2_an386(name):
    torch.set_num_threads(1)
    model, calib, test, _ = _model(name)
    graph = convert(model, calib)
    buf = write_tflite(graph)
    board = BoardTarget("mps2-an386")
    try:
        for i in range(2):
            x = quantize_input(graph, test[i:i + 1])
            expected = run_tflm(buf, [x], preserve_all=False).outputs[0]
            result = board.run(graph, [x])
            assert np.array_equal(result.outputs[0].reshape(expected.shape), expected), f"{name} input {i}"
            assert result.metrics["instructions"] > 0
    finally:
        board.close()
