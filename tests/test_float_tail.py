"""Float32 tails after a DEQUANTIZE (exporters leave the last nonlinearity in float).

Every op of ``FLOAT_TAIL_OPS`` in chains appended to a bundled int8 model
(tests/builders_float_tail.py):

* the numpy reference and the generated C on the host (under ASan/UBSan) are bit-exact with TFLM;
* on the emulated Cortex-M4 (newlib's expf/logf/tanhf, not glibc's) every output is within
  ``DEVICE_FLOAT_ULPS`` of TFLM's, and ``verify`` says so;
* float ops anywhere else, or float ops the tail does not support, are refused with name and index.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from builders_float_tail import CHAINS, with_float_tail
from conftest import model_path
from tinycompiler.cli import main
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends import load_model
from tinycompiler.frontends.tflite import save_tflite, write_tflite
from tinycompiler.frontends.tflite.validate import validate_graph
from tinycompiler.ir.graph import Op
from tinycompiler.oracle.tflm import run_tflm_many_isolated
from tinycompiler.reference import run
from tinycompiler.targets.host import HostTarget
from tinycompiler.tensor_io import random_inputs
from tinycompiler.verify import DEVICE_FLOAT_ULPS, ulp_distance

BASE = "mlperftiny_kws_dscnn_int8"  # 12 int8 class scores


@pytest.fixture(scope="module")
def base():
    return load_model(model_path(BASE))


def _samples(graph, n):
    xs = [random_inputs(graph, s) for s in range(n)]
    return xs, run_tflm_many_isolated(write_tflite(graph), xs)


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_reference_and_host_c_are_bit_exact_with_tflm(base, chain):
    graph = with_float_tail(base, CHAINS[chain], seed=len(chain))
    validate_graph(graph)
    xs, tflm = _samples(graph, 4)
    host = HostTarget(sanitize=True)
    for x, t in zip(xs, tflm):
        ours = run(graph, x)
        for k, v in t.tensors.items():  # layer by layer: every float op of the tail too
            if k in ours:
                assert np.array_equal(ours[k], v, equal_nan=True), (chain, graph.tensors[k].name)
        got = host.run(graph, x).outputs[0]
        assert got.dtype == np.float32 and np.array_equal(got, t.outputs[0]), chain


def test_extreme_values_through_the_float_kernels(base):
    """Saturated logits (every int8 at -128 or 127) push exp to its limits: still exact on the host."""
    graph = with_float_tail(base, CHAINS["mixed"], seed=3)
    x = random_inputs(graph, 9)
    x[0][:] = np.where(x[0] > 0, 127, -128).astype(np.int8)
    (t,) = run_tflm_many_isolated(write_tflite(graph), [x], preserve_all=False)
    assert np.array_equal(HostTarget().run(graph, x).outputs[0], t.outputs[0])


def test_device_is_within_the_stated_ulp_bound(base, tmp_path, capsys):
    from tinycompiler.targets.board import BoardTarget

    worst = {}
    for chain in ("log_softmax", "mixed"):
        graph = with_float_tail(base, CHAINS[chain], seed=len(chain))
        xs, tflm = _samples(graph, 8)
        target = BoardTarget("mps2-an386")
        try:
            far = [int(ulp_distance(target.run(graph, x).outputs[0].reshape(t.outputs[0].shape), t.outputs[0]).max())
                   for x, t in zip(xs, tflm)]
        finally:
            target.close()
        worst[chain] = max(far)
        assert worst[chain] <= DEVICE_FLOAT_ULPS, (chain, far)
    # verify on the device: passes, and says how far the float tail was when it was not bit-exact
    path = save_tflite(with_float_tail(base, CHAINS["mixed"], seed=len("mixed")), tmp_path / "tail.tflite")
    assert main(["verify", str(path), "--board", "mps2-an386", "--samples", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["bit_exact"] == 8 and out["float_tail_max_ulps"] <= DEVICE_FLOAT_ULPS
    print(f"float tail on mps2-an386: worst {worst} ulp (bound {DEVICE_FLOAT_ULPS})")


def _tail_then(base, kind, **attrs):
    g = with_float_tail(base, ["LOG_SOFTMAX"])
    x = g.outputs[0]
    y = g.add_tensor("after", g.tensors[x].shape, "int8" if kind == "QUANTIZE" else "float32",
                     g.tensors[base.outputs[0]].quant if kind == "QUANTIZE" else None)
    g.ops.append(Op(len(g.ops), kind, [x], [y.index], attrs))
    g.outputs = [y.index]
    return g


def test_float_ops_outside_the_tail_are_refused_by_name_and_index(base):
    g = _tail_then(base, "QUANTIZE")  # back to int8 after float ops: not a tail
    with pytest.raises(TinyCompilerError, match=rf"op {len(g.ops) - 1} \(QUANTIZE\): reads float32 .* float tail"):
        validate_graph(g)
    g = _tail_then(base, "HARD_SWISH")  # not a float tail op
    with pytest.raises(TinyCompilerError, match=rf"op {len(g.ops) - 1} \(HARD_SWISH\): .*float32"):
        validate_graph(g)


def test_tanh_on_int8_is_refused(base):
    g = with_float_tail(base, [])
    x = base.outputs[0]
    y = g.add_tensor("t", g.tensors[x].shape, "int8", g.tensors[x].quant)
    g.ops.insert(len(base.ops), Op(len(base.ops), "TANH", [x], [y.index]))
    for k, op in enumerate(g.ops):
        op.index = k
    g.outputs = [y.index] + g.outputs
    with pytest.raises(TinyCompilerError, match="TANH is supported on float32 only"):
        validate_graph(g)
