"""The planner on real models: buffers alive together never share bytes; in-place only over dead inputs."""

import pytest

from conftest import MODEL_FILES
from tinycompiler.codegen import plan_for_codegen
from tinycompiler.frontends.tflite import load_tflite
from tinycompiler.passes import codegen_graph
from tinycompiler.plan import plan_memory


def _check_plan(graph, plan):
    for t in graph.activations():
        off = plan.tensor_offsets[t.index]
        assert 0 <= off and off + t.nbytes <= plan.arena_bytes, t.name
    for i, a in enumerate(plan.buffers):
        for j in range(i + 1, len(plan.buffers)):
            b = plan.buffers[j]
            if a.overlaps_in_time(b):
                oa, ob = plan.offsets[i], plan.offsets[j]
                assert oa + a.size <= ob or ob + b.size <= oa, f"{a.name} overlaps {b.name}"
    for k in plan.inplace:
        op = graph.ops[k]
        x = op.inputs[0] if op.kind != "ADD" and op.kind != "MUL" else None
        y = op.outputs[0]
        if x is not None:
            assert plan.tensor_offsets[x] == plan.tensor_offsets[y]
            assert all(c.index <= k for c in graph.consumers(x)), f"{op.where()} overwrites a live input"
            assert x not in graph.outputs


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_plans_of_shared_models_are_sound(path):
    graph = load_tflite(path)
    plan = plan_memory(graph, inplace=False)
    _check_plan(graph, plan)
    assert plan.arena_bytes >= plan.lower_bound_bytes
    folded = codegen_graph(graph)  # what code generation plans: PADs folded into convolutions
    plan = plan_for_codegen(graph)
    _check_plan(folded, plan)
    assert plan.arena_bytes >= plan.lower_bound_bytes


def test_inplace_never_grows_the_arena():
    for path in MODEL_FILES:
        graph = load_tflite(path)
        assert plan_memory(graph).arena_bytes <= plan_memory(graph, inplace=False).arena_bytes, path.name
