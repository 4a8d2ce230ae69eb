"""Writing a self-contained C bundle: the generated model files plus the runtime sources it uses."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tinycompiler.codegen.render import render_model
from tinycompiler.codegen.runtime_sources import all_headers, sources_for
from tinycompiler.output_files import ensure_dir
from tinycompiler.resources import RUNTIME_C

#: headers model.c includes for the kernels
KERNEL_HEADERS = ("tc_conv.h", "tc_ops.h")


@dataclass
class Bundle:
    """A written bundle: ``root`` holds every .c/.h; ``sources`` are the .c files to compile."""

    root: Path
    sources: list
    program: object

    @property
    def arena_bytes(self) -> int:
        return self.program.arena_bytes


def write_bundle(program, out_dir) -> Bundle:
    """Render ``program`` and copy the runtime it needs into ``out_dir`` (created; files replaced).

    The result compiles with any C99 compiler: ``cc -I DIR DIR/*.c``.
    """
    out = ensure_dir(out_dir, "-o")
    headers = [h for h in KERNEL_HEADERS if (RUNTIME_C / "include" / h).exists()]
    files = render_model(program, headers)
    for name, text in files.items():
        path = out / name
        if not path.exists() or path.read_text() != text:  # keep mtimes for incremental builds
            path.write_text(text)
    runtime = sources_for(program.functions)
    for path in all_headers():
        _copy_if_changed(path, out / path.name)
    for name in runtime:
        _copy_if_changed(RUNTIME_C / "src" / name, out / name)
    sources = ["model.c", "weights.c", *runtime]
    return Bundle(out, sources, program)


def _copy_if_changed(src: Path, dst: Path) -> None:
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)
