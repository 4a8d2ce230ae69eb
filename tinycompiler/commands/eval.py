"""``tinyc eval``: top-1 accuracy on the device over a labelled data set, and agreement with TFLM."""

from __future__ import annotations

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
    s.add_argument("--jobs", type=int, metavar="N",
                   help="emulator instances sharing the samples (default: one per CPU core; emulated boards "
                        "without --port only); the result is the same for any N")
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
    if key == "x" and x.dtype == np.float32 and 0 in graph.source_io.get("inputs", {}):
        from tinycompiler.passes.boundary_io import quantize_for_input  # --io int8: as the dropped QUANTIZE

        x = quantize_for_input(graph, 0, x)
    if x.dtype != dtype:
        raise TinyCompilerError(f"{p.name}:{key} is {x.dtype.name}; the model's input is {np.dtype(dtype).name}")
    if len(x) != len(y):
        raise TinyCompilerError(f"{p.name}: {len(x)} inputs but {len(y)} labels")
    n = len(x) if limit is None else min(limit, len(x))
    if n < 1:
        raise TinyCompilerError(f"{p.name}: no samples to evaluate" + (f" (--limit {limit})" if limit is not None else ""))
    return [[np.ascontiguousarray(x[i]).reshape(shape)] for i in range(n)], np.asarray(y[:n]).reshape(-1)


def default_jobs() -> int:
    """The number of CPU cores this process may use (emulator instances for ``--jobs``)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _jobs(args) -> int:
    """How many sessions run the samples: ``--jobs`` (default: every core) on an emulated board
    without ``--port``; one on a device at a port, a real board, or reference/host."""
    from tinycompiler.boards.registry import board_ids, load_board
    from tinycompiler.errors import TinyCompilerError

    if args.jobs is not None and args.jobs < 1:
        raise TinyCompilerError(f"--jobs {args.jobs}: give a number of emulator instances >= 1")
    parallel = args.board in board_ids() and load_board(args.board).emulated and not args.port
    if not parallel:
        if args.jobs not in (None, 1):
            why = "one device at --port runs one inference at a time" if args.port else \
                f"{args.board} is not an emulated board (only emulated boards run several instances)"
            raise TinyCompilerError(f"--jobs {args.jobs}: {why}; leave --jobs out")
        return 1
    return args.jobs or default_jobs()


def _tflm_in_shares(model: bytes, samples: list, jobs: int) -> list:
    """TFLM's results on ``samples``, split over ``jobs`` child processes like the device work, so
    the oracle does not become the one process the others wait for."""
    from concurrent.futures import ThreadPoolExecutor

    from tinycompiler.oracle.tflm import run_tflm_many_isolated
    from tinycompiler.targets.parallel import even_shares

    shares = even_shares(len(samples), jobs)
    with ThreadPoolExecutor(len(shares)) as pool:
        parts = pool.map(lambda s: run_tflm_many_isolated(model, samples[s[0]:s[1]], preserve_all=False), shares)
        return [r for part in parts for r in part]


def run(args) -> int:
    import threading

    import numpy as np

    from tinycompiler.oracle.cache import tflm_outputs
    from tinycompiler.passes.boundary_io import source_inputs, source_outputs
    from tinycompiler.progress import Bar
    from tinycompiler.targets import get_target
    from tinycompiler.targets.parallel import run_many

    jobs = _jobs(args)
    graph = load(args)
    samples, labels = load_dataset(args.data, graph, args.limit)
    # TFLM runs in its own process while the device works (its answers are needed only at the
    # end), or not at all when it has seen this model on these samples before (oracle/cache.py)
    tflm: dict = {}
    model = model_bytes(args, graph)
    # --io int8: TFLM runs the model file on the float inputs the int8 ones stand for
    file_samples = [source_inputs(graph, s) for s in samples]

    def oracle():
        try:
            tflm["out"] = tflm_outputs(model, file_samples, lambda: _tflm_in_shares(model, file_samples, jobs))
        except BaseException as e:  # noqa: BLE001 -- raised in the main thread below
            tflm["error"] = e

    target = get_target(args.board, port=args.port, patch=args.patch, opt=args.opt)
    target.collect_layers = False  # accuracy only: skip reading per-layer counts back
    oracle_thread = threading.Thread(target=oracle, daemon=True)
    oracle_thread.start()
    start = time.monotonic()
    n = len(samples)
    live = {"done": 0, "correct": 0}  # for the progress line only; the report is counted below
    with Bar(n, f"samples on {args.board}" + (f" ({jobs} instances)" if jobs > 1 else "")) as bar:
        def seen(i, result):
            live["done"] += 1
            live["correct"] += int(np.argmax(np.asarray(result.outputs[0]).reshape(-1)) == labels[i])
            bar.update(live["done"], f"top-1 {100 * live['correct'] / live['done']:.1f}%")

        try:
            if jobs > 1:
                target.firmware(graph)  # built once here, shared by every instance
            # an emulated board gets its share of the inputs preloaded at boot (BoardTarget.preload)
            results = run_many(target.spawn if jobs > 1 else (lambda: target), graph, samples, jobs, on_result=seen)
        finally:
            getattr(target, "close", lambda: None)()
    device_seconds = time.monotonic() - start
    oracle_thread.join()
    if "error" in tflm:
        raise tflm["error"]
    correct = tflm_correct = exact = same_top1 = 0
    for result, ref, label in zip(results, tflm["out"], labels):
        out = np.asarray(source_outputs(graph, result.outputs)[0]).reshape(-1)
        ref = np.asarray(ref[0]).reshape(-1)
        correct += int(np.argmax(out) == label)
        tflm_correct += int(np.argmax(ref) == label)
        exact += int(np.array_equal(out, ref))
        same_top1 += int(np.argmax(out) == np.argmax(ref))
    print(f"top-1 on {args.board}: {100 * correct / n:.1f}% ({correct}/{n}); TFLM: {100 * tflm_correct / n:.1f}% "
          f"({tflm_correct}/{n})")
    print(f"agreement with TFLM: {exact}/{n} outputs bit-exact, {same_top1}/{n} same top-1")
    print(f"{n} samples in {device_seconds:.1f} s on {jobs} instance{'s' if jobs > 1 else ''}")
    if args.json:
        emit_json({"board": args.board, "model": str(args.model), "samples": n, "top1": correct / n,
                   "top1_tflm": tflm_correct / n, "bit_exact": exact, "same_top1": same_top1, "jobs": jobs,
                   "seconds": round(device_seconds, 2)})
    return 0 if exact == n else 1
