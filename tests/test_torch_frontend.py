"""PyTorch frontend: torch models built here, quantized with calibration data, then checked
against three independent oracles: TFLM runs the written .tflite, the numpy reference is
bit-exact with it on every tensor, the generated C on the host is bit-exact on the outputs, and
the int8 outputs stay within a few output quantization steps of the float model."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from tinycompiler.errors import TinyCompilerError  # noqa: E402
from tinycompiler.frontends.tflite.writer import write_tflite  # noqa: E402
from tinycompiler.frontends.torch import convert, dequantize_output, float_graph, quantize_input  # noqa: E402
from tinycompiler.frontends.torch.calibrate import BINS, _mse_range, _percentile_range  # noqa: E402
from tinycompiler.frontends.torch.execute import run_float  # noqa: E402
from tinycompiler.oracle.tflm import run_tflm  # noqa: E402
from tinycompiler.reference import run as reference_run  # noqa: E402
from tinycompiler.targets.host import HostTarget  # noqa: E402

torch.set_num_threads(1)


# ------------------------------------------------------------------------------------------------
# models


def _bn(c):
    """A BatchNorm2d with non-trivial running statistics (so folding is really exercised)."""
    bn = nn.BatchNorm2d(c)
    g = torch.Generator().manual_seed(c)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.3, 0.3, generator=g)
        bn.running_var.uniform_(0.5, 2.0, generator=g)
        bn.weight.uniform_(0.5, 1.5, generator=g)
        bn.bias.uniform_(-0.2, 0.2, generator=g)
    return bn


class SqueezeExcite(nn.Module):
    def __init__(self, c, gate):
        super().__init__()
        self.reduce = nn.Conv2d(c, 4, 1)
        self.expand = nn.Conv2d(4, c, 1)
        self.gate = gate

    def forward(self, x):
        w = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.expand(torch.relu(self.reduce(w))))


class SEHardswish(nn.Module):
    """Stem conv+BN+ReLU6, 5x5 depthwise, hardswish, squeeze-excite (hardsigmoid), residual add."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), _bn(8), nn.ReLU6())
        self.dw = nn.Sequential(nn.Conv2d(8, 8, 5, 1, 2, groups=8, bias=False), _bn(8), nn.Hardswish())
        self.se = SqueezeExcite(8, nn.Hardsigmoid())
        self.project = nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), _bn(8))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.project(self.se(self.dw(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class Depthwise7Stride2(nn.Module):
    """7x7 depthwise stride 2 on an even input (explicit PAD), 3x3 stride 2 on an odd one (SAME),
    a depth multiplier of 2, sigmoid squeeze-excite, and a 4-D output."""

    def __init__(self):
        super().__init__()
        self.dw7 = nn.Conv2d(4, 4, 7, 2, 3, groups=4)
        self.pw = nn.Conv2d(4, 6, 1)
        self.dw3 = nn.Conv2d(6, 12, 3, 2, 1, groups=6)
        self.se = SqueezeExcite(12, nn.Sigmoid())

    def forward(self, x):
        x = torch.relu(self.dw7(x))
        x = nn.functional.relu6(self.pw(x))
        return self.se(self.dw3(x))


class PoolsFlattenLinear(nn.Module):
    """MaxPool2d, AvgPool2d (padded, count_include_pad), flatten of a 3x3x8 map into Linear
    (weight columns permuted at compile time), ReLU, Linear, softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 8, 3, 1, 1)
        self.mp = nn.MaxPool2d(2)
        self.ap = nn.AvgPool2d(3, 2, 1)
        self.fc1 = nn.Linear(8 * 3 * 3, 16)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        x = self.ap(self.mp(torch.relu(self.conv(x))))
        x = torch.relu(self.fc1(x.flatten(1)))
        return torch.softmax(self.fc2(x), dim=1)


class ConcatBranches(nn.Module):
    """Two branches of different ranges concatenated on channels, a grouped conv (block-diagonal),
    a standalone BatchNorm (a depthwise 1x1), standalone ReLU6 after a pool, and a hardsigmoid that
    follows an add (ADD + MUL, not folded)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, 1, 1)
        self.b = nn.Conv2d(3, 6, 1)
        self.grouped = nn.Conv2d(10, 8, 3, 1, 1, groups=2)
        self.bn = _bn(8)
        self.mp = nn.MaxPool2d(3, 1, 1)
        self.out = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        y = torch.cat([torch.relu(self.a(x)), 3.0 * self.b(x)], dim=1)
        y = self.bn(self.mp(self.grouped(y)))
        y = nn.functional.relu6(self.mp(y))
        return nn.functional.hardsigmoid(self.out(y) + 0.5)


class TinyMLP(nn.Module):
    """A rank-2 model: Linear, BatchNorm1d (folded), ReLU, Linear, scalar arithmetic."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 20)
        self.bn = nn.BatchNorm1d(20)
        self.fc2 = nn.Linear(20, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x)))) / 2.0 - 1.0


class Reshapes(nn.Module):
    """Reshapes that depend on the NCHW order: a flatten read by a Linear (weights permuted) and
    by a concat (TRANSPOSE back to CHW order), an unflatten to a 4-D map, elementwise on it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.fc = nn.Linear(27, 18)

    def forward(self, x):
        y = self.conv(x).flatten(1)
        z = self.fc(y).view(-1, 2, 3, 3)
        return torch.cat([y, (z * 2.0).flatten(1)], 1)


#: name -> (model factory, input shape, tolerance in output quantization steps)
MODELS = {
    "se_hardswish_residual": (SEHardswish, (3, 16, 16), 3),
    "depthwise7_stride2_sigmoid_se": (Depthwise7Stride2, (4, 14, 14), 3),
    "pools_flatten_linear_softmax": (PoolsFlattenLinear, (2, 12, 12), 3),
    "concat_grouped_bn_hardsigmoid": (ConcatBranches, (3, 10, 10), 3),
    "mlp": (TinyMLP, (12,), 3),
    "reshapes_with_transposes": (Reshapes, (2, 3, 3), 3),
}


def _model(name):
    factory, shape, tol = MODELS[name]
    torch.manual_seed(0)
    model = factory().eval()
    rng = np.random.default_rng(1)
    calib = rng.standard_normal((256,) + shape).astype(np.float32)
    # test inputs inside the calibrated range: out-of-range inputs saturate, by design of PTQ
    test = (0.7 * rng.standard_normal((3,) + shape)).astype(np.float32)
    return model, calib, test, tol


def _float_out(model, x):
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    return y.transpose(0, 2, 3, 1) if y.ndim == 4 else y


@pytest.fixture(scope="module")
def host():
    return HostTarget()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_converted_model_is_bit_exact_and_close_to_float(name, host):
    model, calib, test, tol = _model(name)
    graph = convert(model, calib)
    buf = write_tflite(graph)
    out_q = graph.tensors[graph.outputs[0]].quant
    for i in range(len(test)):
        x = quantize_input(graph, test[i:i + 1])
        tflm = run_tflm(buf, [x])
        ours = reference_run(graph, [x])
        layers = [t for op in graph.ops for t in op.outputs]
        for t in layers:  # every intermediate tensor, not only the output
            assert np.array_equal(ours[t].reshape(tflm.tensors[t].shape), tflm.tensors[t]), graph.tensors[t].name
        c = host.run(graph, [x]).outputs[0]
        assert np.array_equal(c.reshape(tflm.outputs[0].shape), tflm.outputs[0])
        deq = dequantize_output(graph, tflm.outputs[0]).reshape(-1)
        ref = _float_out(model, test[i:i + 1]).reshape(-1)
        steps = np.abs(deq - ref).max() / out_q.s
        assert steps <= tol, f"int8 output is {steps:.1f} quantization steps from float"


def test_float_io_model_is_bit_exact(host):
    model, calib, test, _ = _model("se_hardswish_residual")
    graph = convert(model, calib, io="float")
    assert [graph.ops[0].kind, graph.ops[-1].kind] == ["QUANTIZE", "DEQUANTIZE"]
    buf = write_tflite(graph)
    x = quantize_input(graph, test[:1])
    assert x.dtype == np.float32 and x.shape == (1, 16, 16, 3)
    tflm = run_tflm(buf, [x]).outputs[0]
    assert tflm.dtype == np.float32
    assert np.array_equal(reference_run(graph, [x])[graph.outputs[0]].reshape(tflm.shape), tflm)
    assert np.array_equal(host.run(graph, [x]).outputs[0].reshape(tflm.shape), tflm)
    assert np.abs(tflm - _float_out(model, test[:1])).max() < 0.05


@pytest.mark.parametrize("method", ["minmax", "percentile", "mse"])
def test_calibration_methods_convert_exactly(method):
    model, calib, test, tol = _model("se_hardswish_residual")
    graph = convert(model, calib, calib_method=method)
    x = quantize_input(graph, test[:1])
    tflm = run_tflm(write_tflite(graph), [x]).outputs[0]
    assert np.array_equal(reference_run(graph, [x])[graph.outputs[0]].reshape(tflm.shape), tflm)
    deq = dequantize_output(graph, tflm)
    assert np.abs(deq - _float_out(model, test[:1])).max() < 0.1


def _quant_mse(values, lo, hi):
    from tinycompiler.frontends.torch.quantize import activation_quant

    q = activation_quant(lo, hi)
    codes = np.clip(np.round(values / q.s) + q.zp, -128, 127)
    return float(np.mean((values - (codes - q.zp) * q.s) ** 2))


def test_percentile_and_mse_clip_outliers():
    """Two outliers in 100k normal values: percentile clips near the bulk; mse clips inside the
    min/max range and really quantizes the values with less error than min/max does."""
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.standard_normal(100_000), [60.0, -50.0]])
    lo, hi = values.min(), values.max()
    hist = np.histogram(values, bins=BINS, range=(lo, hi))[0].astype(np.float64)
    p_lo, p_hi = _percentile_range(hist, lo, hi)
    m_lo, m_hi = _mse_range(hist, lo, hi)
    assert -6 < p_lo < -3 and 3 < p_hi < 6
    assert lo < m_lo < -3 and 3 < m_hi < hi
    assert _quant_mse(values, m_lo, m_hi) < _quant_mse(values, lo, hi)


def test_lowering_folds_and_fuses():
    """BN folded, ReLU6 fused into the conv, hardsigmoid folded into the SE conv, no TRANSPOSE,
    and the folded float graph computes what the torch module computes."""
    model, calib, test, _ = _model("se_hardswish_residual")
    fg = float_graph(model, calib[:1])
    kinds = [layer.kind for layer in fg.layers]
    assert "batchnorm" not in kinds and "relu6" not in kinds and "hardsigmoid" not in kinds
    assert np.allclose(run_float(fg, test)[0], _float_out(model, test), atol=1e-5)
    graph = convert(model, calib)
    ops = [op.kind for op in graph.ops]
    assert "TRANSPOSE" not in ops and "RELU6" not in ops
    assert graph.ops[1].kind == "CONV_2D" and graph.ops[1].attrs["activation"] == "RELU6"
    assert graph.tensors[graph.inputs[0]].shape == (1, 16, 16, 3)  # NHWC


def test_flatten_into_linear_permutes_weights_without_transpose():
    model, calib, test, _ = _model("pools_flatten_linear_softmax")
    graph = convert(model, calib)
    ops = [op.kind for op in graph.ops]
    assert "TRANSPOSE" not in ops
    assert ops[-1] == "SOFTMAX"
    q = graph.tensors[graph.outputs[0]].quant
    assert (q.s, q.zp) == (np.float32(1 / 256), -128)


def test_grouped_conv_is_block_diagonal_and_concat_shares_quant():
    model, calib, _, _ = _model("concat_grouped_bn_hardsigmoid")
    graph = convert(model, calib)
    concat = next(op for op in graph.ops if op.kind == "CONCATENATION")
    qs = {(graph.tensors[i].quant.s, graph.tensors[i].quant.zp) for i in concat.inputs + concat.outputs}
    assert len(qs) == 1
    grouped = graph.ops[graph.ops.index(concat) + 1]
    w = grouped.input(graph, 1).data  # OHWI [8, 3, 3, 10], 2 groups of 4 outputs x 5 inputs
    assert w.shape == (8, 3, 3, 10)
    assert not w[:4, :, :, 5:].any() and not w[4:, :, :, :5].any()


def test_unsupported_module_is_named():
    class WithGelu(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.act = nn.GELU()

        def forward(self, x):
            return self.act(self.conv(x))

    with pytest.raises(TinyCompilerError) as e:
        convert(WithGelu().eval(), np.zeros((2, 1, 8, 8), np.float32))
    msg = str(e.value)
    assert "aten.gelu" in msg and "module 'act'" in msg and "GELU" in msg
    assert "supported: Conv2d" in msg and "\n" not in msg


def test_unsupported_clamp_and_bad_calibration():
    class Clamp(nn.Module):
        def forward(self, x):
            return torch.clamp(x, -1.0, 2.0)

    with pytest.raises(TinyCompilerError, match=r"clamp to \[-1.0, 2.0\]"):
        convert(Clamp(), np.zeros((2, 1, 4, 4), np.float32))
    model, calib, _, _ = _model("mlp")
    with pytest.raises(TinyCompilerError, match=r"calibration data has shape \[4, 13\]"):
        convert(model, np.zeros((4, 13), np.float32), example_input=np.zeros((1, 12), np.float32))
    with pytest.raises(TinyCompilerError, match="unknown calibration method"):
        convert(model, calib, calib_method="kl")
