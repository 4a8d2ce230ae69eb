"""Writing the files a user names (``--html``, ``--output``, ``-o``, JSON): parent folders are
created, and a file is written whole or not at all (a temporary file beside it, then renamed), so
a failed write never leaves a truncated report or model behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tinycompiler.errors import TinyCompilerError


def _why(e: OSError) -> str:
    return os.strerror(e.errno) if e.errno else str(e)


def ensure_parent(path, what: str = "") -> Path:
    """Create ``path``'s parent folders; a clear error when that is impossible (e.g. a parent is a
    file). Returns ``path`` as a Path."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TinyCompilerError(f"{what + ' ' if what else ''}{path}: cannot create folder {path.parent}: "
                                f"{_why(e)}") from None
    return path


def ensure_dir(path, what: str = "") -> Path:
    """Create the folder ``path`` (and its parents); a clear error when that is impossible."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TinyCompilerError(f"{what + ' ' if what else ''}{path}: cannot create folder: {_why(e)}") from None
    return path


def write_file(path, data, what: str = "") -> Path:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically, creating its parent folders.
    ``what`` names the option in error messages (``--html``)."""
    path = ensure_parent(path, what)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise TinyCompilerError(f"{what + ' ' if what else ''}{path}: cannot write: {_why(e)}") from None
    return path
