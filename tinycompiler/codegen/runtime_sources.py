"""Which runtime_c sources a bundle needs: the closure of the functions its calls use.

Each public runtime function ``tc_x`` is defined in ``runtime_c/src/<file>.c``; the index is built
by reading the definitions, so a new kernel file needs no registration here.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tinycompiler.resources import RUNTIME_C

_DEFINITION = re.compile(r"^[A-Za-z_][\w \*]*?\b(tc_\w+)\s*\([^;]*?\)\s*\{", re.M | re.S)
_REFERENCE = re.compile(r"\b(tc_\w+)\s*\(")


@lru_cache(maxsize=1)
def _index() -> tuple:
    """(function -> defining file name, file name -> functions it calls)."""
    defined, calls = {}, {}
    for path in sorted((RUNTIME_C / "src").glob("*.c")):
        text = path.read_text()
        for name in _DEFINITION.findall(text):
            defined.setdefault(name, path.name)
        calls[path.name] = set(_REFERENCE.findall(text))
    return defined, calls


def sources_for(functions) -> list:
    """runtime_c/src file names needed to link ``functions`` (sorted)."""
    defined, calls = _index()
    needed, todo = set(), [f for f in functions]
    while todo:
        f = todo.pop()
        src = defined.get(f)
        if src is None or src in needed:
            continue
        needed.add(src)
        todo.extend(calls[src])
    missing = [f for f in functions if f not in defined]
    if missing:
        raise RuntimeError(f"runtime_c defines no {', '.join(missing)}")
    return sorted(needed)


def all_headers() -> list:
    """Paths of every runtime header, public and internal (small; bundles carry all of them)."""
    return sorted((RUNTIME_C / "include").glob("*.h")) + sorted((RUNTIME_C / "src").glob("*.h"))
