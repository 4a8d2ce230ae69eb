"""The ``host`` board: the generated bundle built with the system C compiler and run natively.

Used for fast bit-exactness checks of the generated C (and under ASan/UBSan in the tests).
Builds are cached by the content of the bundle, so verifying many inputs compiles once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.targets.base import RunResult

CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"]
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]
_NP = {"int8_t": np.int8, "uint8_t": np.uint8, "int16_t": np.int16, "int32_t": np.int32, "float": np.float32}


def _cache_dir() -> Path:
    return Path(os.environ.get("TINYC_CACHE", Path(tempfile.gettempdir()) / "tinycompiler-host"))


def compile_bundle(bundle, exe: Path, sanitize: bool = False, cc: str = None) -> Path:
    """Compile a bundle plus the host harness into ``exe``; raise TinyCompilerError with the
    compiler's first lines on failure (a warning is a failure: -Werror)."""
    from tinycompiler.codegen.render import render_template

    cc = cc or os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise TinyCompilerError(f"the host board needs a C compiler; {cc!r} is not on PATH (set CC)")
    main = bundle.root / "host_main.c"
    main.write_text(render_template("host_main.c.j2", name=bundle.program.name))
    flags = CFLAGS + (SANITIZE_FLAGS if sanitize else []) + ["-DTC_ARENA_GUARD"] * (not sanitize)
    cmd = [cc, *flags, "-I", str(bundle.root), *[str(bundle.root / s) for s in bundle.sources], str(main), "-o", str(exe), "-lm"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        first = " | ".join(res.stderr.strip().splitlines()[:3])
        raise TinyCompilerError(f"host build of the generated C failed: {first}")
    return exe


class HostTarget:
    name = "host"
    title = "this machine's C compiler (gcc -O2 -Wall -Wextra -Werror), run natively"
    layerwise = False

    def __init__(self, sanitize: bool = False, patch="off", lean: bool = False):
        self.sanitize = sanitize
        self.patch = patch  # patch-based first stage: off | auto | NxMxK (tinycompiler/plan/patch.py)
        self.lean = lean  # the lean constant layouts that --opt Os gives a board's firmware
        self._built = {}

    def build(self, graph, out_dir=None):
        """Generate and compile ``graph``; returns (bundle, executable path)."""
        from tinycompiler.codegen import generate

        key = id(graph)
        if key in self._built:
            return self._built[key]
        work = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="tinyc-host-"))
        bundle = generate(graph, work / "bundle", patch=self.patch, lean=self.lean)
        digest = hashlib.sha256()
        for s in sorted(bundle.root.iterdir()):
            digest.update(s.name.encode())
            digest.update(s.read_bytes())
        digest.update(b"asan" if self.sanitize else b"plain")
        exe = _cache_dir() / f"model-{digest.hexdigest()[:20]}"
        if not exe.exists():
            exe.parent.mkdir(parents=True, exist_ok=True)
            tmp = exe.with_name(exe.name + f".{os.getpid()}.tmp")
            compile_bundle(bundle, tmp, self.sanitize)
            os.replace(tmp, exe)
        self._built[key] = (bundle, exe)
        return bundle, exe

    def run(self, graph, inputs) -> RunResult:
        """One inference through the compiled bundle; outputs decoded with the model's dtypes."""
        bundle, exe = self.build(graph)
        program = bundle.program
        with tempfile.TemporaryDirectory(prefix="tinyc-run-") as tmp:
            fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
            fin.write_bytes(b"".join(np.ascontiguousarray(x).tobytes() for x in inputs))
            env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
            res = subprocess.run([str(exe), str(fin), str(fout)], capture_output=True, text=True, env=env, timeout=600)
            if res.returncode != 0:
                first = " | ".join((res.stderr or res.stdout).strip().splitlines()[:4])
                raise TinyCompilerError(f"the generated model failed on the host (exit {res.returncode}): {first}")
            raw = fout.read_bytes()
        outputs, pos = [], 0
        for io in program.outputs:
            arr = np.frombuffer(raw[pos:pos + io.nbytes], dtype=_NP[io.ctype]).reshape(io.shape).copy()
            outputs.append(arr)
            pos += io.nbytes
        return RunResult(outputs=outputs, metrics={"arena_bytes": program.arena_bytes,
                                                   "flash_weights_bytes": program.weight_bytes})
