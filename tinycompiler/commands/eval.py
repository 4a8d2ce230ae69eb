"""``tinyc eval``: top-1 accuracy on the device over a labelled data set, and agreement with TFLM."""

from __future__ import annotations

import sys
import time

from tinycompiler.commands.common import add_model_args, add_opt_arg, add_patch_arg, emit_json, load, model_bytes


def add_parser(sub) -> None:
    s = sub.add_parser("eval", help="on-device top-1 accuracy over a .npz data set, and agreement with TFLM")
    add_model_args(s)
    add_patch_arg(s)
    add_opt_arg(s)
    s.add_argument("--board", default="mps2-an386")
    s.add_argument("--data", required=True, help=".npz with x_int8 or x (inputs, batch first) and y (labels)")
    s.add_argument("--port", help="serial port URL of a running device")
    s.add_argument("--limit", type=int, help="only the first N samples")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run)


def load_dataset(path, graph, limit=None) -> tuple:
    """(inputs as a list of per-sample input lists, labels) from an .npz: ``x_int8`` (preferred
    for an int8 input) or ``x``, batch first, and ``y``."""
    from pathlib import Path

    import numpy as np

    from tinycompiler.errors import TinyCompilerError
    from tinycompiler.tensor_io import input_specs

    p = Path(path)
    if not p.is_file():
        raise TinyCompilerError(f"data file not found: {p}")
    data = np.load(p, allow_pickle=False)
    if len(graph.inputs) != 1:
        raise TinyCompilerError("tinyc eval takes models with one input")
    shape, dtype = input_specs(graph)[0]
    key = next((k for k in (("x_int8", "x") if dtype == np.int8 else ("x", "x_float")) if k in data.files), None)
    if key is None or "y" not in data.files:
        raise TinyCompilerError(f"{p.name} needs x_int8 or x, and y (has {', '.join(data.files)})")
    x, y = data[key], data["y"]
    if x.dtype != dtype:
        raise TinyCompilerError(f"{p.name}:{key} is {x.dtype.name}; the model's input is {np.dtype(dtype).name}")
    if len(x) != len(y):
        raise TinyCompilerError(f"{p.name}: {len(x)} inputs but {len(y)} labels")
    n = len(x) if limit is None else min(limit, len(x))
    return [[np.ascontiguousarray(x[i]).reshape(shape)] for i in range(n)], np.asarray(y[:n]).reshape(-1)


_last_draw = [0.0]


def progress(done: int, total: int, text: str, start: float) -> None:
    """One updating plain-text progress line on stderr (redrawn at most 10 times a second)."""
    now = time.monotonic()
    if done != total and now - _last_draw[0] < 0.1:
        return
    _last_draw[0] = now
    width = 30
    filled = width * done // max(total, 1)
    rate = done / max(time.monotonic() - start, 1e-9)
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {text} ({rate:.1f}/s)", end="",
          file=sys.stderr, flush=True)
    if done == total:
        print(file=sys.stderr, flush=True)


def run(args) -> int:
    import numpy as np

    from tinycompiler.oracle.tflm import run_tflm_many_isolated
    from tinycompiler.targets import get_target

    graph = load(args)
    samples, labels = load_dataset(args.data, graph, args.limit)
    tflm = run_tflm_many_isolated(model_bytes(args, graph), samples, preserve_all=False)
    target = get_target(args.board, port=args.port, patch=args.patch, opt=args.opt)
    target.collect_layers = False  # accuracy only: skip reading per-layer counts back
    correct = tflm_correct = exact = same_top1 = 0
    start = time.monotonic()
    try:
        for i, (inputs, label) in enumerate(zip(samples, labels)):
            out = np.asarray(target.run(graph, inputs).outputs[0]).reshape(-1)
            ref = np.asarray(tflm[i].outputs[0]).reshape(-1)
            correct += int(np.argmax(out) == label)
            tflm_correct += int(np.argmax(ref) == label)
            exact += int(np.array_equal(out, ref))
            same_top1 += int(np.argmax(out) == np.argmax(ref))
            progress(i + 1, len(samples), f"top-1 {100 * correct / (i + 1):.1f}%, bit-exact {exact}/{i + 1}", start)
    finally:
        getattr(target, "close", lambda: None)()
    n = len(samples)
    print(f"top-1 on {args.board}: {100 * correct / n:.1f}% ({correct}/{n}); TFLM: {100 * tflm_correct / n:.1f}% "
          f"({tflm_correct}/{n})")
    print(f"agreement with TFLM: {exact}/{n} outputs bit-exact, {same_top1}/{n} same top-1")
    if args.json:
        emit_json({"board": args.board, "model": str(args.model), "samples": n, "top1": correct / n,
                   "top1_tflm": tflm_correct / n, "bit_exact": exact, "same_top1": same_top1,
                   "seconds": round(time.monotonic() - start, 2)})
    return 0 if exact == n else 1
