"""Keyword spotting (MLPerf Tiny DS-CNN, int8) on the emulated Cortex-M4, checked against TFLM.

Run ``python examples/kws/kws.py``: builds the firmware for ``mps2-an386``, boots it in QEMU,
sends the bundled MLPerf Tiny reference input (49 MFCC frames x 10 coefficients, already int8)
over the serial harness, and prints the 12 class scores with their labels, the top class,
instructions per inference and the arena, and whether the output bytes equal TFLM's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1]
MODEL = EXAMPLES / "models" / "mlperftiny_kws_dscnn_int8.tflite"
SAMPLE = EXAMPLES / "data" / "mlperftiny_kws_sample_int8_1x49x10x1.npy"
#: the MLPerf Tiny KWS classes, in the model's output order (Speech Commands v2: ten words,
#: then silence and unknown)
LABELS = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown")


def dequantize(graph, scores: np.ndarray) -> np.ndarray:
    """int8 softmax output -> probabilities, with the output tensor's scale and zero point."""
    q = graph.tensors[graph.outputs[0]].quant
    return (scores.astype(np.float32) - float(q.zero_point[0])) * float(q.scale[0])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--board", default="mps2-an386")
    p.add_argument("--input", default=str(SAMPLE), help="an int8 .npy [1, 49, 10, 1] (default: the bundled sample)")
    args = p.parse_args(argv)

    from tinycompiler.frontends.tflite import load_tflite
    from tinycompiler.oracle.tflm import run_tflm_isolated
    from tinycompiler.targets.board import BoardTarget

    graph = load_tflite(MODEL)
    x = np.load(args.input).astype(np.int8).reshape(1, 49, 10, 1)
    target = BoardTarget(args.board)
    try:
        res = target.run(graph, [x])
    finally:
        target.close()
    out = np.asarray(res.outputs[0]).reshape(-1)
    ref = np.asarray(run_tflm_isolated(MODEL, [x], preserve_all=False).outputs[0]).reshape(-1)
    prob = dequantize(graph, out)
    print(f"{MODEL.name} on {args.board} (QEMU), input {Path(args.input).name}")
    for label, s, pr in zip(LABELS, out, prob):
        print(f"  {label:8s} {int(s):5d}  {pr:.3f}")
    top = int(np.argmax(out))
    print(f"top class: {LABELS[top]} (score {int(out[top])}, p={prob[top]:.3f})")
    exact = np.array_equal(out, ref)
    print(f"TFLM: top class {LABELS[int(np.argmax(ref))]}; outputs bit-exact: {'yes' if exact else 'NO'}")
    print(f"instructions {res.metrics['instructions']:,}, arena {res.metrics['arena_bytes']:,} B, "
          f"firmware flash {res.metrics['flash_bytes']:,} B")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
