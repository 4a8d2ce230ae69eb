"""``tinyc inspect``: ops, shapes, quantization, MACs and bytes per layer."""

from __future__ import annotations

from tinycompiler.commands.common import add_model_args, emit_json, load


def add_parser(sub) -> None:
    s = sub.add_parser("inspect", help="ops, shapes, quantization, MACs and bytes per layer")
    add_model_args(s)
    s.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    s.set_defaults(func=run)


def run(args) -> int:
    from dataclasses import asdict

    from tinycompiler.analysis import analyze, format_inspect

    graph = load(args)
    print(format_inspect(graph))
    if args.json:
        emit_json(asdict(analyze(graph)))
    return 0
