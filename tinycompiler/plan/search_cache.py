"""The ``--patch auto`` search's answers kept on disk: the search takes seconds to a minute on a
large model and every command that plans asks it again (plan, compile, run, the fit check).

The search is deterministic, so its answer is a function of the graph as planned, the kernel
scratch sizes, the search bounds and the planner's own source; the key is the SHA-256 of exactly
those. What is kept is the chosen option (``NxMxK``) and the search record; the plan itself is
always rebuilt from the option, so a stale or damaged entry can cost bytes but never correctness,
and one that cannot be read is searched again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

#: the planner's package: its source is part of the key
PLAN_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """``$TINYC_CACHE/patch-search`` (default: the system temp dir's tinycompiler-cache)."""
    base = Path(os.environ.get("TINYC_CACHE", Path(tempfile.gettempdir()) / "tinycompiler-cache"))
    return base / "patch-search"


def _planner_source() -> bytes:
    return b"".join(p.read_bytes() for p in sorted(PLAN_DIR.glob("*.py")))


def search_key(graph, scratch, bounds: tuple) -> str:
    """SHA-256 over the graph's ops and tensors (constants by their bytes), each op's scratch
    bytes, the search bounds and the planner's source."""
    h = hashlib.sha256()
    h.update(_planner_source())
    h.update(repr(bounds).encode())
    for t in graph.tensors:
        q = t.quant
        h.update(repr((t.index, tuple(t.shape), t.dtype, None if q is None else (q.scale.tobytes(),
                                                                                 q.zero_point.tobytes(), q.axis))).encode())
        if t.data is not None:
            h.update(hashlib.sha256(bytes(memoryview(t.data.tobytes()))).digest())
    for op in graph.ops:
        h.update(repr((op.index, op.kind, op.inputs, op.outputs, sorted(op.attrs.items(), key=str),
                       scratch.get(op.index, 0))).encode())
    h.update(repr((graph.inputs, graph.outputs, sorted(graph.written_inputs.items()))).encode())
    return h.hexdigest()


def load(key: str):
    """``(option or None, search record)`` kept under ``key``, or None when absent or unreadable."""
    path = cache_dir() / f"{key}.json"
    try:
        d = json.loads(path.read_text())
        return d["option"], d["search"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(key: str, option, search: dict) -> None:
    """Keep an answer (written whole or not at all; a cache that cannot be written is skipped)."""
    path = cache_dir() / f"{key}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"option": option, "search": search}))
        os.replace(tmp, path)
    except OSError:
        pass
