"""``tinyc convert`` and ``load_model`` on .pt2 files; tinycompiler still imports without torch."""

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tinycompiler.cli import main  # noqa: E402
from tinycompiler.errors import TinyCompilerError  # noqa: E402
from tinycompiler.frontends import load_model  # noqa: E402
from tinycompiler.frontends.tflite import load_tflite  # noqa: E402
from tinycompiler.frontends.torch import quantize_input  # noqa: E402
from tinycompiler.oracle.tflm import run_tflm  # noqa: E402
from tinycompiler.reference import run as reference_run  # noqa: E402

torch.set_num_threads(1)


class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, 2, 1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.dw = torch.nn.Conv2d(8, 8, 3, 1, 1, groups=8)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        x = torch.nn.functional.relu6(self.bn(self.conv(x)))
        x = torch.nn.functional.hardswish(self.dw(x)) + x
        return self.fc(x.mean((2, 3)))


@pytest.fixture(scope="module")
def pt2(tmp_path_factory):
    d = tmp_path_factory.mktemp("pt2")
    torch.manual_seed(0)
    model = Small().eval()
    calib = np.random.default_rng(0).standard_normal((32, 3, 12, 12)).astype(np.float32)
    torch.export.save(torch.export.export(model, (torch.from_numpy(calib[:1]),)), str(d / "small.pt2"))
    np.save(d / "calib.npy", calib)
    return d / "small.pt2", d / "calib.npy", calib


@pytest.mark.parametrize("io", ["int8", "float"])
def test_convert_writes_a_model_tflm_runs(pt2, tmp_path, capsys, io):
    model, calib_path, calib = pt2
    out = tmp_path / "small.tflite"
    code = main(["convert", str(model), "--calib", str(calib_path), "-o", str(out), "--io", io,
                 "--calib-method", "percentile", "--json"])
    assert code == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["output"] == str(out) and last["io"] == io
    graph = load_tflite(out)  # read back through our own reader
    x = quantize_input(graph, calib[:1])
    tflm = run_tflm(out, [x]).outputs[0]
    assert tflm.shape == (1, 4)
    assert np.array_equal(reference_run(graph, [x])[graph.outputs[0]].reshape(tflm.shape), tflm)


def test_load_model_pt2_needs_calib(pt2):
    model, calib_path, calib = pt2
    with pytest.raises(TinyCompilerError, match="--calib"):
        load_model(model)
    graph = load_model(model, calib=calib_path)
    assert graph.tensors[graph.inputs[0]].shape == (1, 12, 12, 3)
    assert load_model(model, calib=calib, io="float").tensors[graph.inputs[0]].dtype == "float32"


def test_convert_errors_are_one_line(pt2, tmp_path, capsys):
    model, calib_path, _ = pt2
    bad = tmp_path / "calib.npy"
    np.save(bad, np.zeros((4, 3, 10, 10), np.float32))
    for args in (["convert", model, "-o", tmp_path / "a.tflite"],
                 ["convert", model, "--calib", bad, "-o", tmp_path / "a.tflite"],
                 ["convert", tmp_path / "missing.pt2", "--calib", calib_path, "-o", tmp_path / "a.tflite"]):
        assert main([str(a) for a in args]) == 1
        err = capsys.readouterr().err
        assert err.startswith("tinyc: error: ") and len(err.strip().splitlines()) == 1, err


def test_tinycompiler_imports_without_torch():
    """The torch frontend imports torch lazily: with torch unimportable, the package, the CLI
    parser and the .tflite path keep working and a .pt2 gives a clear error."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import tinycompiler, tinycompiler.frontends, tinycompiler.frontends.torch\n"
        "from tinycompiler.cli import build_parser; build_parser()\n"
        "from tinycompiler.errors import TinyCompilerError\n"
        "from tinycompiler.frontends.torch import convert\n"
        "try:\n    convert('x.pt2', [[0.0]])\nexcept TinyCompilerError as e:\n    print(e)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "needs torch" in res.stdout
