"""Building the harness firmware for one model on one board, cached by content.

The PlatformIO project (part of ``tinycompiler.boards``) gets the model bundle as ``lib/model``
and, in ``src/``, the protocol core (``boards/harness``), the board's port
(``boards/ports/<port>``) and this model's ``tc_model_info.h``. ``tc_layer_hooks.h`` is
force-included everywhere so that model.c's TC_LAYER_BEGIN/END hooks time every layer.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tinycompiler.harness.model_info import write_model_info

#: flags every harness build gets: per-layer timing hooks in model.c
HOOK_FLAGS = ("-include $PROJECT_SRC_DIR/tc_layer_hooks.h",)


@dataclass
class Firmware:
    """A built harness firmware: its project, ELF, sizes (bytes) and the bundle it holds."""

    board: object
    bundle: object = field(repr=False)
    project: Path
    elf: Path
    flash_bytes: int
    ram_bytes: int
    model_id: int
    debug: bool

    @cached_property
    def elf_ram(self):
        """The ELF's RAM sections, arena symbols and stack reservation (:mod:`~tinycompiler.boards.elf_ram`),
        read once per firmware."""
        from tinycompiler.boards.elf_ram import read_elf_ram

        return read_elf_ram(self.elf)


def cache_root() -> Path:
    """Where built projects are kept: ``$TINYC_CACHE/boards`` (default: the system temp dir)."""
    base = Path(os.environ.get("TINYC_CACHE", Path(tempfile.gettempdir()) / "tinycompiler-cache"))
    return base / "boards"


def _tree_digest(digest, root: Path) -> None:
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())


def build_firmware(graph, board, debug: bool = False, work_dir=None, patch="off", opt: str = "O2") -> Firmware:
    """Generate ``graph``'s bundle, write the project for ``board`` and build it (PlatformIO).

    A project directory is keyed by the SHA-256 of everything that goes into it (bundle, harness,
    port, board file, flags), so the same model on the same board is built once; a real board is
    written but not built here (its platform needs the PlatformIO registry): ``elf`` is None then.
    ``patch``: patch-based first stage, as for :func:`tinycompiler.codegen.plan_for_codegen`; it
    changes the bundle, so it is part of the key through the bundle's files. ``opt``: ``O2`` (speed,
    the default) or ``Os`` (smaller code, for a model tight on flash); part of the key.
    """
    from tinycompiler.boards.fit import check_program_fits
    from tinycompiler.boards.platformio import build
    from tinycompiler.boards.project import harness_dirs_for, write_project
    from tinycompiler.boards.region_plan import plan_for_board
    from tinycompiler.codegen import generate
    from tinycompiler.harness.model_info import model_id

    staging = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="tinyc-fw-"))
    plan, regions, _ = plan_for_board(board, graph, patch)  # split across RAM regions when it must be
    bundle = generate(graph, staging / "bundle", plan=plan, region_names=regions, lean=opt == "Os")
    # before any project is written or built: a model too big for the board is refused with numbers
    check_program_fits(board, bundle.program, graph, patch)
    info_dir = staging / "model_info"
    write_model_info(bundle, info_dir)
    dirs = [*harness_dirs_for(board), info_dir]

    digest = hashlib.sha256()
    for d in [bundle.root, *dirs]:
        _tree_digest(digest, d)
    digest.update(Path(board.path).read_bytes() if board.path else board.id.encode())
    digest.update(json.dumps({"debug": debug, "flags": HOOK_FLAGS, "opt": opt}).encode())
    project = cache_root() / board.id / digest.hexdigest()[:20]
    # the console the port opens (e.g. -DTC_CONSOLE_USART3 for the STM32 HAL port)
    console = "-DTC_CONSOLE_" + "".join(c if c.isalnum() else "_" for c in board.console.upper())
    write_project(board, bundle, project, dirs, debug=debug, opt=opt, extra_build_flags=(*HOOK_FLAGS, console))
    fw = Firmware(board, bundle, project, None, 0, 0, model_id(bundle), debug)
    if not board.emulated:
        return fw
    done = project / "build.json"
    if done.is_file():
        meta = json.loads(done.read_text())
        if Path(meta["elf"]).is_file():
            fw.elf, fw.flash_bytes, fw.ram_bytes = Path(meta["elf"]), meta["flash_bytes"], meta["ram_bytes"]
            return fw
    result = build(project, board)
    fw.elf, fw.flash_bytes, fw.ram_bytes = result.elf, result.flash_bytes, result.ram_bytes
    done.write_text(json.dumps({"elf": str(result.elf), "flash_bytes": result.flash_bytes,
                                "ram_bytes": result.ram_bytes}))
    return fw
