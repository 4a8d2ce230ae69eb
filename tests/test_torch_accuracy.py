"""The MCUNet-style digits example (examples/mcunet_digits): trained here in seconds on the CPU,
quantized from its .pt2 with calibration data, its int8 test accuracy stays within 1.5 points of
the float model's on the fixed test split, and the converted model is bit-exact across TFLM, the
numpy reference and the generated C."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "mcunet_digits"))
import mcunet_digits  # noqa: E402

from tinycompiler.frontends.tflite.writer import write_tflite  # noqa: E402
from tinycompiler.frontends.torch import convert, quantize_input  # noqa: E402
from tinycompiler.oracle.tflm import run_tflm  # noqa: E402
from tinycompiler.reference import run as reference_run  # noqa: E402
from tinycompiler.targets.host import HostTarget  # noqa: E402

#: fewer epochs than the example's default keep this test fast; accuracy is still ~97 %
EPOCHS = 6


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    tx, ty, vx, vy = mcunet_digits.load_digits_split()
    model = mcunet_digits.train(mcunet_digits.build_model(), tx, ty, epochs=EPOCHS)
    path = tmp_path_factory.mktemp("digits") / "model.pt2"
    torch.export.save(torch.export.export(model, (torch.from_numpy(vx[:1]),)), str(path))
    graph = convert(path, tx[:256])
    return model, graph, (vx, vy)


def test_int8_accuracy_within_1_5_points_of_float(trained):
    model, graph, (vx, vy) = trained
    assert len(vy) == 450
    fa = mcunet_digits.float_accuracy(model, vx, vy)
    qa = mcunet_digits.int8_accuracy(graph, vx, vy)
    print(f"float {fa:.2f} %, int8 {qa:.2f} %")
    assert fa > 90.0
    assert abs(fa - qa) <= 1.5


def test_digits_model_is_mcunet_style_and_bit_exact(trained):
    _, graph, (vx, _) = trained
    kinds = {op.kind for op in graph.ops}
    assert {"DEPTHWISE_CONV_2D", "HARD_SWISH", "MUL", "ADD", "MEAN", "FULLY_CONNECTED"} <= kinds
    assert not kinds & {"TRANSPOSE", "RELU6", "QUANTIZE"}
    buf = write_tflite(graph)
    host = HostTarget()
    for i in range(4):
        x = quantize_input(graph, vx[i:i + 1])
        tflm = run_tflm(buf, [x]).outputs[0]
        assert np.array_equal(reference_run(graph, [x])[graph.outputs[0]].reshape(tflm.shape), tflm)
        assert np.array_equal(host.run(graph, [x]).outputs[0].reshape(tflm.shape), tflm)
