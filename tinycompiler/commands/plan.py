"""``tinyc plan``: where every byte of the arena goes, layer by layer, and whether it fits a board."""

from __future__ import annotations

import inspect

from tinycompiler.commands.common import add_model_args, add_patch_arg, emit_json, load
from tinycompiler.errors import TinyCompilerError
from tinycompiler.output_files import ensure_parent, write_file


def add_parser(sub) -> None:
    s = sub.add_parser("plan", help="the memory plan per layer: peak SRAM and its layer, flash, fit on a board")
    add_model_args(s)
    s.add_argument("--board", help="check the fit against this board's SRAM and flash (see tinyc boards)")
    add_patch_arg(s)
    s.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    s.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report with pictures")
    s.add_argument("--compare-tflm", action="store_true",
                   help="add TFLM's smallest arena (64-bit host interpreter, by bisection) and the ratio")
    s.set_defaults(func=run)


def plan_with_patch(graph, patch: str):
    """``plan_for_codegen(graph, patch=...)`` (which checks the syntax); a clear error while the
    planner cannot patch yet."""
    from tinycompiler.codegen import plan_for_codegen

    if "patch" in inspect.signature(plan_for_codegen).parameters:
        return plan_for_codegen(graph, patch=patch)
    if patch != "off":
        raise TinyCompilerError(f"--patch {patch}: this build plans layer by layer only (no patch-based "
                                "inference yet); use --patch off")
    return plan_for_codegen(graph)


def run(args) -> int:
    from tinycompiler.report import build_memory_report
    from tinycompiler.report.board_fit import load_budget
    from tinycompiler.report.code_size import estimate_code_bytes
    from tinycompiler.report.memory_json import memory_json
    from tinycompiler.report.memory_table import format_memory_table

    board = load_budget(args.board) if args.board else None  # fail on a bad board before any work
    out = ensure_parent(args.html, "--html") if args.html else None  # before the work, not after
    graph = load(args)
    plan = plan_with_patch(graph, args.patch)
    tflm = None
    if args.compare_tflm:
        from tinycompiler.oracle.tflm import min_arena_bytes

        tflm = min_arena_bytes(args.model)
    report = build_memory_report(graph, plan, code=estimate_code_bytes(graph, plan), tflm_arena_bytes=tflm,
                                 board=board)
    if report.fit is not None:
        from tinycompiler.report.board_fit import device_regions

        device_regions(report.fit, args.board, graph, args.patch)
    print(format_memory_table(report))
    if out is not None:
        from tinycompiler.report.memory_html import render_memory_html

        write_file(out, render_memory_html(report), "--html")
        print(f"wrote {out}")
    if args.json:
        emit_json(memory_json(report))
    return 0
