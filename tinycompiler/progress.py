"""Progress lines for long work (firmware builds, evaluation over samples, the patch search,
benchmarks), on stderr and only on a terminal.

They are drawn when stderr is a terminal, never under ``--json`` (the CLI calls :func:`quiet`) and
never into a pipe or a log, so scripted output stays exactly what the command prints. The
environment variable ``TINYC_PROGRESS=1`` forces them on (``0`` off), e.g. for a terminal recorder.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager

_quiet = False
#: at most this many redraws a second
_RATE = 10.0


def quiet(flag: bool = True) -> None:
    """Silence (or allow again) every progress line of this process, e.g. for ``--json``."""
    global _quiet
    _quiet = flag


def enabled() -> bool:
    """Are progress lines drawn now? (not quiet, and stderr a terminal or TINYC_PROGRESS=1)"""
    if _quiet:
        return False
    forced = os.environ.get("TINYC_PROGRESS")
    if forced in ("0", "1"):
        return forced == "1"
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _draw(text: str, final: bool = False) -> None:
    sys.stderr.write("\r\x1b[K" + text + ("\n" if final else ""))
    sys.stderr.flush()


class Bar:
    """A counted progress bar: ``[#####.....] 12/360 label text (3.1/s)``.

    ``update(done, text)`` redraws at most 10 times a second, and always at the end; ``close()``
    ends the line. Drawing nothing when :func:`enabled` is false, it costs nothing then.
    """

    def __init__(self, total: int, label: str):
        self.total, self.label = max(int(total), 0), label
        self.on = enabled()
        self.start = time.monotonic()
        self._last = 0.0
        self._closed = False

    def update(self, done: int, text: str = "") -> None:
        if not self.on or self._closed:
            return
        now = time.monotonic()
        if done < self.total and now - self._last < 1.0 / _RATE:
            return
        self._last = now
        width = 24
        filled = width * done // max(self.total, 1)
        rate = done / max(now - self.start, 1e-9)
        extra = f" {text}" if text else ""
        _draw(f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {self.label}{extra} ({rate:.1f}/s)")

    def close(self) -> None:
        if self.on and not self._closed:
            _draw(f"{self.label}: {self.total} in {time.monotonic() - self.start:.1f} s", final=True)
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        elif self.on and not self._closed:  # failed: end the line, keep the error readable
            sys.stderr.write("\n")
            self._closed = True


@contextmanager
def task(label: str):
    """A step of unknown length (a firmware build): ``label ... 4 s`` ticking once a second, then
    ``label: done in 4.2 s``."""
    if not enabled():
        yield
        return
    start = time.monotonic()
    stop = threading.Event()

    def tick():
        while not stop.wait(1.0):
            _draw(f"{label} ... {time.monotonic() - start:.0f} s")

    _draw(f"{label} ...")
    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    ok = False
    try:
        yield
        ok = True
    finally:
        stop.set()
        ticker.join()
        _draw(f"{label}: {'done' if ok else 'failed'} in {time.monotonic() - start:.1f} s", final=True)


__all__ = ["Bar", "enabled", "quiet", "task"]
