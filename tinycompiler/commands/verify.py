"""``tinyc verify``: a board against TFLM, bit for bit; non-zero exit on any difference."""

from __future__ import annotations

from tinycompiler.commands.common import (add_model_args, add_opt_arg, add_patch_arg, emit_json, load, model_bytes,
                                         samples)


def add_parser(sub) -> None:
    s = sub.add_parser("verify", help="compare a board's results with TFLM bit for bit; non-zero exit on any difference")
    add_model_args(s)
    add_patch_arg(s)
    add_opt_arg(s)
    s.add_argument("--board", default="reference")
    s.add_argument("--port", help="serial port URL of a running device (/dev/ttyACM0, socket://127.0.0.1:4321)")
    s.add_argument("--samples", type=int, default=5, help="number of seeded random inputs")
    s.add_argument("--input", help="verify on this input instead of random ones")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run)


def run(args) -> int:
    from tinycompiler.targets import get_target
    from tinycompiler.verify import verify

    graph = load(args)
    target = get_target(args.board, port=args.port, patch=args.patch, opt=args.opt)
    try:
        checks = verify(graph, model_bytes(args, graph), target, samples(graph, args))
    finally:
        getattr(target, "close", lambda: None)()
    for c in checks:
        print(f"{c.sample}: {c.verdict} ({c.tensors_compared} tensors compared against TFLM)")
    exact = sum(c.equal for c in checks)
    near = sum(c.equal and c.max_ulps > 0 for c in checks)
    if near:
        print(f"{exact} of {len(checks)} samples match TFLM on board {args.board}: {exact - near} bit-exact, {near} "
              f"within {max(c.max_ulps for c in checks)} ulp in the float tail (bound {target.float_ulps})")
    else:
        print(f"{exact} of {len(checks)} samples bit-exact with TFLM on board {args.board}")
    if args.json:
        emit_json({
            "board": args.board,
            "samples": len(checks),
            "bit_exact": exact,
            "mismatches": [{"sample": c.sample, "where": c.mismatch} for c in checks if not c.equal],
            "float_tail_max_ulps": max((c.max_ulps for c in checks), default=0),
        })
    return 0 if exact == len(checks) else 1
