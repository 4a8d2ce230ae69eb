"""``tinyc compile``: write the C bundle (host) or, for a board, its complete PlatformIO project."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tinycompiler.commands.common import add_model_args, add_opt_arg, add_patch_arg, emit_json, load

#: --board values that get the plain C bundle, not a PlatformIO project
BUNDLE_ONLY = ("host", "reference")


def add_parser(sub) -> None:
    s = sub.add_parser("compile", help="generate the C bundle, or for a board a complete PlatformIO project")
    add_model_args(s)
    s.add_argument("--board", default="host", help="host (the bundle only) or a board from `tinyc boards`")
    s.add_argument("-o", "--output", required=True, help="directory to write into")
    s.add_argument("--build", action="store_true", help="also build the board's firmware with PlatformIO "
                   "(emulated boards build offline) and print its flash/RAM bytes")
    add_opt_arg(s)
    s.add_argument("--debug", action="store_true", help="debug build: guard words after the arena (TC_ARENA_GUARD)")
    add_patch_arg(s)
    s.add_argument("--harness", action="append", type=Path, metavar="DIR",
                   help="directory copied into the project's src/ (repeatable); default: boards/harness and "
                        "boards/ports/<the board's port>")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run)


def run(args) -> int:

    graph = load(args)
    if args.board in BUNDLE_ONLY:
        return _compile_bundle(graph, args)
    return _compile_project(graph, args)


def _compile_bundle(graph, args) -> int:
    from tinycompiler.codegen import generate

    bundle = generate(graph, args.output, patch=args.patch)
    program = bundle.program
    print(f"wrote {len(bundle.sources)} C sources + headers to {bundle.root}")
    print(f"arena {program.arena_bytes} B (one static array), weights {program.weight_bytes} B of flash, "
          f"{len(program.calls)} kernel calls")
    if args.json:
        emit_json({"board": args.board, "output_dir": str(bundle.root), "sources": bundle.sources,
                   "arena_bytes": program.arena_bytes, "flash_weights_bytes": program.weight_bytes})
    return 0


def _load_board(board_id: str):
    from tinycompiler.boards.registry import board_ids, load_board
    from tinycompiler.errors import TinyCompilerError

    try:
        return load_board(board_id)
    except TinyCompilerError:
        if board_id in board_ids():
            raise  # the file exists but is broken: its own message says how
        raise TinyCompilerError(f"unknown board {board_id!r}; known: {', '.join([*BUNDLE_ONLY, *board_ids()])} "
                                f"(see `tinyc boards`)") from None


def _harness_extras(board, bundle) -> tuple:
    """(extra src files, extra build flags) the serial harness needs for this model: its rendered
    ``tc_model_info.h`` and the per-layer hook flags (the same ones the harness's own builds use)."""
    from tinycompiler.harness.firmware import HOOK_FLAGS
    from tinycompiler.harness.model_info import render_model_info

    return {"tc_model_info.h": render_model_info(bundle)}, list(HOOK_FLAGS)


def _regions_json(layout) -> list:
    """The planned bytes per RAM region, for --json."""
    return [{"name": u.region.name, "origin": u.region.origin, "bytes": u.region.bytes, "dma": u.region.dma,
             "arena_bytes": u.arena_bytes, "static_bytes": u.static_bytes, "stack_bytes": u.stack_bytes,
             "free_bytes": u.free} for u in layout.uses]


def _compile_project(graph, args) -> int:
    from tinycompiler.boards.fit import check_program_fits, flash_needed
    from tinycompiler.boards.ram_layout import program_layout
    from tinycompiler.boards.region_plan import plan_for_board
    from tinycompiler.boards.project import harness_dirs_for, write_project
    from tinycompiler.codegen import generate

    board = _load_board(args.board)
    harness = args.harness or harness_dirs_for(board)
    with tempfile.TemporaryDirectory(prefix="tinyc-bundle-") as tmp:
        # generated aside first: a model that does not fit leaves no half-written project behind
        plan, regions, _ = plan_for_board(board, graph, args.patch)  # split across RAM regions when it must be
        bundle = generate(graph, Path(tmp) / "model", plan=plan, region_names=regions, lean=args.opt == "Os")
        program = bundle.program
        check_program_fits(board, program, graph, args.patch)
        files, flags = _harness_extras(board, bundle) if not args.harness else ({}, [])
        project = write_project(board, bundle, args.output, harness, opt=args.opt, debug=args.debug,
                                extra_build_flags=flags, extra_src_files=files)
    flash = flash_needed(program.weight_bytes)
    layout = program_layout(board, program)
    print(f"wrote PlatformIO project {project} (env {board.env_name}, {board.title})")
    print(f"RAM: {layout.describe()}")
    print(f"weights {program.weight_bytes} B + reserve -> {flash} B of {board.flash_bytes} B flash")
    result = {"board": board.id, "output_dir": str(project), "env": board.env_name, "emulated": board.emulated,
              "arena_bytes": program.arena_bytes, "flash_weights_bytes": program.weight_bytes,
              "sram_bytes": board.sram_bytes, "flash_bytes": board.flash_bytes,
              "ram_regions": _regions_json(layout)}
    if args.build:
        from tinycompiler.boards.platformio import build

        built = build(project, board)
        print(f"built {built.elf}: flash {built.flash_bytes} B of {board.flash_bytes} B, "
              f"static RAM {built.ram_bytes} B of {board.sram_bytes} B (arena included; stack not counted)")
        result.update(elf=str(built.elf), firmware_flash_bytes=built.flash_bytes,
                      firmware_ram_bytes=built.ram_bytes)
    elif not board.emulated:
        print("build it with `pio run` where PlatformIO's registry is reachable, or flash it with `pio run -t upload`")
    if args.json:
        emit_json(result)
    return 0
