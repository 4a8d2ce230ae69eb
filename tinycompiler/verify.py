"""Compare a target's results with TFLM's, bit for bit, layer by layer where the target shows layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from tinycompiler.oracle.tflm import run_tflm_many_isolated


@dataclass
class SampleCheck:
    """The verdict on one input: ``equal`` only if every compared tensor is identical."""

    sample: str
    equal: bool
    tensors_compared: int
    mismatch: Optional[str] = None


def _diff(ours: np.ndarray, theirs: np.ndarray) -> Optional[str]:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.shape != theirs.shape and ours.size == theirs.size:
        ours = ours.reshape(theirs.shape)
    if ours.shape != theirs.shape:
        return f"shape {list(ours.shape)} vs TFLM {list(theirs.shape)}"
    if ours.dtype != theirs.dtype:
        return f"dtype {ours.dtype.name} vs TFLM {theirs.dtype.name}"
    bad = ours != theirs
    if not bad.any():
        return None
    if np.issubdtype(ours.dtype, np.integer):
        delta = int(np.max(np.abs(ours.astype(np.int64) - theirs.astype(np.int64))))
    else:
        delta = float(np.nanmax(np.abs(ours.astype(np.float64) - theirs.astype(np.float64))))
    return f"{int(bad.sum())} of {bad.size} elements differ (max |diff| {delta})"


def compare(graph, result, tflm) -> tuple:
    """(tensors compared, first mismatch or None) between a RunResult and a TflmResult.

    Intermediates are compared in execution order when the target exposes them, so the first
    mismatch names the op that introduced it.
    """
    compared = 0
    if result.tensors:
        for op in graph.ops:
            for t in op.outputs:
                if t in result.tensors and t in tflm.tensors:
                    compared += 1
                    d = _diff(result.tensors[t], tflm.tensors[t])
                    if d:
                        return compared, f"{op.where()} output tensor {t} ({graph.tensors[t].name}): {d}"
    for i, (ours, theirs) in enumerate(zip(result.outputs, tflm.outputs)):
        compared += 1
        d = _diff(ours, theirs)
        if d:
            return compared, f"output {i}: {d}"
    return compared, None


def verify(graph, model_bytes: bytes, target, samples: list) -> list:
    """Run each (name, inputs) sample on ``target`` and in TFLM; return one SampleCheck each."""
    tflm_results = run_tflm_many_isolated(
        model_bytes, [inputs for _, inputs in samples], preserve_all=bool(getattr(target, "layerwise", True))
    )
    checks = []
    for (name, inputs), tflm in zip(samples, tflm_results):
        result = target.run(graph, inputs)
        n, mismatch = compare(graph, result, tflm)
        checks.append(SampleCheck(name, mismatch is None, n, mismatch))
    return checks
