"""Booting an emulated board's firmware in QEMU, with its console UART on a socket or a pty.

QEMU runs with ``-icount shift=7,align=off,sleep=off``: every guest instruction advances virtual
time by exactly 2^7 ns, so runs are repeatable byte for byte and timer0 ticks convert exactly into
instructions (:func:`instructions_from_ticks`). QEMU has no timing model: these are instructions,
not cycles. Semihosting is on, so the firmware ends the run with its own exit code.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tinycompiler.errors import TinyCompilerError

ICOUNT = "shift=7,align=off,sleep=off"
#: seconds to wait for QEMU to open its serial endpoint
START_TIMEOUT_S = 10.0
_PTY_LINE = re.compile(r"char device redirected to (\S+)")


def instructions_from_ticks(board, ticks: int) -> int:
    """Guest instructions executed during ``ticks`` timer0 ticks (exact under -icount shift=7)."""
    if board.qemu is None:
        raise TinyCompilerError(f"board {board.id} is real hardware: timer ticks there are not instructions")
    return round(ticks * board.qemu.instructions_per_tick)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    """Is something listening on 127.0.0.1:port? Read from /proc, because a probing connect()
    would take the guest's first bytes with it."""
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return True  # no /proc: fall back on the fixed start-up delay below
    want = f"0100007F:{port:04X}"
    return any(f.split()[1] == want and f.split()[3] == "0A" for f in table if len(f.split()) > 3)


class QemuSession:
    """A running QEMU. ``url`` opens the console with ``serial.serial_for_url(url)``;
    ``process`` is the Popen; ``stop()`` (or leaving the ``with`` block) ends it."""

    def __init__(self, board, elf: Path, process: subprocess.Popen, url: str, log: Path):
        self.board, self.elf, self.process, self.url, self._log = board, Path(elf), process, url, log
        self.preload_file = None  # the preload blob, removed when the session stops
        self._final_log = None  # the log's text once stop() has removed its file

    def log(self) -> str:
        """What QEMU itself printed (stdout + stderr), for diagnostics."""
        if self._final_log is not None:
            return self._final_log
        try:
            return self._log.read_text(errors="replace")
        except OSError:
            return ""

    def wait(self, timeout: float) -> int:
        """Wait for the firmware to exit (semihosting) and return its exit code; on timeout stop
        QEMU and raise TinyCompilerError."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise TinyCompilerError(f"{self.elf.name} did not exit within {timeout:.0f} s in QEMU "
                                    f"{self.board.qemu.machine}; it may be waiting for input or hung") from None

    def stop(self) -> None:
        """End QEMU (no-op if the firmware already exited)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.preload_file is not None:
            Path(self.preload_file).unlink(missing_ok=True)
            self.preload_file = None
        if self._final_log is None:  # keep the text for error messages; leave no file in /tmp
            self._final_log = self.log()
            self._log.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def command(board, elf, serial_arg: str, preload_file=None) -> list:
    """The qemu-system-arm argv that boots ``elf`` on ``board`` with ``-serial <serial_arg>``
    (and ``preload_file`` loaded raw at the board's ``preload_addr``)."""
    argv = ["qemu-system-arm", "-M", board.qemu.machine, "-nographic", "-monitor", "none",
            "-icount", ICOUNT, "-semihosting-config", "enable=on,target=native",
            "-serial", serial_arg, "-kernel", str(elf)]
    if preload_file is not None:
        argv += ["-device", f"loader,file={preload_file},addr={board.qemu.preload_addr:#x},force-raw=on"]
    return argv


def preload_capacity(board) -> int:
    """Bytes of input data the board's preload window holds (0: the board has none)."""
    q = board.qemu
    return max(q.preload_bytes - 4, 0) if q is not None and q.preload_addr is not None else 0


def write_preload(board, data: bytes) -> Path:
    """The blob ``tc_port_preload`` reads: a little-endian u32 byte count, then ``data`` (the
    samples back to back). A temporary file; the caller removes it."""
    if len(data) > preload_capacity(board):
        raise TinyCompilerError(f"{len(data)} B of inputs do not fit {board.id}'s preload window "
                                f"({preload_capacity(board)} B)")
    fd, name = tempfile.mkstemp(prefix="tinyc-preload-", suffix=".bin")
    with open(fd, "wb") as f:
        f.write(len(data).to_bytes(4, "little") + data)
    return Path(name)


def start(board, elf, serial: str = "tcp", timeout: float = START_TIMEOUT_S, preload: bytes = None) -> QemuSession:
    """Boot ``elf`` on the emulated ``board``; returns once the console can be opened.

    ``serial="tcp"``: the UART is a TCP server on a free local port (``url`` is
    ``socket://127.0.0.1:PORT``) and the guest starts only when the host connects, so no byte is
    missed even from a firmware that prints and exits at once; ``"pty"``: a pseudo-terminal
    (``url`` is ``/dev/pts/N``), the guest starts at once and QEMU keeps what it writes until
    the host opens the pty (while QEMU runs). ``preload``: bytes placed in the board's preload
    window before boot (:func:`write_preload`), for INFER of preloaded samples.
    """
    if board.qemu is None:
        raise TinyCompilerError(f"board {board.id} is real hardware, not emulated; use `tinyc flash` / upload")
    if shutil.which("qemu-system-arm") is None:
        raise TinyCompilerError("qemu-system-arm is not on PATH; install the Debian package qemu-system-arm "
                                "(make toolchain)")
    elf = Path(elf)
    if not elf.is_file():
        raise TinyCompilerError(f"firmware {elf} does not exist; build the project first")
    if serial not in ("tcp", "pty"):
        raise TinyCompilerError(f"serial {serial!r} is not 'tcp' or 'pty'")
    log = Path(tempfile.mkstemp(prefix="tinyc-qemu-", suffix=".log")[1])
    port = _free_port() if serial == "tcp" else None
    # nodelay: without it every small reply waits ~40 ms for the host's delayed ACK (Nagle)
    arg = f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on" if serial == "tcp" else "pty"
    blob = write_preload(board, preload) if preload else None
    with open(log, "wb") as sink:
        proc = subprocess.Popen(command(board, elf, arg, blob), stdin=subprocess.DEVNULL, stdout=sink,
                                stderr=subprocess.STDOUT)
    session = QemuSession(board, elf, proc, "", log)
    session.preload_file = blob
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if serial == "tcp" and ("waiting for connection" in session.log() or _listening(port)):
            session.url = f"socket://127.0.0.1:{port}"
            return session
        if serial == "pty":
            match = _PTY_LINE.search(session.log())
            if match:
                session.url = match.group(1)
                return session
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    session.stop()
    tail = " | ".join(session.log().strip().splitlines()[-3:])
    raise TinyCompilerError(f"QEMU {board.qemu.machine} did not open its serial port ({serial}) for {elf.name}: "
                            f"{tail or 'no output'}")
