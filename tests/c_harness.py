"""Compile runtime_c sources into a host shared library and load it with ctypes, for kernel tests.

Each test asks only for the sources it needs, so one broken kernel does not fail every test.
Libraries are cached by a hash of the sources and flags, under the pytest cache dir.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "runtime_c"
WARN_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wconversion", "-Wno-sign-conversion"]
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
_CACHE = Path(os.environ.get("TC_TEST_CACHE", Path(tempfile.gettempdir()) / "tinycompiler-ctest"))


def build_library(sources, extra_flags=(), opt="-O2") -> Path:
    """Compile ``sources`` (paths relative to runtime_c/src or absolute) into a .so; return its path."""
    paths = [Path(s) if Path(s).is_absolute() else RUNTIME / "src" / s for s in sources]
    headers = sorted((RUNTIME / "include").glob("*.h"))
    h = hashlib.sha256()
    for p in paths + headers:
        h.update(str(p).encode())
        h.update(p.read_bytes())
    flags = [opt, "-fPIC", "-shared", *WARN_FLAGS, *extra_flags]
    h.update(" ".join(flags).encode())
    out = _CACHE / f"libtc_{h.hexdigest()[:16]}.so"
    if not out.exists():
        _CACHE.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        cmd = ["gcc", *flags, "-I", str(RUNTIME / "include"), *map(str, paths), "-o", str(tmp)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise AssertionError(f"compile failed: {' '.join(cmd)}\n{res.stderr}")
        os.replace(tmp, out)
    return out


def load_library(sources, extra_flags=(), opt="-O2") -> ctypes.CDLL:
    """Build (cached) and dlopen the kernels in ``sources``."""
    return ctypes.CDLL(str(build_library(sources, extra_flags, opt)))


def ptr(a: np.ndarray, ctype=ctypes.c_int8):
    """A ctypes pointer to a C-contiguous numpy array's data."""
    assert a.flags["C_CONTIGUOUS"]
    return a.ctypes.data_as(ctypes.POINTER(ctype))
