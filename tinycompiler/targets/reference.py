"""The ``reference`` board: the numpy interpreter, bit-exact with TFLM, exposing every tensor."""

from __future__ import annotations

from tinycompiler.targets.base import RunResult


class ReferenceTarget:
    name = "reference"
    title = "numpy reference interpreter (bit-exact with TFLM; every tensor visible)"

    def run(self, graph, inputs) -> RunResult:
        """Run one inference; returns outputs and every intermediate tensor."""
        from tinycompiler.reference import run

        values = run(graph, inputs)
        return RunResult(outputs=[values[i] for i in graph.outputs], tensors=values)
