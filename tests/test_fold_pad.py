"""Folding PAD into the convolution that reads it (tinycompiler.passes.fold_pad) never changes results.

Oracles: the numpy reference on the original graph (with the PAD) vs on the folded graph (conv
with ``explicit_pads``), the generated C of the folded graph under ASan/UBSan, and TFLM on MCUNet
(via tests/test_plan_overlap.py's model test, which compiles the folded graph).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import builders as B
from conftest import model_path
from tinycompiler.codegen import plan_for_codegen
from tinycompiler.frontends.tflite import load_tflite
from tinycompiler.ir import Quant
from tinycompiler.passes import codegen_graph, fold_pads
from tinycompiler.reference import run
from tinycompiler.targets.host import HostTarget


def _outputs_equal(a, b, inputs):
    ra, rb = run(a, inputs), run(b, inputs)
    for t in a.outputs:
        np.testing.assert_array_equal(ra[t], rb[t])


@st.composite
def pad_convs(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    h, w, c = draw(st.integers(2, 9)), draw(st.integers(2, 9)), draw(st.integers(1, 6))
    g, x = B.new_graph(rng, (1, h, w, c), name="padconv")
    pads = [[0, 0], [draw(st.integers(0, 3)), draw(st.integers(0, 3))],
            [draw(st.integers(0, 3)), draw(st.integers(0, 3))], [0, 0]]
    y = B.add_pad(g, rng, x, pads)
    k = draw(st.integers(1, 3))
    stride, dil = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = g.tensors[y].shape[1:3]
    padding = draw(st.sampled_from(["SAME", "VALID"])) if min(ph, pw) >= (k - 1) * dil + 1 else "SAME"
    if draw(st.booleans()):
        z = B.add_conv2d(g, rng, y, draw(st.integers(1, 8)), k, k, stride=stride, dilation=dil, padding=padding)
    else:
        z = B.add_depthwise(g, rng, y, draw(st.integers(1, 2)), k, k, stride=stride, dilation=dil, padding=padding)
    return B.finish(g, z), seed


@settings(max_examples=80, deadline=None)
@given(case=pad_convs())
def test_folding_is_bit_exact_with_the_padded_graph(case):
    graph, seed = case
    folded = fold_pads(graph)
    assert [op.kind for op in folded.ops] == [graph.ops[1].kind], "the PAD should fold"
    conv = folded.ops[0]
    assert conv.inputs[0] == graph.inputs[0] and len(conv.attrs["explicit_pads"]) == 4
    _outputs_equal(graph, folded, B.random_inputs(graph, seed))


def test_folded_convs_run_bit_exact_in_c_under_sanitizers():
    rng = np.random.default_rng(5)
    g, x = B.new_graph(rng, (1, 9, 7, 3), name="folded")
    y = B.add_pad(g, rng, x, [[0, 0], [1, 2], [0, 1], [0, 0]])
    y = B.add_conv2d(g, rng, y, 8, 3, 3, stride=2, padding="VALID")  # RGB kernel, explicit pads
    y = B.add_pad(g, rng, y, [[0, 0], [1, 1], [1, 1], [0, 0]])
    y = B.add_depthwise(g, rng, y, 1, 3, 3, stride=2, padding="VALID")  # 3x3 depthwise
    y = B.add_pad(g, rng, y, [[0, 0], [0, 1], [1, 0], [0, 0]])
    graph = B.finish(g, B.add_conv2d(g, rng, y, 4, 2, 2, padding="SAME"))  # im2col, SAME + PAD
    assert sum(op.kind == "PAD" for op in codegen_graph(graph).ops) == 0
    inputs = B.random_inputs(graph, 1)
    got = HostTarget(sanitize=True).run(graph, inputs).outputs[0]
    np.testing.assert_array_equal(got, run(graph, inputs)[graph.outputs[0]])


def _unfoldable(case: str):
    rng = np.random.default_rng(3)
    g, x = B.new_graph(rng, (1, 6, 6, 4), name=case)
    pads = [[0, 0], [1, 1], [1, 1], [0, 1 if case == "channel_pad" else 0]]
    y = B.add_pad(g, rng, x, pads)
    if case == "requantized":
        g.tensors[y].quant = Quant([g.tensors[x].quant.s * 2], [g.tensors[x].quant.zp])
    if case == "pool":
        return B.finish(g, B.add_pool(g, rng, "AVERAGE_POOL_2D", y, 3, 3))
    z = B.add_conv2d(g, rng, y, 4, 3, 3, padding="VALID")
    if case == "two_readers":
        z = B.add_binary(g, rng, "ADD", z, B.add_conv2d(g, rng, y, 4, 3, 3, padding="VALID"))
    return B.finish(g, z)


@pytest.mark.parametrize("case", ["channel_pad", "requantized", "pool", "two_readers"])
def test_pads_that_would_change_results_stay(case):
    graph = _unfoldable(case)
    assert fold_pads(graph) is graph


def test_mcunet_pads_fold_and_stay_bit_exact():
    graph = load_tflite(model_path("tinyengine_mcunet_vww"))
    folded = codegen_graph(graph)
    assert sum(op.kind == "PAD" for op in graph.ops) == 4
    assert sum(op.kind == "PAD" for op in folded.ops) == 0
    _outputs_equal(graph, folded, B.random_inputs(graph, 2))
    # planning the folded graph is what the generated C declares: the PAD buffers are gone
    assert plan_for_codegen(graph).arena_bytes < 0.7 * 219804
