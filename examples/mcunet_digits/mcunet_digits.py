"""An MCUNet-style network on scikit-learn's 8x8 digits, trained on the CPU in seconds, then
quantized to int8 with tinycompiler's PyTorch frontend.

Run ``python examples/mcunet_digits/mcunet_digits.py --out build/mcunet_digits`` to train, write
``model.pt2`` (torch.export), ``calib.npy`` (calibration inputs, NCHW), ``test_x.npy`` /
``test_y.npy`` (the fixed test split), ``test.npz`` (the split quantized for the int8 input, for
``tinyc eval``) and ``model.tflite``, print float vs int8 accuracy, then compile the model for the
emulated board (``--board``, default mps2-an386; ``--board none`` stops at the host), run the test
digits on it under QEMU and print on-device top-1, agreement with TFLM, instructions and arena.
The tests import :func:`build_model`, :func:`load_digits_split`, :func:`train` and
:func:`int8_accuracy` from here.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

#: fixed split: 25 % of the 1797 digits (450 images) for testing, seeded
TEST_FRACTION = 0.25
SPLIT_SEED = 0


def load_digits_split():
    """``(train_x, train_y, test_x, test_y)``: images [N, 1, 8, 8] float32 in [0, 1], labels int64.

    ``sklearn.datasets.load_digits`` ships inside scikit-learn: nothing is downloaded.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    tx, vx, ty, vy = train_test_split(x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y)
    return tx, ty, vx, vy


def build_model(seed: int = 0):
    """Stem conv, three inverted residual blocks (3x3, 5x5 stride 2, 7x7 with squeeze-excite and
    hardswish), a 1x1 head, global average pooling and a Linear classifier; weights initialised
    from ``seed`` (so that the same command gives the same model and the same numbers)."""
    import torch
    import torch.nn as nn

    class SqueezeExcite(nn.Module):
        def __init__(self, c, r):
            super().__init__()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.reduce = nn.Conv2d(c, r, 1)
            self.act = nn.ReLU()
            self.expand = nn.Conv2d(r, c, 1)
            self.gate = nn.Hardsigmoid()

        def forward(self, x):
            return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, expand, k, stride, se=False, act=nn.ReLU6):
            super().__init__()
            mid = cin * expand
            layers = [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), act(),
                      nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid), act()]
            if se:
                layers.append(SqueezeExcite(mid, max(4, mid // 4)))
            layers += [nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
            self.body = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            y = self.body(x)
            return x + y if self.residual else y

    class MCUNetDigits(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
            self.blocks = nn.Sequential(
                InvertedResidual(8, 8, 3, 3, 1),
                InvertedResidual(8, 16, 3, 5, 2),
                InvertedResidual(16, 16, 3, 7, 1, se=True, act=nn.Hardswish),
            )
            self.head = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.Hardswish())
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(32, 10))

        def forward(self, x):
            return self.classifier(self.pool(self.head(self.blocks(self.stem(x)))))

    torch.manual_seed(seed)
    return MCUNetDigits()


def train(model, x, y, epochs: int = 12, seed: int = 0, batch: int = 32, lr: float = 3e-3):
    """Adam with a cosine schedule, fixed seed; returns the model in eval mode."""
    import torch

    torch.manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def float_accuracy(model, x, y) -> float:
    """Top-1 accuracy (percent) of the float model."""
    import torch

    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return 100.0 * float((pred == y).mean())


def int8_accuracy(graph, x, y) -> float:
    """Top-1 accuracy (percent) of the int8 graph, run by the numpy reference (bit-exact with TFLM)."""
    from tinycompiler.frontends.torch import quantize_input
    from tinycompiler.reference import run

    hits = 0
    for xi, yi in zip(x, y):
        out = run(graph, [quantize_input(graph, xi[None])])[graph.outputs[0]]
        hits += int(np.argmax(out) == yi)
    return 100.0 * hits / len(y)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="build/mcunet_digits", help="directory for model.pt2, calib.npy, model.tflite")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--calib-method", default="minmax", choices=["minmax", "percentile", "mse"])
    p.add_argument("--board", default="mps2-an386", help="board to evaluate on (see `tinyc boards`); none: skip")
    p.add_argument("--limit", type=int, help="evaluate only the first N test digits on the board")
    args = p.parse_args(argv)

    import torch

    from tinycompiler.frontends.tflite.writer import save_tflite
    from tinycompiler.frontends.torch import convert, quantize_input

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tx, ty, vx, vy = load_digits_split()
    t0 = time.time()
    model = train(build_model(), tx, ty, epochs=args.epochs)
    print(f"trained in {time.time() - t0:.1f} s")
    torch.export.save(torch.export.export(model, (torch.from_numpy(vx[:1]),)), str(out / "model.pt2"))
    calib = tx[:256]
    np.save(out / "calib.npy", calib)
    np.save(out / "test_x.npy", vx)
    np.save(out / "test_y.npy", vy)
    graph = convert(out / "model.pt2", calib, calib_method=args.calib_method)
    save_tflite(graph, out / "model.tflite")
    # the int8 model's own input: NHWC, quantized with its input scale/zero point (tinyc eval's x_int8)
    x_int8 = np.stack([quantize_input(graph, xi[None])[0] for xi in vx])
    np.savez(out / "test.npz", x_int8=x_int8, y=vy)
    fa, qa = float_accuracy(model, vx, vy), int8_accuracy(graph, vx, vy)
    print(f"float top-1 {fa:.2f} %, int8 (reference) top-1 {qa:.2f} % on {len(vy)} test digits")
    print(f"wrote {out / 'model.pt2'}, {out / 'calib.npy'}, {out / 'model.tflite'}, {out / 'test.npz'}")
    if args.board == "none":
        return 0

    from on_device import evaluate_on_board

    n = len(vy) if args.limit is None else min(args.limit, len(vy))
    t0 = time.time()
    ev = evaluate_on_board(graph, (out / "model.tflite").read_bytes(), x_int8[:n], vy[:n], args.board)
    print(f"on {args.board} (QEMU): top-1 {ev.top1:.2f} % on {n} digits; TFLM {ev.top1_tflm:.2f} % "
          f"({time.time() - t0:.1f} s)")
    print(f"agreement with TFLM: {ev.bit_exact}/{n} outputs bit-exact, {ev.same_top1}/{n} same top-1")
    lo, hi = ev.instructions_range
    print(f"instructions per inference {ev.instructions} (mean; {lo}..{hi}), arena {ev.arena_bytes} B, "
          f"firmware flash {ev.flash_bytes} B")
    print(f"on-device minus float top-1: {ev.top1 - fa:+.2f} points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
