"""Evaluate an int8 graph on a board over the serial harness and compare every output with TFLM.

One job: given the graph, its .tflite bytes (what TFLM runs) and a labelled int8 test set, boot
the board once (``BoardTarget`` keeps one QEMU session across samples), run every sample, and
return top-1 on the device, top-1 in TFLM, how many outputs are bit-exact, instructions per
inference and the arena size. The same numbers as ``tinyc eval``, plus the instruction count,
which that command does not report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class DeviceEval:
    """What one pass over the test set measured on the board."""

    samples: int
    top1: float  # percent, on the device
    top1_tflm: float  # percent, the same int8 model in TFLM
    bit_exact: int  # outputs identical to TFLM's, byte for byte
    same_top1: int
    instructions: int  # mean per inference (QEMU -icount counts instructions, not cycles)
    instructions_range: tuple  # (fewest, most): a few kernels branch on the data (e.g. hardswish)
    arena_bytes: int
    flash_bytes: int


def evaluate_on_board(graph, tflite_bytes: bytes, x_int8: np.ndarray, y: np.ndarray,
                      board: str = "mps2-an386") -> DeviceEval:
    """Run ``x_int8`` (``[N, H, W, C]``, already quantized) on ``board``; TFLM runs alongside."""
    from tinycompiler.oracle.tflm import run_tflm_many_isolated
    from tinycompiler.targets.board import BoardTarget

    from tinycompiler.tensor_io import input_specs

    shape = input_specs(graph)[0][0]  # batch included: [1, H, W, C]
    samples = [[np.ascontiguousarray(x).reshape(shape)] for x in x_int8]
    # in a child process: a TFLM abort must not take the example down with it
    tflm = run_tflm_many_isolated(tflite_bytes, samples, preserve_all=False)
    target = BoardTarget(board)
    target.collect_layers = False  # totals only: per-layer counts would cost a round trip each
    correct = tflm_correct = exact = same = 0
    instructions = []
    try:
        for inputs, ref, label in zip(samples, tflm, y):
            res = target.run(graph, inputs)
            out = np.asarray(res.outputs[0]).reshape(-1)
            want = np.asarray(ref.outputs[0]).reshape(-1)
            correct += int(np.argmax(out) == label)
            tflm_correct += int(np.argmax(want) == label)
            exact += int(np.array_equal(out, want))
            same += int(np.argmax(out) == np.argmax(want))
            instructions.append(res.metrics["instructions"])
            metrics = res.metrics
    finally:
        target.close()
    n = len(samples)
    return DeviceEval(n, 100.0 * correct / n, 100.0 * tflm_correct / n, exact, same,
                      round(float(np.mean(instructions))), (min(instructions), max(instructions)),
                      metrics["arena_bytes"], metrics["flash_bytes"])
