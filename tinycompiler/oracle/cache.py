"""TFLM's outputs kept on disk, so evaluating the same model on the same samples again (another
board, ``--patch``, ``--opt``, ``--jobs``) does not rerun the oracle.

TFLM is deterministic: its outputs are a function of the model's bytes, the input bytes and the
interpreter's version, and the key is the SHA-256 of exactly those. A cache entry is written
whole or not at all, and one that cannot be read is recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """``$TINYC_CACHE/tflm`` (default: the system temp dir's tinycompiler-cache)."""
    base = Path(os.environ.get("TINYC_CACHE", Path(tempfile.gettempdir()) / "tinycompiler-cache"))
    return base / "tflm"


def _tflm_version() -> str:
    try:
        from importlib.metadata import version

        return version("tflite-micro")
    except Exception:  # noqa: BLE001 -- an unknown version only makes the key unique to this run
        return f"unknown-{os.getpid()}"


def key(model: bytes, samples: list) -> str:
    """The hex SHA-256 naming TFLM's outputs of ``model`` on ``samples`` (lists of arrays)."""
    h = hashlib.sha256()
    h.update(_tflm_version().encode() + b"\0")
    h.update(hashlib.sha256(model).digest())
    for inputs in samples:
        for x in inputs:
            a = np.ascontiguousarray(x)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def load(name: str):
    """The cached list of per-sample output lists, or None (absent or unreadable)."""
    path = cache_dir() / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            n, k = int(data["samples"]), int(data["outputs"])
            return [[data[f"s{i}_o{j}"] for j in range(k)] for i in range(n)]
    except Exception:  # noqa: BLE001 -- a damaged entry is recomputed
        return None


def store(name: str, outputs: list) -> None:
    """Keep ``outputs`` (per-sample output lists) under ``name``; a failure to write is ignored
    (the cache only saves time)."""
    arrays = {f"s{i}_o{j}": np.asarray(o) for i, outs in enumerate(outputs) for j, o in enumerate(outs)}
    buf = io.BytesIO()
    np.savez(buf, samples=len(outputs), outputs=len(outputs[0]) if outputs else 0, **arrays)
    try:
        d = cache_dir()
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getvalue())
        os.replace(tmp, d / f"{name}.npz")
    except OSError:
        pass


def tflm_outputs(model: bytes, samples: list, compute) -> list:
    """Per-sample output lists of TFLM on ``samples``: from the cache, else ``compute()`` (which
    returns the oracle's results with ``.outputs``) and kept."""
    name = key(model, samples)
    hit = load(name)
    if hit is not None and len(hit) == len(samples):
        return hit
    outputs = [[np.asarray(o) for o in r.outputs] for r in compute()]
    store(name, outputs)
    return outputs
