"""``tinyc compile``: write the C bundle (or, for a board, its complete project)."""

from __future__ import annotations

from tinycompiler.commands.common import emit_json


def add_parser(sub) -> None:
    s = sub.add_parser("compile", help="generate the C bundle (model.h/.c, weights.c, the runtime it uses)")
    s.add_argument("model")
    s.add_argument("--board", default="host")
    s.add_argument("-o", "--output", required=True, help="directory to write into")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run)


def run(args) -> int:
    from tinycompiler.codegen import generate
    from tinycompiler.frontends import load_model
    from tinycompiler.targets import get_target

    graph = load_model(args.model)
    get_target(args.board)  # validates the name
    bundle = generate(graph, args.output)
    program = bundle.program
    print(f"wrote {len(bundle.sources)} C sources + headers to {bundle.root}")
    print(f"arena {program.arena_bytes} B (one static array), weights {program.weight_bytes} B of flash, "
          f"{len(program.calls)} kernel calls")
    if args.json:
        emit_json({"board": args.board, "output_dir": str(bundle.root), "sources": bundle.sources,
                   "arena_bytes": program.arena_bytes, "flash_weights_bytes": program.weight_bytes})
    return 0
