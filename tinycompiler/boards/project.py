"""A complete PlatformIO project for one board: platformio.ini, the model bundle as ``lib/model``,
the harness sources in ``src/``, and (emulated boards) the board manifest for the dev-platform.

Python decides every flag; ``templates/platformio.ini.j2`` only lays them out.
"""

from __future__ import annotations

import json
from pathlib import Path

from tinycompiler.errors import TinyCompilerError
from tinycompiler.output_files import ensure_dir

#: serial speed of the console (the MLPerf Tiny runner's default), bits/s
CONSOLE_BAUD = 115200
#: optimization levels a project may be built with
OPT_LEVELS = ("O2", "Os")
#: the linker script rendered into every project of the local dev-platform
LDSCRIPT = "tc_memory.ld"


def machine_flags(board) -> list:
    """The board's -mcpu/-mthumb/-mfpu/-mfloat-abi flags."""
    return list(board.cflags)


def build_flags(board, opt: str = "O2", debug: bool = False, extra=()) -> list:
    """Compiler flags of the project's env (applied to src/ and lib/model/).

    Emulated boards get their machine flags from the board manifest (the builder applies them to
    compile and link alike); real boards get the core selection here and the float ABI from their
    platform, since mixing ABIs between our objects and the platform's libraries does not link.
    """
    if opt not in OPT_LEVELS:
        raise TinyCompilerError(f"optimization {opt!r} is not one of {', '.join(OPT_LEVELS)}")
    flags = [] if board.emulated else [f for f in board.cflags if not f.startswith("-mfloat-abi")]
    flags += [f"-{opt}", "-Wall", "-Wextra"]
    flags += [f"-DTC_BOARD_CLOCK_HZ={board.clock_hz}", f"-DTC_CONSOLE_BAUD={CONSOLE_BAUD}",
              "-DTC_CYCLE_COUNTER_" + board.cycle_counter.upper().replace("-", "_")]
    if board.qemu is not None and board.qemu.preload_addr is not None:  # the port's tc_port_preload window
        flags += [f"-DTC_PRELOAD_BASE={board.qemu.preload_addr:#x}u",
                  f"-DTC_PRELOAD_BYTES={board.qemu.preload_bytes}u"]
    if debug:  # guard words after the arena, checked by model_invoke(); symbols for a debugger
        flags += ["-DTC_ARENA_GUARD", "-g"]
    return flags + list(extra)


def board_manifest(board) -> dict:
    """The PlatformIO board manifest (boards/<board>.json) of an emulated board, from its TOML."""
    return {
        "name": board.title,
        "vendor": "Arm",
        "url": "https://www.qemu.org/docs/master/system/arm/mps2.html",
        "frameworks": [],
        "build": {"cpu": board.core, "mcu": board.qemu.machine, "f_cpu": f"{board.clock_hz}L",
                  "machine_flags": machine_flags(board), "qemu_machine": board.qemu.machine,
                  "ldscript": LDSCRIPT},
        "upload": {"maximum_ram_size": board.sram_bytes, "maximum_size": board.flash_bytes,
                   "protocol": "qemu", "protocols": ["qemu"]},
        "debug": {},
    }


def linker_script(board, program) -> str:
    """The linker script of ``board`` for ``program`` (a generated bundle's program): the real
    memory map from the board file, the stack where :func:`~tinycompiler.boards.ram_layout.layout_ram`
    puts it."""
    from tinycompiler.boards.ram_layout import STACK_BYTES, program_layout
    from tinycompiler.codegen.render import render_template

    layout = program_layout(board, program)
    return render_template("link/cortex_m.ld.j2", board=board, main=board.regions[0],
                           stack_region=layout.stack_region, stack_bytes=STACK_BYTES)


def _write_if_changed(path: Path, data: bytes) -> None:
    # unchanged files keep their mtime, so PlatformIO rebuilds only what changed
    if not path.exists() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _sync_dir(dst: Path, files: dict) -> None:
    """Make ``dst`` hold exactly ``files`` (relative path -> bytes), deleting stale ones."""
    dst.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        _write_if_changed(dst / rel, data)
    for path in sorted(dst.rglob("*"), reverse=True):
        rel = path.relative_to(dst).as_posix()
        if path.is_file() and rel not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _bundle_files(bundle) -> dict:
    files = {name: (bundle.root / name).read_bytes() for name in bundle.sources}
    for header in sorted(bundle.root.glob("*.h")):
        files[header.name] = header.read_bytes()
    # every source is linked as an object file: nothing is lost to archive extraction rules
    files["library.json"] = (json.dumps({"name": "model", "version": "0.0.0",
                                         "build": {"libArchive": False}}, indent=2) + "\n").encode()
    return files


def _harness_files(harness_dirs) -> dict:
    files, origin = {}, {}
    for d in harness_dirs:
        d = Path(d)
        if not d.is_dir():
            raise TinyCompilerError(f"harness directory {d} does not exist")
        for path in sorted(d.rglob("*")):
            # *.j2 are templates that Python renders (passed in as extra_src_files), not sources
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".j2":
                rel = path.relative_to(d).as_posix()
                if rel in files:
                    raise TinyCompilerError(f"harness file {rel} is in both {origin[rel]} and {d}; rename one")
                files[rel], origin[rel] = path.read_bytes(), d
    return files


def write_project(board, bundle, out_dir, harness_dirs, opt: str = "O2", debug: bool = False,
                  extra_build_flags=(), extra_src_files: dict = None) -> Path:
    """Write a complete PlatformIO project for ``board`` into ``out_dir``; returns its directory.

    ``bundle`` is a written codegen Bundle (copied to ``lib/model/`` unless it already lives there);
    every file of every directory in ``harness_dirs`` goes to ``src/`` (e.g. ``boards/harness`` and
    ``boards/ports/<board.port>``). ``opt`` is "O2" or "Os"; ``debug`` adds ``-DTC_ARENA_GUARD``;
    ``extra_build_flags`` are appended (e.g. ``-include src/tc_layer_hooks.h``); ``extra_src_files``
    (relative path -> str/bytes) are written into ``src/`` too (e.g. a rendered per-model header;
    ``*.j2`` files of the harness dirs are never copied). Rewriting an
    unchanged project touches no file, so rebuilding it is incremental.
    """
    from tinycompiler.codegen.render import render_template

    out = ensure_dir(out_dir, "-o")
    model_dir = out / "lib" / "model"
    if Path(bundle.root).resolve() != model_dir.resolve():
        _sync_dir(model_dir, _bundle_files(bundle))
    else:
        _write_if_changed(model_dir / "library.json", _bundle_files(bundle)["library.json"])
    src = _harness_files(harness_dirs)
    for rel, data in (extra_src_files or {}).items():
        src[rel] = data.encode() if isinstance(data, str) else bytes(data)
    _sync_dir(out / "src", src)

    local = board.platformio.local_platform_dir
    if board.emulated:
        if local is None:
            raise TinyCompilerError(f"board {board.id}: its dev-platform boards/platforms/{board.platformio.platform} is missing")
        manifest = json.dumps(board_manifest(board), indent=2) + "\n"
        _sync_dir(out / "boards", {f"{board.platformio.board}.json": manifest.encode()})
        _write_if_changed(out / LDSCRIPT, linker_script(board, bundle.program).encode())
    # symlink:// keeps the project on the checkout's platform (file:// would copy it once and
    # silently ignore later edits)
    platform = f"symlink://{local}" if local is not None else board.platformio.platform
    unflags = ["-Os"] if opt != "Os" else ["-O2"]
    text = render_template("platformio.ini.j2", board=board, platform=platform, platform_dir=local,
                           model=getattr(bundle.program, "name", "model"),
                           build_flags=build_flags(board, opt, debug, extra_build_flags), build_unflags=unflags,
                           baud=CONSOLE_BAUD)
    _write_if_changed(out / "platformio.ini", text.encode())
    return out


def harness_dirs_for(board) -> list:
    """The harness directories of ``board``: ``boards/harness``, ``boards/ports/<port>`` and, for
    a board of a local dev-platform, the port functions all its boards share (its ``port/``
    folder: reset, the stack of the linker script it renders); a clear error if one is missing."""
    from tinycompiler.resources import BOARDS

    dirs = [BOARDS / "harness", BOARDS / "ports" / board.port]
    local = board.platformio.local_platform_dir
    if local is not None and (local / "port").is_dir():
        dirs.append(local / "port")
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        raise TinyCompilerError(f"board {board.id} needs the firmware harness in {', '.join(missing)}, "
                                f"which this checkout does not have")
    return dirs
