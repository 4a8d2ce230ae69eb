"""MCUNet visual wake words (80x80, float I/O) with patch-based inference on the emulated Cortex-M4.

Run ``python examples/vww_patch/vww_patch.py``: prints the memory plan layer by layer and with the
first stage run patch by patch (``--patch auto``: peak bytes, the op that sets it, the split op and
the grid), builds the patched firmware for ``mps2-an386``, runs one image on it under QEMU, checks
the output against TFLM (the float output must be identical) and prints instructions and arena.

The image is made here (a synthetic scene with a person-like figure, from numpy, seeded) so the
example needs no data files; ``--image FILE.npy`` takes a uint8 image ``[H, W]`` or ``[H, W, C]``
instead, resized to 80x80 with numpy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

MODEL = Path(__file__).resolve().parents[1] / "models" / "tinyengine_mcunet_vww.tflite"
#: the model's two outputs, in its order: TinyEngine's VWW demo (examples/openmv_vww) reads
#: output[0] as "person" and output[1] as "no person" (the person_detection test image agrees)
LABELS = ("person", "no person")
SIZE = 80


def synthetic_image(seed: int = 0) -> np.ndarray:
    """An 80x80 RGB uint8 scene: a sky-to-floor gradient, a standing figure (head and body) and
    seeded noise. Deterministic for a seed; no data files."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[..., 0] = 90 + 80 * yy / SIZE  # warmer towards the floor
    img[..., 1] = 110 + 40 * yy / SIZE
    img[..., 2] = 200 - 90 * yy / SIZE  # bluer towards the top
    head = (yy - 22) ** 2 / 8 ** 2 + (xx - 40) ** 2 / 7 ** 2 <= 1
    body = (yy >= 30) & (yy <= 72) & (np.abs(xx - 40) <= 11 - (yy - 30) / 12)
    img[head] = (205, 160, 130)  # skin
    img[body] = (40, 60, 120)  # dark clothes
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def resize_nearest(img: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Nearest-neighbour resize of ``[H, W]`` or ``[H, W, C]`` to ``[size, size, 3]`` (grey -> RGB)."""
    img = img if img.ndim == 3 else img[..., None]
    rows = (np.arange(size) * img.shape[0] / size).astype(int)
    cols = (np.arange(size) * img.shape[1] / size).astype(int)
    out = img[rows][:, cols]
    return np.repeat(out, 3, axis=2) if out.shape[2] == 1 else out[..., :3]


def to_model_input(img_u8: np.ndarray) -> np.ndarray:
    """uint8 RGB -> the model's float input ``[1, 80, 80, 3]`` in [-1, 1] (its QUANTIZE has scale
    ~1/127.5 and zero point 0, so that is the range it was trained on)."""
    return (img_u8.astype(np.float32) / 127.5 - 1.0)[None]


def plan_summary(graph, patch: str) -> dict:
    """Peak arena bytes, the op that sets it and (patched) the split op, grid and recomputed MACs."""
    from tinycompiler.codegen import plan_for_codegen
    from tinycompiler.report import build_memory_report

    plan = plan_for_codegen(graph, patch)
    rep = build_memory_report(graph, plan)
    s = {"patch": patch, "peak_bytes": rep.arena_bytes, "peak_op": f"{rep.peak_row.index} {rep.peak_row.op}",
         "lower_bound_bytes": rep.lower_bound_bytes, "macs": rep.macs}
    if plan.patch is not None:
        pp = plan.patch
        s.update(split=pp.split_op, split_kind=rep.layers[pp.split_op].op, grid=f"{pp.grid[0]}x{pp.grid[1]}",
                 stage_ops=f"{pp.stage_ops[0]}-{pp.stage_ops[-1]}", extra_macs=pp.extra_macs,
                 option=pp.option)
    return s


def run_on_board(graph, x: np.ndarray, board: str, patch: str):
    """One inference of ``x`` on ``board`` with the firmware built for ``patch`` (a RunResult)."""
    from tinycompiler.targets.board import BoardTarget

    target = BoardTarget(board, patch=patch)
    try:
        return target.run(graph, [x])
    finally:
        target.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--board", default="mps2-an386")
    p.add_argument("--patch", default="auto", help="auto (default), auto:F or NxMxK; see tinyc plan --help")
    p.add_argument("--image", help="a uint8 .npy image [H, W] or [H, W, C] instead of the synthetic one")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic image")
    p.add_argument("--also-off", action="store_true",
                   help="also run the layer-by-layer build on the board, for its instructions and arena")
    args = p.parse_args(argv)

    from tinycompiler.frontends.tflite import load_tflite
    from tinycompiler.oracle.tflm import run_tflm_isolated

    graph = load_tflite(MODEL)
    off, on = plan_summary(graph, "off"), plan_summary(graph, args.patch)
    print(f"model {MODEL.name}: {off['macs']:,} MACs")
    print(f"layer by layer : peak {off['peak_bytes']:,} B at op {off['peak_op']}")
    if "grid" in on:
        print(f"patch {args.patch:9s}: peak {on['peak_bytes']:,} B at op {on['peak_op']} "
              f"(lower bound {on['lower_bound_bytes']:,} B); split after op {on['split']} {on['split_kind']}, "
              f"grid {on['grid']}, stage ops {on['stage_ops']}, +{on['extra_macs']:,} MACs recomputed "
              f"(--patch {on['option']})")
        print(f"patches save {off['peak_bytes'] - on['peak_bytes']:,} B "
              f"({100 * (1 - on['peak_bytes'] / off['peak_bytes']):.1f} %)")
    else:
        print(f"patch {args.patch}: no patched plan is smaller; layer by layer")

    img = resize_nearest(np.load(args.image)) if args.image else synthetic_image(args.seed)
    x = to_model_input(img)
    res = run_on_board(graph, x, args.board, args.patch)
    out = np.asarray(res.outputs[0]).reshape(-1)
    ref = np.asarray(run_tflm_isolated(MODEL, [x], preserve_all=False).outputs[0]).reshape(-1)
    exact = np.array_equal(out, ref)
    scores = ", ".join(f"{name} {v:+.4f}" for name, v in zip(LABELS, out))
    print(f"on {args.board} (QEMU): {scores} -> {LABELS[int(np.argmax(out))]}")
    print(f"TFLM: {', '.join(f'{v:+.4f}' for v in ref)}; identical: {'yes' if exact else 'NO'}")
    print(f"instructions {res.metrics['instructions']:,}, arena {res.metrics['arena_bytes']:,} B, "
          f"firmware flash {res.metrics['flash_bytes']:,} B")
    if args.also_off:
        base = run_on_board(graph, x, args.board, "off")
        same = np.array_equal(np.asarray(base.outputs[0]).reshape(-1), out)
        print(f"layer by layer on {args.board}: instructions {base.metrics['instructions']:,}, arena "
              f"{base.metrics['arena_bytes']:,} B, firmware flash {base.metrics['flash_bytes']:,} B; "
              f"same output: {'yes' if same else 'NO'}")
        exact = exact and same
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
