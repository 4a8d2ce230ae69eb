"""``tinyc``: the command line. It only wires the stages together; each stage lives in its module.

Every user-facing failure is a :class:`TinyCompilerError`, printed as one line on stderr with exit
status 1. ``--json`` prints one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tinycompiler.errors import TinyCompilerError


def _emit_json(obj) -> None:
    print(json.dumps(obj, sort_keys=True))


def _model_bytes(path) -> bytes:
    return Path(path).read_bytes()


def cmd_inspect(args) -> int:
    from dataclasses import asdict

    from tinycompiler.analysis import analyze, format_inspect
    from tinycompiler.frontends import load_model

    graph = load_model(args.model)
    print(format_inspect(graph))
    if args.json:
        _emit_json(asdict(analyze(graph)))
    return 0


def _samples(graph, args) -> list:
    from tinycompiler.tensor_io import load_inputs, random_inputs

    if getattr(args, "input", None):
        return [(Path(args.input).name, load_inputs(args.input, graph))]
    return [(f"random seed {s}", random_inputs(graph, s)) for s in range(args.samples)]


def cmd_run(args) -> int:
    import numpy as np

    from tinycompiler.frontends import load_model
    from tinycompiler.targets import get_target
    from tinycompiler.tensor_io import load_inputs, random_inputs, save_outputs

    graph = load_model(args.model)
    target = get_target(args.board)
    if args.input:
        inputs = load_inputs(args.input, graph)
    else:
        inputs = random_inputs(graph, args.seed)
        print(f"no --input given: using seeded random input (seed {args.seed})")
    result = target.run(graph, inputs)
    if args.output:
        save_outputs(args.output, result.outputs)
    for i, out in enumerate(result.outputs):
        arr = np.asarray(out)
        print(f"output_{i} {arr.dtype.name}{list(arr.shape)}: {np.array2string(arr.reshape(-1)[:16], separator=' ')}"
              + (" ..." if arr.size > 16 else ""))
    if args.json:
        _emit_json({
            "board": args.board,
            "model": str(args.model),
            "outputs": [np.asarray(o).tolist() for o in result.outputs],
            "output_file": str(args.output) if args.output else None,
            **result.metrics,
        })
    return 0


def cmd_verify(args) -> int:
    from tinycompiler.frontends import load_model
    from tinycompiler.targets import get_target
    from tinycompiler.verify import verify

    graph = load_model(args.model)
    target = get_target(args.board)
    samples = _samples(graph, args)
    checks = verify(graph, _model_bytes(args.model), target, samples)
    for c in checks:
        verdict = "bit-exact" if c.equal else f"MISMATCH at {c.mismatch}"
        print(f"{c.sample}: {verdict} ({c.tensors_compared} tensors compared against TFLM)")
    ok = all(c.equal for c in checks)
    print(f"{sum(c.equal for c in checks)} of {len(checks)} samples bit-exact with TFLM on board {args.board}")
    if args.json:
        _emit_json({
            "board": args.board,
            "samples": len(checks),
            "bit_exact": sum(c.equal for c in checks),
            "mismatches": [{"sample": c.sample, "where": c.mismatch} for c in checks if not c.equal],
        })
    return 0 if ok else 1


def cmd_compile(args) -> int:
    from tinycompiler.codegen import generate
    from tinycompiler.frontends import load_model
    from tinycompiler.targets import get_target

    graph = load_model(args.model)
    get_target(args.board)  # validates the name
    bundle = generate(graph, args.output)
    print(f"wrote {len(bundle.sources)} C sources + headers to {bundle.root}")
    print(f"arena {bundle.program.arena_bytes} B (one static array), weights {bundle.program.weight_bytes} B of flash, "
          f"{len(bundle.program.calls)} kernel calls")
    if args.json:
        _emit_json({"board": args.board, "output_dir": str(bundle.root), "sources": bundle.sources,
                    "arena_bytes": bundle.program.arena_bytes, "flash_weights_bytes": bundle.program.weight_bytes})
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinyc", description="int8 TinyML compiler for Cortex-M, bit-exact with TFLite Micro")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("inspect", help="ops, shapes, quantization, MACs and bytes per layer")
    s.add_argument("model")
    s.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    s.set_defaults(func=cmd_inspect)

    s = sub.add_parser("run", help="run one inference on a board and print/save the outputs")
    s.add_argument("model")
    s.add_argument("--board", default="reference")
    s.add_argument("--input", help=".npy (one input) or .npz with input_0, input_1, ...")
    s.add_argument("--output", help=".npz to write output_0, output_1, ... into")
    s.add_argument("--seed", type=int, default=0, help="seed of the random input when --input is absent")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("verify", help="compare a board's results with TFLM bit for bit; non-zero exit on any difference")
    s.add_argument("model")
    s.add_argument("--board", default="reference")
    s.add_argument("--samples", type=int, default=5, help="number of seeded random inputs")
    s.add_argument("--input", help="verify on this input instead of random ones")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("compile", help="generate the C bundle (model.h/.c, weights.c, the runtime it uses)")
    s.add_argument("model")
    s.add_argument("--board", default="host")
    s.add_argument("-o", "--output", required=True, help="directory to write the bundle into")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_compile)
    return p


def main(argv=None) -> int:
    """Entry point of the ``tinyc`` console script; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TinyCompilerError as e:
        print(f"tinyc: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tinyc: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of ours: still one line, unless the user asks for the trace
        if os.environ.get("TINYC_DEBUG"):
            raise
        print(f"tinyc: internal error: {type(e).__name__}: {e} (set TINYC_DEBUG=1 for a traceback; please report it)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
