"""Patch-based inference, generated C on the host, bit for bit.

* hypothesis: random conv / depthwise / pool / PAD / RELU stacks (optionally a residual ADD) from
  tests/builders.py with a random split op and grid: the patch build equals the numpy reference
  and the layer-by-layer build;
* the two bundled models the issue targets, ``--patch auto``: outputs equal TFLM's on 2 random
  inputs each, and the planned arena is at most 0.35x TFLM's smallest arena.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

import builders as B
from conftest import model_path
from tinycompiler.codegen import plan_for_codegen
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.tflite import load_tflite
from tinycompiler.frontends.torch.exported_layout import with_nchw_input
from tinycompiler.oracle.tflm import run_tflm
from tinycompiler.passes import codegen_graph
from tinycompiler.plan.patch import stage_candidates
from tinycompiler.reference import run
from tinycompiler.targets.host import HostTarget

try:  # the float-input-aware random inputs of the reference model tests
    from test_reference_models import random_model_inputs
except ImportError:  # pragma: no cover
    random_model_inputs = B.random_inputs


@st.composite
def stacks(draw):
    """(graph, description): 2-5 spatial layers on a random input, then a global pool."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    h, w = draw(st.integers(6, 20)), draw(st.integers(6, 20))
    g, x = B.new_graph(rng, (1, h, w, draw(st.integers(1, 4))))
    desc = [f"seed={seed} in={h}x{w}"]
    for _ in range(draw(st.integers(2, 5))):
        _, h, w, c = g.tensors[x].shape
        kind = draw(st.sampled_from(["conv", "conv", "dw", "dw", "pool", "pad", "relu", "residual"]))
        k = draw(st.integers(1, min(5, h, w)))
        stride = draw(st.integers(1, 2))
        dil = draw(st.integers(1, 2)) if k > 1 and (k - 1) * 2 + 1 <= min(h, w) else 1
        padding = draw(st.sampled_from(["SAME", "VALID"]))
        if kind == "conv":
            x = B.add_conv2d(g, rng, x, draw(st.integers(1, 8)), k, k, stride, dil, padding,
                             draw(st.sampled_from(B.ACTIVATIONS)))
        elif kind == "dw":
            x = B.add_depthwise(g, rng, x, draw(st.integers(1, 2)), k, k, stride, dil, padding)
        elif kind == "pool":
            x = B.add_pool(g, rng, draw(st.sampled_from(["AVERAGE_POOL_2D", "MAX_POOL_2D"])), x, k, k,
                           stride, padding)
        elif kind == "pad":
            x = B.add_pad(g, rng, x, [[0, 0], [draw(st.integers(0, 2)), draw(st.integers(0, 2))],
                                      [draw(st.integers(0, 2)), draw(st.integers(0, 2))], [0, 0]])
        elif kind == "relu":
            x = B.add_unary(g, rng, draw(st.sampled_from(["RELU", "RELU6"])), x)
        else:  # MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 project, ADD
            e = B.add_conv2d(g, rng, x, 2 * c, 1, 1, padding="VALID", activation="RELU6")
            d = B.add_depthwise(g, rng, e, 1, 3, 3, padding="SAME", activation="RELU6")
            p = B.add_conv2d(g, rng, d, c, 1, 1, padding="VALID")
            x = B.add_binary(g, rng, "ADD", x, p)
        desc.append(f"{kind} k{k} s{stride} d{dil} {padding} -> {g.tensors[x].shape[1:]}")
    _, h, w, _ = g.tensors[x].shape
    x = B.add_pool(g, rng, "MAX_POOL_2D", x, h, w)
    return B.finish(g, x), "; ".join(desc)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate])
@given(case=stacks(), data=st.data())
def test_random_stacks_bit_exact(case, data):
    graph, desc = case
    if data.draw(st.booleans()):  # as PyTorch exporters write it: NCHW float32 in, QUANTIZE, TRANSPOSE
        graph, desc = with_nchw_input(graph), desc + "; NCHW float input"
    stages = stage_candidates(codegen_graph(graph))  # split ops count the ops codegen plans
    assert stages, desc
    stage_ops, _, split, lead = data.draw(st.sampled_from(stages))
    assert bool(lead) == (graph.ops[0].kind == "QUANTIZE"), desc  # the fused lead TRANSPOSE
    _, h, w, _ = graph.tensors[split].shape
    grid = (data.draw(st.integers(1, min(h, 4))), data.draw(st.integers(1, min(w, 4))))
    option = f"{grid[0]}x{grid[1]}x{stage_ops[-1]}"
    inputs = B.random_inputs(graph, np.random.default_rng(0))
    want = run(graph, inputs)[graph.outputs[0]]
    try:
        layered = HostTarget().run(graph, inputs).outputs[0]
    except TinyCompilerError:  # the builders' wild scales (1 in 8) can make an ADD TFLM refuses too
        reject()
    try:
        got = HostTarget(patch=option).run(graph, inputs).outputs[0]
    except TinyCompilerError as e:
        # a grid with a patch wholly inside a PAD's padding (it would read nothing) is refused, clearly
        assert str(e).startswith(f"patch grid {grid[0]}x{grid[1]} split after op") and "reads nothing" in str(e), e
        reject()
    assert np.array_equal(layered, want), f"layer-based build: {desc}"
    assert np.array_equal(got, want), f"patch {option}: {desc}"


def test_residual_inside_stage_and_auto():
    """The residual block of small_cnn_graph inside the stage, on several grids, and auto."""
    graph = B.small_cnn_graph(7, h=16, w=16)
    inputs = B.random_inputs(graph, np.random.default_rng(1))
    want = run(graph, inputs)[graph.outputs[0]]
    split = next(op.index for op in graph.ops if op.kind == "ADD")
    assert split in [s[0][-1] for s in stage_candidates(graph)]
    for option in (f"2x2x{split}", f"3x1x{split}", f"1x4x{split}", "auto:0.5"):
        got = HostTarget(patch=option).run(graph, inputs).outputs[0]
        assert np.array_equal(got, want), option


# ------------------------------------------------------------------------------------------------
# the models: auto patching vs TFLM, and the arena it reaches

#: TFLM's smallest arena (bytes, 64-bit host) measured by tinycompiler.oracle.tflm.min_arena_bytes, and the issue's goal
TARGETS = {
    "tinyengine_mcunet_vww": 219_804,
    "keras_mobilenetv2_a0.35_64_int8": 127_956,
}


@pytest.mark.parametrize("stem", sorted(TARGETS))
def test_models_auto_patch_match_tflm(stem):
    path = model_path(stem)
    graph = load_tflite(path)
    target = HostTarget(patch="auto")
    bundle, _ = target.build(graph)
    plan = bundle.program.plan
    layered = plan_for_codegen(graph, "off").arena_bytes
    print(f"\n{stem}: arena {plan.arena_bytes} B with patch {plan.patch.summary()} "
          f"vs {layered} B layer by layer; TFLM {TARGETS[stem]} B")
    assert plan.patch is not None and plan.arena_bytes < layered
    assert plan.arena_bytes <= 0.35 * TARGETS[stem]
    assert plan.patch.extra_macs <= 0.2 * plan.patch.model_macs
    for seed in range(2):
        inputs = random_model_inputs(graph, seed)
        got = target.run(graph, inputs).outputs
        want = run_tflm(path, inputs, preserve_all=False).outputs
        for a, b in zip(got, want):
            assert np.array_equal(a, np.asarray(b).reshape(a.shape)), f"{stem} seed {seed}"


def test_stage_after_a_reshape_of_the_input_and_refusals_list_the_real_split_ops():
    """A RESHAPE view of the graph input runs before the stage (it shares the input's bytes);
    an explicit grid split where no stage ends is refused with the split ops that are valid."""
    from tinycompiler.ir.graph import Op

    g = B.small_cnn_graph(7, h=16, w=16)
    x0 = g.inputs[0]
    t = g.tensors[x0]
    flat = g.add_tensor("flat", (1, t.size), "int8", t.quant)
    shape = g.add_tensor("shape", (4,), "int32", data=np.array(t.shape, np.int32))
    g.ops = [Op(0, "RESHAPE", [flat.index, shape.index], [x0])] + [
        Op(k + 1, o.kind, o.inputs, o.outputs, o.attrs) for k, o in enumerate(g.ops)]
    g.inputs = [flat.index]
    stages = stage_candidates(codegen_graph(g))
    splits = [s[0][-1] for s in stages]
    assert stages and stages[0][0][0] == 1  # the stage begins after the view
    inputs = B.random_inputs(g, np.random.default_rng(1))
    want = run(g, inputs)[g.outputs[0]]
    ok = next(k for k, s in zip(splits, stages) if g.tensors[s[2]].shape[1] >= 2)
    got = HostTarget(patch=f"2x2x{ok}").run(g, inputs).outputs[0]
    assert np.array_equal(got, want)
    bad = max(splits) + 1
    with pytest.raises(TinyCompilerError, match=rf"op {bad} cannot end a patch stage; valid split ops: "
                                                rf"{', '.join(map(str, sorted(splits)))}$"):
        plan_for_codegen(g, f"2x2x{bad}")
