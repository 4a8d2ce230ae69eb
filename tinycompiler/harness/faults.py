"""A serial link that lies: a fault-injecting TCP proxy between the host and a board's TCP UART.

:class:`FaultProxy` listens on ``127.0.0.1`` (only) and forwards bytes both ways between one host
connection and the board's UART (``socket://127.0.0.1:P`` of an emulated board), damaging them on
the way as :class:`Faults` says, per direction: dropped, duplicated or bit-flipped bytes, chunks
held back (delays keep the order, like a slow link), and the host connection closed now and then.
It can also reset the board:

* ``reset_mode="frame"``: a protocol RESET frame is slipped in just before a request of a type
  in ``reset_on`` (e.g. INFER: the input is gone; READ_OUTPUT: the outputs are gone);
* ``reset_mode="restart"``: ``restart_board()`` (e.g. :meth:`QemuBoard.restart`, which kills
  QEMU and boots it again) is called ``reset_delay`` seconds after such a request went through:
  a power cut mid-inference. The proxy then reconnects to the board's new port.

Everything runs in one background thread around ``select`` with bounded waits, so ``close()``
always returns. Counters (``stats``) say what was done to the bytes. Used by
``tests/test_serial_faults.py``; handy by hand as ``python -m tinycompiler.harness.faults``.
"""

from __future__ import annotations

import argparse
import random
import select
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

from tinycompiler.errors import TinyCompilerError
from tinycompiler.harness import protocol as P

LOCALHOST = "127.0.0.1"
#: longest single wait of the proxy loop (seconds): how soon it notices close() and due events
TICK_S = 0.02


@dataclass
class Faults:
    """What happens to the bytes going one way. Rates are probabilities per byte, except
    ``delay`` (per forwarded chunk, held back ``delay_s`` seconds) and ``disconnect`` (per chunk
    from the host: the host connection is closed, as a pulled cable or a crashed server would)."""

    drop: float = 0.0
    dup: float = 0.0
    flip: float = 0.0
    delay: float = 0.0
    delay_s: float = 0.2
    disconnect: float = 0.0

    def damages(self) -> bool:
        return bool(self.drop or self.dup or self.flip)


def corrupt(data: bytes, f: Faults, rng: random.Random, stats: Counter, way: str) -> bytes:
    """``data`` after byte faults: per byte, dropped, else duplicated, else one bit flipped."""
    if not f.damages():
        return data
    out = bytearray()
    for b in data:
        r = rng.random()
        if r < f.drop:
            stats[f"{way} dropped"] += 1
            continue
        r -= f.drop
        if r < f.flip:
            b ^= 1 << rng.randrange(8)
            stats[f"{way} flipped"] += 1
        elif r < f.flip + f.dup:
            out.append(b)
            stats[f"{way} duplicated"] += 1
        out.append(b)
    return bytes(out)


class FaultProxy:
    """Forward ``127.0.0.1:port`` (``port=0``: a free one; see :attr:`url`) to the board's UART
    at ``127.0.0.1:upstream`` (an int, or a callable returning the current port, for a board
    that restarts on another port), with ``to_board``/``to_host`` faults. A new host
    connection replaces the old one; the board connection is kept across host connections."""

    def __init__(self, upstream, to_board: Faults = None, to_host: Faults = None, seed: int = 0, port: int = 0,
                 reset_on: dict = None, reset_mode: str = "frame", restart_board=None, reset_delay: float = 0.01):
        if reset_mode not in ("frame", "restart"):
            raise TinyCompilerError(f"reset_mode {reset_mode!r}: use 'frame' or 'restart'")
        if reset_mode == "restart" and reset_on and restart_board is None:
            raise TinyCompilerError("reset_mode 'restart' needs restart_board (a callable that reboots the board)")
        self._upstream = upstream if callable(upstream) else (lambda: upstream)
        self.to_board, self.to_host = to_board or Faults(), to_host or Faults()
        self.rng = random.Random(seed)
        self.reset_on = dict(reset_on or {})  # request type -> probability
        self.reset_mode, self.restart_board, self.reset_delay = reset_mode, restart_board, reset_delay
        self.stats = Counter()
        self.enabled = True  # False: forward untouched (e.g. while a test boots the session)
        self._listener = socket.create_server((LOCALHOST, port))
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._client = self._board = None
        self._queues = {"up": deque(), "down": deque()}  # (release time, bytes), in order
        self._events = []  # (time, callable)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"socket://{LOCALHOST}:{self.port}"

    # -- control ------------------------------------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in (self._client, self._board, self._listener):
            if s is not None:
                s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def disconnect_host(self) -> None:
        """Close the host's connection at the next tick (the board keeps running)."""
        self._events.append((0.0, self._drop_client))

    # -- the loop ---------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except OSError as e:  # a socket error on one side: that side is closed, the loop goes on
                self.stats[f"socket errors ({type(e).__name__})"] += 1

    def _step(self) -> None:
        now = time.monotonic()
        for ev in [e for e in self._events if e[0] <= now]:
            self._events.remove(ev)
            ev[1]()
        if self._board is None:
            self._connect_board()
        socks = [s for s in (self._listener, self._client, self._board) if s is not None]
        ready, _, _ = select.select(socks, [], [], TICK_S)
        for s in ready:
            if s is self._listener:
                self._accept()
            elif s is self._client:
                self._receive(s, "up")
            elif s is self._board:
                self._receive(s, "down")
        self._release()

    def _accept(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except BlockingIOError:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(5.0)
        self._drop_client()
        self._client = conn
        self.stats["host connections"] += 1

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
            self._queues["down"].clear()

    def _connect_board(self) -> None:
        try:
            port = self._upstream()
            if port is None:
                return
            s = socket.create_connection((LOCALHOST, port), timeout=0.5)
        except OSError:
            return  # not up yet (a restart in progress): try again next tick
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(5.0)
        self._board = s
        self.stats["board connections"] += 1

    def _receive(self, s: socket.socket, way: str) -> None:
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:  # the far end closed
            if way == "up":
                self._drop_client()
            else:
                self._board.close()
                self._board = None
                self._queues["up"].clear()
            return
        self.stats[f"{way} bytes"] += len(data)
        f = self.to_board if way == "up" else self.to_host
        if way == "up" and self.enabled:
            data = self._maybe_reset(data)
            if f.disconnect and self.rng.random() < f.disconnect:
                self.stats["disconnects"] += 1
                self._drop_client()
                return
        if self.enabled:
            data = corrupt(data, f, self.rng, self.stats, way)
        q = self._queues[way]
        release = q[-1][0] if q else 0.0  # never before what is already held back: order is kept
        if self.enabled and f.delay and self.rng.random() < f.delay:
            release = max(release, time.monotonic() + f.delay_s)
            self.stats[f"{way} delayed chunks"] += 1
        q.append((release, data))

    def _maybe_reset(self, data: bytes) -> bytes:
        """Reset the board at a request of a type in ``reset_on`` (see the module docstring)."""
        for ftype, p in self.reset_on.items():
            i = data.find(P.MAGIC + bytes([ftype]))
            if i < 0 or self.rng.random() >= p:
                continue
            self.stats["resets"] += 1
            if self.reset_mode == "frame":
                return data[:i] + P.encode_frame(P.RESET, 0xFE) + data[i:]
            self._events.append((time.monotonic() + self.reset_delay, self._restart))
            return data
        return data

    def _restart(self) -> None:
        if self._board is not None:
            self._board.close()
            self._board = None
        self._queues["up"].clear()
        self.restart_board()

    def _release(self) -> None:
        now = time.monotonic()
        for way, target in (("up", self._board), ("down", self._client)):
            q = self._queues[way]
            while q and q[0][0] <= now:
                _, data = q.popleft()
                if target is None:
                    self.stats[f"{way} bytes lost (nobody connected)"] += len(data)
                    continue
                try:
                    target.sendall(data)
                except OSError:
                    if way == "up":
                        self._board.close()
                        self._board = None
                    else:
                        self._drop_client()
                    return


class QemuBoard:
    """An emulated board in QEMU with its UART on a TCP port, that can be power-cycled
    (:meth:`restart`: killed and booted again, on a new port). ``port`` is the current one."""

    def __init__(self, board, elf):
        self.board, self.elf = board, elf
        self.session = None
        self.restarts = 0
        self.start()

    def start(self) -> None:
        from tinycompiler.boards.qemu import start

        self.session = start(self.board, self.elf, serial="tcp")

    @property
    def port(self):
        if self.session is None:
            return None
        return int(self.session.url.rsplit(":", 1)[1])

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()
            self.session = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main(argv=None) -> int:
    """Put a fault proxy in front of a board's TCP UART until Ctrl-C (e.g. one from
    ``tinyc flash --serial-port P``), then print what it did."""
    ap = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    ap.add_argument("upstream", type=int, help="the board's UART port on 127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (127.0.0.1; default: a free one)")
    for name in ("drop", "dup", "flip", "delay"):
        ap.add_argument(f"--{name}", type=float, default=0.0, help=f"{name} rate, both directions")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    f = Faults(drop=args.drop, dup=args.dup, flip=args.flip, delay=args.delay)
    with FaultProxy(args.upstream, f, f, seed=args.seed, port=args.port) as proxy:
        print(f"faulty link on {proxy.url} -> 127.0.0.1:{args.upstream} (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        print(dict(proxy.stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
