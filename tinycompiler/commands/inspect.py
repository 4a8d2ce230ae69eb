"""``tinyc inspect``: ops, shapes, quantization, MACs and bytes per layer."""

from __future__ import annotations

from tinycompiler.commands.common import emit_json


def add_parser(sub) -> None:
    s = sub.add_parser("inspect", help="ops, shapes, quantization, MACs and bytes per layer")
    s.add_argument("model")
    s.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    s.set_defaults(func=run)


def run(args) -> int:
    from dataclasses import asdict

    from tinycompiler.analysis import analyze, format_inspect
    from tinycompiler.frontends import load_model

    graph = load_model(args.model)
    print(format_inspect(graph))
    if args.json:
        emit_json(asdict(analyze(graph)))
    return 0
