"""PlatformIO, run offline: a private core directory, tool-scons seeded from this venv, and builds.

PlatformIO fetches its SCons (``tool-scons``) from its registry on first use; where the registry is
unreachable every access hangs ~60 s and fails. We install it ourselves from the ``SCons`` package
already in this Python environment (pinned to the version PlatformIO asks for), so ``pio run`` of
an emulated board never touches the network. ``python -m tinycompiler.boards.platformio --seed``
does it from the Makefile.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tinycompiler.errors import TinyCompilerError

#: seconds before a ``pio run`` is declared hung (a registry access alone takes ~60 s to fail)
BUILD_TIMEOUT_S = 300
#: the env var that overrides where PlatformIO keeps its packages and platforms
CORE_DIR_ENV = "TINYC_PLATFORMIO_CORE"


def core_dir() -> Path:
    """PlatformIO's core directory for tinycompiler: ``$TINYC_PLATFORMIO_CORE``, else inside the
    virtual environment (one per checkout), else ``~/.cache/tinycompiler/platformio``."""
    if os.environ.get(CORE_DIR_ENV):
        return Path(os.environ[CORE_DIR_ENV]).expanduser().resolve()
    if sys.prefix != sys.base_prefix and os.access(sys.prefix, os.W_OK):
        return Path(sys.prefix) / "platformio-core"
    return Path.home() / ".cache" / "tinycompiler" / "platformio"


def pio_env() -> dict:
    """The environment for a ``pio`` subprocess: private core dir, no upgrade check, no telemetry,
    and this interpreter's bin directory first on PATH."""
    env = dict(os.environ)
    env.update(PLATFORMIO_CORE_DIR=str(core_dir()), PLATFORMIO_DISABLE_UPGRADE_CHECK="true",
               PLATFORMIO_SETTING_ENABLE_TELEMETRY="No", PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650",
               PLATFORMIO_NO_ANSI="true")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def scons_version() -> str:
    """The tool-scons version PlatformIO pins (e.g. '4.41101.0' for SCons 4.11.1)."""
    from platformio.dependencies import get_core_dependencies

    req = get_core_dependencies()["tool-scons"]
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", req)
    if not match:
        raise TinyCompilerError(f"cannot read PlatformIO's tool-scons pin {req!r}; reinstall platformio==6.2.0")
    return ".".join(match.groups())


def _scons_matches(version: str) -> bool:
    """Does the SCons in this environment satisfy tool-scons ``version`` (4.41101.0 <-> 4.11.1)?"""
    import SCons

    # tool-scons packs the SCons version into its minor field: 4.41101.0 = 4 | 11 | 01
    _, packed, _ = version.split(".")
    if len(packed) < 5:
        return True
    want = f"{int(packed[:-4])}.{int(packed[-4:-2])}.{int(packed[-2:])}"
    return SCons.__version__ == want


_SCONS_PY = '''"""Entry point PlatformIO runs (seeded by tinycompiler from the SCons in its venv)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from SCons.Script.Main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
'''


def seed(core: Path = None) -> Path:
    """Install tool-scons into the core dir from this environment's SCons, without the registry.

    Idempotent and fast (a few file reads) when already seeded; safe against a concurrent seeder
    (the package appears by an atomic rename). Returns the package directory.
    """
    import SCons

    core = Path(core) if core else core_dir()
    version = scons_version()
    if not _scons_matches(version):
        raise TinyCompilerError(f"PlatformIO wants tool-scons {version} but this environment has SCons "
                                f"{SCons.__version__}; pip install the pinned scons (see pyproject.toml)")
    pkg = core / "packages" / "tool-scons"
    scons_src = Path(SCons.__file__).resolve().parent
    meta = {"type": "tool", "name": "tool-scons", "version": version,
            # owner "platformio" is what makes PlatformIO count this copy as its core package
            "spec": {"owner": "platformio", "id": None, "name": "tool-scons", "requirements": None, "uri": None}}
    manifest = {"name": "tool-scons", "version": version, "description": "SCons for PlatformIO (seeded offline)",
                "system": "*"}
    if _seeded(pkg, meta, scons_src):
        return pkg
    pkg.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tool-scons-", dir=pkg.parent))
    (tmp / "SCons").symlink_to(scons_src, target_is_directory=True)
    (tmp / "scons.py").write_text(_SCONS_PY)
    (tmp / "package.json").write_text(json.dumps(manifest, indent=2))
    (tmp / ".piopm").write_text(json.dumps(meta))
    if pkg.exists() or pkg.is_symlink():
        old = pkg.with_name(f".tool-scons-old-{os.getpid()}-{time.monotonic_ns()}")
        try:
            os.replace(pkg, old)
        except FileNotFoundError:
            old = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    try:
        os.replace(tmp, pkg)
    except OSError:  # another process seeded it in between
        shutil.rmtree(tmp, ignore_errors=True)
        if not _seeded(pkg, meta, scons_src):
            raise
    return pkg


def _seeded(pkg: Path, meta: dict, scons_src: Path) -> bool:
    try:
        return (json.loads((pkg / ".piopm").read_text()) == meta and (pkg / "scons.py").is_file()
                and (pkg / "SCons").resolve() == scons_src)
    except (OSError, ValueError):
        return False


@dataclass
class BuildResult:
    """A built firmware: the ELF, its flash bytes (text + rodata + data) and static RAM bytes
    (data + bss, which includes the model arena)."""

    elf: Path
    flash_bytes: int
    ram_bytes: int


def elf_sizes(elf: Path) -> tuple:
    """(flash_bytes, ram_bytes) of an ELF from ``arm-none-eabi-size`` (Berkeley format)."""
    tool = shutil.which("arm-none-eabi-size")
    if tool is None:
        raise TinyCompilerError("arm-none-eabi-size is not on PATH; install binutils-arm-none-eabi (make toolchain)")
    res = subprocess.run([tool, "-B", "-d", str(elf)], capture_output=True, text=True)
    lines = res.stdout.strip().splitlines()
    if res.returncode != 0 or len(lines) < 2:
        raise TinyCompilerError(f"arm-none-eabi-size could not read {elf}: {res.stderr.strip()}")
    text, data, _bss = (int(x) for x in lines[1].split()[:3])
    # Berkeley "bss" also counts the linker script's stack reservation: static RAM from the ELF
    from tinycompiler.boards.elf_ram import read_elf_ram

    return text + data, read_elf_ram(elf).data_bss_bytes


def _first_errors(output: str, limit: int = 3) -> str:
    """The first compiler/linker error lines of a build log, else its last lines."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.search(r"\berror\b|undefined reference|overflow|Error:", ln)]
    return " | ".join((errors or lines[-limit:])[:limit])


def run_pio(args: list, project_dir: Path, timeout: float = BUILD_TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run ``pio <args>`` in ``project_dir`` with :func:`pio_env` (seeding first); output captured."""
    seed()
    cmd = [sys.executable, "-m", "platformio", *args]
    try:
        return subprocess.run(cmd, cwd=project_dir, env=pio_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise TinyCompilerError(f"`pio {' '.join(args)}` in {project_dir} did not finish in {timeout:.0f} s "
                                f"(a PlatformIO registry access hangs offline: build emulated boards only)") from exc


def build(project_dir, board, timeout: float = BUILD_TIMEOUT_S) -> BuildResult:
    """``pio run`` the project's default env for ``board``; the ELF and its flash/RAM bytes."""
    project_dir = Path(project_dir).resolve()  # pio runs with the project as its cwd: a relative -d would not resolve
    if shutil.which("arm-none-eabi-gcc") is None and board.emulated:
        raise TinyCompilerError("arm-none-eabi-gcc is not on PATH; install gcc-arm-none-eabi (make toolchain)")
    from tinycompiler.progress import task

    with task(f"building firmware for {board.id} (PlatformIO)"):
        res = run_pio(["run", "-d", str(project_dir), "-e", board.env_name], project_dir, timeout)
    if res.returncode != 0:
        raise TinyCompilerError(f"PlatformIO build of {board.id} failed: {_first_errors(res.stdout + res.stderr)}")
    elf = project_dir / ".pio" / "build" / board.env_name / "firmware.elf"
    if not elf.is_file():
        raise TinyCompilerError(f"PlatformIO reported success but wrote no {elf}")
    flash, ram = elf_sizes(elf)
    return BuildResult(elf, flash, ram)


def main(argv=None) -> int:
    """``python -m tinycompiler.boards.platformio --seed``: seed the core dir (for make setup)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tinycompiler.boards.platformio")
    parser.add_argument("--seed", action="store_true", help="install tool-scons offline into the core dir")
    args = parser.parse_args(argv)
    if args.seed:
        try:
            pkg = seed()
        except TinyCompilerError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"PlatformIO core {core_dir()}: tool-scons {scons_version()} ready ({pkg})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
