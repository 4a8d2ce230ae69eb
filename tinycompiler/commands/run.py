"""``tinyc run``: one inference on a board; outputs printed, saved, and as JSON."""

from __future__ import annotations

from tinycompiler.commands.common import add_model_args, add_opt_arg, add_patch_arg, emit_json, load


def add_parser(sub) -> None:
    s = sub.add_parser("run", help="run one inference on a board and print/save the outputs")
    add_model_args(s)
    s.add_argument("--board", default="reference")
    s.add_argument("--port", help="serial port URL of a running device (/dev/ttyACM0, socket://127.0.0.1:4321)")
    s.add_argument("--input", help=".npy (one input) or .npz with input_0, input_1, ...")
    s.add_argument("--output", help=".npz to write output_0, output_1, ... into")
    s.add_argument("--seed", type=int, default=0, help="seed of the random input when --input is absent")
    add_patch_arg(s)
    add_opt_arg(s)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from tinycompiler.targets import get_target
    from tinycompiler.tensor_io import load_inputs, random_inputs, save_outputs

    graph = load(args)
    target = get_target(args.board, port=args.port, patch=args.patch, opt=args.opt)
    if args.input:
        inputs = load_inputs(args.input, graph)
    else:
        inputs = random_inputs(graph, args.seed)
        print(f"no --input given: using seeded random input (seed {args.seed})")
    try:
        result = target.run(graph, inputs)
    finally:
        getattr(target, "close", lambda: None)()
    if args.output:
        save_outputs(args.output, result.outputs)
    for i, out in enumerate(result.outputs):
        arr = np.asarray(out)
        shown = np.array2string(arr.reshape(-1)[:16], separator=" ")
        print(f"output_{i} {arr.dtype.name}{list(arr.shape)}: {shown}" + (" ..." if arr.size > 16 else ""))
    m = result.metrics
    for unit in ("instructions", "cycles"):
        if unit in m:
            note = " (QEMU: instructions, not cycles)" if unit == "instructions" else ""
            print(f"{m[unit]:,} {unit}{note}; flash {m['flash_bytes']:,} B")
    if "ram" in m:
        from tinycompiler.report.device_ram import ram_line

        print(ram_line(m["ram"]))
    if args.json:
        emit_json({
            "board": args.board,
            "model": str(args.model),
            "outputs": [np.asarray(o).tolist() for o in result.outputs],
            "output_file": str(args.output) if args.output else None,
            **m,
        })
    return 0
