"""Compare a target's results with TFLM's, bit for bit, layer by layer where the target shows layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from tinycompiler.oracle.tflm import run_tflm_many_isolated


#: ulps a device's float tail may differ from TFLM's host build by: its C library's expf/logf/tanhf
#: are not glibc's (measured on mps2-an386 with newlib: at most 2; tests/test_float_tail.py)
DEVICE_FLOAT_ULPS = 4


@dataclass
class SampleCheck:
    """The verdict on one input: ``equal`` only if every compared tensor is identical, or (a float
    tail on a device) within ``DEVICE_FLOAT_ULPS``; ``max_ulps`` says how far such outputs were."""

    sample: str
    equal: bool
    tensors_compared: int
    mismatch: Optional[str] = None
    max_ulps: int = 0

    @property
    def verdict(self) -> str:
        if not self.equal:
            return f"MISMATCH at {self.mismatch}"
        if self.max_ulps:
            return f"equal within {self.max_ulps} ulp (float tail; the device's libm is not TFLM's)"
        return "bit-exact"


def ulp_distance(a, b) -> np.ndarray:
    """Elementwise distance of two float32 arrays in units in the last place (0 = same bits;
    +0 and -0 are 0 apart; NaN against anything but the same NaN is huge)."""
    def ordered(x):
        i = np.asarray(x, np.float32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    return np.abs(ordered(a) - ordered(b))


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


def _float_tail_outputs(graph) -> set:
    """Output positions computed by float tail ops (libm-dependent), not straight by a DEQUANTIZE."""
    from tinycompiler.reference.float_tail import is_float_op

    out = set()
    for k, t in enumerate(graph.outputs):
        op = graph.producer(t)
        if op is not None and is_float_op(op, graph):
            out.add(k)
    return out


def compare(graph, result, tflm, float_ulps: int = 0) -> tuple:
    """(tensors compared, first mismatch or None, max ulps) between a RunResult and a TflmResult.

    Intermediates are compared in execution order when the target exposes them, so the first
    mismatch names the op that introduced it. ``float_ulps``: how many ulps an output of the
    float tail may be off (a device's libm); 0 demands the same bits.
    """
    compared, worst = 0, 0
    tail = _float_tail_outputs(graph) if float_ulps else set()
    if result.tensors:
        for op in graph.ops:
            for t in op.outputs:
                if t in result.tensors and t in tflm.tensors:
                    compared += 1
                    d = _diff(result.tensors[t], tflm.tensors[t])
                    if d:
                        return compared, f"{op.where()} output tensor {t} ({graph.tensors[t].name}): {d}", 0
    dropped = graph.source_io.get("outputs", {})
    for i, (ours, theirs) in enumerate(zip(result.outputs, tflm.outputs)):
        compared += 1
        if i in dropped:  # --io int8: the int8 tensor the model file's DEQUANTIZE reads
            theirs = tflm.tensors[graph.outputs[i]]
        d = _diff(ours, theirs)
        if d and i in tail and np.shape(ours) == np.shape(theirs):
            far = int(ulp_distance(ours, theirs).max())
            if far <= float_ulps:
                worst, d = max(worst, far), None
            else:
                d = f"{d}; {far} ulp apart, more than the {float_ulps} a device's libm may explain"
        if d:
            return compared, f"output {i}: {d}", 0
    return compared, None, worst


def verify(graph, model_bytes: bytes, target, samples: list) -> list:
    """Run each (name, inputs) sample on ``target`` and in TFLM; return one SampleCheck each.

    ``model_bytes`` is the model file; ``graph`` may have dropped its float boundary (``--io
    int8``): TFLM then runs the file on the float inputs those int8 ones stand for and the int8
    tensors before its DEQUANTIZE are compared (:mod:`tinycompiler.passes.boundary_io`).
    """
    from tinycompiler.passes.boundary_io import source_inputs

    keep = bool(getattr(target, "layerwise", True)) or bool(graph.source_io.get("outputs"))
    tflm_results = run_tflm_many_isolated(
        model_bytes, [source_inputs(graph, inputs) for _, inputs in samples], preserve_all=keep
    )
    checks = []
    ulps = int(getattr(target, "float_ulps", 0))
    for (name, inputs), tflm in zip(samples, tflm_results):
        result = target.run(graph, inputs)
        n, mismatch, far = compare(graph, result, tflm, ulps)
        checks.append(SampleCheck(name, mismatch is None, n, mismatch, far))
    return checks
