"""The TFLM + CMSIS-NN baseline, built from source and counted in the same QEMU as our firmware.

What the speed goals are measured against: TensorFlow Lite Micro with its CMSIS-NN kernels
(``OPTIMIZED_KERNEL_DIR=cmsis_nn``), built for a board's core with its own Makefile and the
system ``arm-none-eabi-gcc``, linked into a small firmware (``tflm_baseline/main.cc``) with our
board's start-up code, console port and linker script, booted in QEMU with ``-icount`` and timed
with the same counter the harness uses. The second of two ``Invoke()`` calls is reported (the
first warms up), on zero inputs (CMSIS-NN's instruction counts do not depend on the data).

Nothing here is downloaded at run time and nothing lands in the repository: ``--prepare`` unpacks
the pinned commits (``PINS``, the ones TFLM's own download scripts name) from git repositories
already on this machine (``--repos DIR``: ``DIR/<owner>+<name>/repo`` or ``DIR/<name>``) into
``--work`` (default ``/tmp/tc-tflm-baseline``), which also holds the builds.

    .venv/bin/python benchmarks/tflm_baseline.py --prepare --repos /work/.mirror
    .venv/bin/python benchmarks/tflm_baseline.py --board mps2-an500 [--only kws ...]

prints instructions per Invoke for each model and writes benchmarks/results/tflm_baseline_<board>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HERE = ROOT / "benchmarks" / "tflm_baseline"
MODELS_DIR = ROOT / "examples" / "models"
#: dependency -> (GitHub owner/name, commit or tag): TFLM 90b983c and what its Makefile pins
PINS = {
    "tflite-micro": ("tensorflow/tflite-micro", "90b983c2b3f1480642e040bbd2ddb37b998f3424"),
    "cmsis_nn": ("ARM-software/CMSIS-NN", "4ab83cc3cc98fb85ed6dafb55e8ca02f1628dcae"),
    "cmsis": ("ARM-software/CMSIS_6", "5782d6f8057906d360f4b95ec08a2354afe5c9b9"),
    "cmsis/Cortex_DFP": ("ARM-software/Cortex_DFP", "c2c70a97a20fb355815e2ead3d4a40e35a4a3cdf"),
    "flatbuffers": ("google/flatbuffers", "v25.9.23"),
    "gemmlowp": ("google/gemmlowp", "719139ce755a0f31cbf1c37f7f98adcc7fc9f425"),
    "ruy": ("google/ruy", "d37128311b445e758136b8602d1bbd2a755e115d"),
    "kissfft": ("mborgerding/kissfft", "v130"),
}
#: our board -> TFLM's TARGET_ARCH for cortex_m_generic
TARGET_ARCH = {"mps2-an386": "cortex-m4+fp", "mps2-an500": "cortex-m7+fp", "mps2-an505": "cortex-m33+fp",
               "mps3-an547": "cortex-m55"}
#: TFLM parts its own Makefile would build but a library build does not need (they read the
#: example data through PIL or call git at parse time)
_PRUNE = ("tensorflow/lite/micro/examples", "tensorflow/lite/micro/integration_tests",
          "tensorflow/lite/micro/tools/gen_micro_mutable_op_resolver_test",
          "tensorflow/lite/micro/benchmarks/Makefile.inc", "tensorflow/lite/micro/tools/benchmarking/Makefile.inc",
          "tensorflow/lite/micro/tools/Makefile.inc")
_LINE = re.compile(r"TC_BASELINE ticks (\d+) (\d+) arena_used (\d+)")


def _repo(repos: Path, slug: str) -> Path:
    owner, name = slug.split("/")
    for cand in (repos / f"{owner}+{name}" / "repo", repos / name, repos / f"{name}.git"):
        if cand.exists():
            return cand
    raise SystemExit(f"no git repository for {slug} under {repos} (fetch it first)")


def prepare(repos: Path, work: Path) -> None:
    """Unpack every pinned dependency into ``work/src`` and wire TFLM's downloads folder to them."""
    src = work / "src"
    if src.exists():
        shutil.rmtree(src)
    for dest, (slug, rev) in PINS.items():
        out = src / dest
        out.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(_repo(repos, slug)), "archive", rev], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "xf", "-", "-C", str(out)], input=archive, check=True)
    tflm = src / "tflite-micro"
    for patch, folder in (("tensorflow/lite/micro/tools/make/flatbuffers.patch", "flatbuffers"),
                          ("third_party/kissfft/kissfft.patch", "kissfft")):
        subprocess.run(["patch", "-p1", "-s", "-i", str(tflm / patch)], cwd=src / folder, check=True)
    for part in _PRUNE:
        p = tflm / part
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    downloads = tflm / "tensorflow/lite/micro/tools/make/downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    (downloads / "pigweed").mkdir(exist_ok=True)  # only TFLM's own tests use it
    for name in ("cmsis_nn", "cmsis", "flatbuffers", "gemmlowp", "ruy", "kissfft"):
        (downloads / name).symlink_to(src / name)
    stub = work / "pil_stub" / "PIL"  # TFLM's Makefile imports PIL at parse time; no image is converted
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "__init__.py").write_text("Image = None\n")
    print(f"prepared {src}: " + ", ".join(f"{k} {v[1][:12]}" for k, v in PINS.items()))


def _make(work: Path, arch: str, *goals, extra=()) -> subprocess.CompletedProcess:
    import os

    tflm = work / "src" / "tflite-micro"
    env = dict(os.environ, PYTHONPATH=str(work / "pil_stub"))
    argv = ["make", "-s", "-f", "tensorflow/lite/micro/tools/make/Makefile", "TARGET=cortex_m_generic",
            f"TARGET_ARCH={arch}", "OPTIMIZED_KERNEL_DIR=cmsis_nn", "TARGET_TOOLCHAIN_ROOT=/usr/bin/",
            "BUILD_TYPE=release", *extra, *goals]
    return subprocess.run(argv, cwd=tflm, env=env, capture_output=True, text=True)


def build_library(work: Path, arch: str) -> tuple:
    """(libtensorflow-microlite.a, CXXFLAGS, include dirs) for TFLM's ``arch`` (built once)."""
    import os

    res = _make(work, arch, "print-flags", extra=["--eval=print-flags: ; @echo CXX: $(CXXFLAGS); "
                                                  "echo INC: $(INCLUDES); echo LIB: $(MICROLITE_LIB_PATH)"])
    info = dict(line.split(": ", 1) for line in res.stdout.splitlines() if line[:4] in ("CXX:", "INC:", "LIB:"))
    lib = work / "src" / "tflite-micro" / info["LIB"].strip()
    if not lib.exists():
        print(f"building TFLM + CMSIS-NN for {arch} (a few minutes)...", file=sys.stderr)
        res = _make(work, arch, "microlite", extra=[f"-j{os.cpu_count() or 2}"])
        if res.returncode != 0 or not lib.exists():
            raise SystemExit(f"TFLM build failed:\n{res.stderr[-3000:]}")
    tflm = work / "src" / "tflite-micro"
    flags = [f for f in info["CXX"].split() if f != "-MD"]
    incs = [str(tflm / i[2:]) if not i[2:].startswith("/") else i[2:] for i in info["INC"].split()]
    return lib, flags, incs


def build_firmware(work: Path, board, model: Path, arena_bytes: int) -> Path:
    """The baseline firmware ELF for ``model`` on ``board`` (cached by model and arena size)."""
    import hashlib

    import numpy as np

    from tinycompiler.codegen.carray import ConstArray
    from tinycompiler.codegen.render import render_template
    from tinycompiler.resources import BOARDS

    arch = TARGET_ARCH[board.id]
    lib, flags, incs = build_library(work, arch)
    data = model.read_bytes()
    key = hashlib.sha256(data + f"{arena_bytes}{board.id}".encode() + (HERE / "main.cc").read_bytes()).hexdigest()[:16]
    out = work / "fw" / board.id / f"{model.stem}-{key}"
    elf = out / "firmware.elf"
    if elf.exists():
        return elf
    out.mkdir(parents=True, exist_ok=True)
    import jinja2

    body = ConstArray("m", np.frombuffer(data, np.uint8)).initializer()
    header = jinja2.Template((HERE / "model_data.h.j2").read_text(), keep_trailing_newline=True).render(
        name=model.name, arena_bytes=arena_bytes, length=len(data), body=body)
    (out / "model_data.h").write_text(header)
    (out / "tc_memory.ld").write_text(render_template("link/cortex_m.ld.j2", board=board, main=board.regions[0],
                                                      stack_region=board.regions[0].name, stack_bytes=16384))
    port = BOARDS / "ports" / board.port
    platform = BOARDS / "platforms" / "cortex-m"
    c_sources = [platform / "startup" / "startup_cortex_m.c", platform / "port" / "tc_port_cortex_m.c",
                 *sorted(port.glob("*.c"))]
    objs = []
    for c in c_sources:
        o = out / (c.stem + ".o")
        subprocess.run(["arm-none-eabi-gcc", *board.cflags, "-O2", "-std=c99", "-ffunction-sections",
                        "-fdata-sections", "-I", str(BOARDS / "harness"), "-c", str(c), "-o", str(o)], check=True)
        objs.append(o)
    main_o = out / "main.o"
    subprocess.run(["arm-none-eabi-g++", *flags, "-O2", *[f"-I{i}" for i in incs], "-I", str(out), "-I",
                    str(BOARDS / "harness"), "-c", str(HERE / "main.cc"), "-o", str(main_o)], check=True)
    subprocess.run(["arm-none-eabi-g++", *board.cflags, "-nostartfiles", "--specs=nosys.specs", "-Wl,--gc-sections",
                    "-T", str(out / "tc_memory.ld"), str(main_o), *map(str, objs), str(lib), "-lc", "-lm", "-lgcc",
                    "-lnosys", "-o", str(elf)], check=True)
    return elf


def arena_for(model: Path) -> int:
    """An arena TFLM surely runs ``model`` in (bytes): its smallest host arena plus 16 KB (a 32-bit
    build needs less), or 1 MiB when the bisection itself makes TFLM abort (the count does not
    depend on the arena's size)."""
    from tinycompiler.errors import TinyCompilerError
    from tinycompiler.oracle.tflm import min_arena_bytes

    try:
        return min_arena_bytes(model) + 16 * 1024
    except TinyCompilerError:
        return 1 << 20


def measure(work: Path, board, model: Path, arena_bytes: int) -> dict:
    """Instructions of one TFLM + CMSIS-NN Invoke() of ``model`` on the emulated ``board``."""
    from tinycompiler.boards.qemu import command, instructions_from_ticks

    elf = build_firmware(work, board, model, arena_bytes)
    res = subprocess.run(command(board, elf, "stdio"), capture_output=True, text=True, timeout=1200)
    m = _LINE.search(res.stdout)
    if m is None:
        raise SystemExit(f"{model.name} on {board.id}: no count (exit {res.returncode}): {res.stdout[-500:]}")
    warm, ticks, used = (int(v) for v in m.groups())
    return {"model": model.stem, "board": board.id, "instructions": instructions_from_ticks(board, ticks),
            "first_invoke_instructions": instructions_from_ticks(board, warm), "arena_used_bytes": used,
            "elf": str(elf)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepare", action="store_true", help="unpack the pinned sources first (needs --repos)")
    ap.add_argument("--repos", type=Path, help="folder holding the git repositories of PINS")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tc-tflm-baseline"), help="sources and builds")
    ap.add_argument("--board", default="mps2-an386", choices=sorted(TARGET_ARCH))
    ap.add_argument("--only", nargs="*", help="model stems (default: every bundled model)")
    ap.add_argument("--model", type=Path, nargs="*", default=[], help="further .tflite files")
    ap.add_argument("--json", type=Path, help="default benchmarks/results/tflm_baseline_<board>.json")
    args = ap.parse_args(argv)
    if args.prepare:
        if args.repos is None:
            ap.error("--prepare needs --repos")
        prepare(args.repos, args.work)
    from tinycompiler.boards import load_board

    board = load_board(args.board)
    models = [p for p in sorted(MODELS_DIR.glob("*.tflite")) if not args.only or p.stem in args.only] + args.model
    rows = []
    for p in models:
        r = measure(args.work, board, p, arena_for(p))
        rows.append(r)
        print(f"{r['model']:40} {r['instructions']:>13,} instructions  (arena used {r['arena_used_bytes']:,} B)")
    out = args.json or ROOT / "benchmarks" / "results" / f"tflm_baseline_{board.id}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"board": board.id, "tflm_arch": TARGET_ARCH[board.id],
                               "pins": {k: v[1] for k, v in PINS.items()}, "rows": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
