"""The harness wire protocol, host side (boards/harness/PROTOCOL.md).

Binary frames: ``A5 5A | type | seq | len u16 | hcrc u16 | payload | crc u32`` (little-endian),
``hcrc`` = low 16 bits of CRC-32 over type..len, ``crc`` = CRC-32 (zlib) over type..payload.
:class:`FrameDecoder` finds frames in any byte stream (text, garbage, truncated frames) and never
yields one whose checks failed. :class:`Channel` sends a request and returns the reply with the
same sequence number, resending after a NAK or a timeout, a bounded number of times; a link
that drops (a TCP connection closed under it) is reopened through a callback, also bounded.
Whatever cannot be recovered is a :class:`LinkError` (a TinyCompilerError): callers may rerun
the whole exchange, and no partial or unchecked result ever leaves this module.

The MLPerf Tiny text commands (``name%`` ... ``m-ready``) are :func:`text_command`.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass

from tinycompiler.errors import TinyCompilerError

MAGIC = b"\xa5\x5a"
HEADER = struct.Struct("<BBHH")  # type, seq, len, hcrc (after the magic)
MAX_PAYLOAD = 1024
#: a line of the text banner the firmware prints when it boots: seen while waiting for a reply,
#: it means the device reset and the request died with it (resend at once, do not wait it out)
BOOT_BANNER = b"m-init-done"
FRAME_OVERHEAD = 2 + HEADER.size + 4

# request types; a reply's type is the request's | 0x80
HELLO, WRITE_INPUT, INFER, READ_OUTPUT, READ_LAYERS, RESET, STATS = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
REPLY_OK = 0x80
REPLY_BUSY = 0xEB  # INFER accepted and running; the final reply follows
REPLY_ERROR = 0xEE
REPLY_NAK = 0xEF

# error codes of REPLY_ERROR
ERR_UNKNOWN_COMMAND, ERR_BAD_LENGTH, ERR_OUT_OF_RANGE, ERR_INPUT_CRC, ERR_NO_OUTPUTS, ERR_NO_PRELOAD = 1, 2, 3, 4, 5, 6
# reasons of REPLY_NAK
NAK_BAD_HEADER, NAK_BAD_CRC = 2, 3


def crc32(data: bytes, crc: int = 0) -> int:
    """CRC-32 as the firmware computes it (IEEE, = zlib.crc32)."""
    return zlib.crc32(data, crc) & 0xFFFFFFFF


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes


def encode_frame(ftype: int, seq: int, payload: bytes = b"") -> bytes:
    """The bytes of one frame. Payloads longer than MAX_PAYLOAD are a programming error."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    head = bytes((ftype & 0xFF, seq & 0xFF)) + struct.pack("<H", len(payload))
    hcrc = crc32(head) & 0xFFFF
    return MAGIC + head + struct.pack("<H", hcrc) + payload + struct.pack("<I", crc32(payload, crc32(head)))


class FrameDecoder:
    """Incremental frame finder: :meth:`feed` bytes, get every intact frame, in order.

    Bytes that are not part of an intact frame are skipped (counted in ``skipped``); after a failed
    header or CRC the search restarts one byte after the failed magic, so a real frame that begins
    inside a damaged one is still found.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD):
        self.max_payload = max_payload
        self.buf = bytearray()
        self.skipped = 0
        self.text = bytearray()  # skipped bytes, kept for error messages (last 200)
        self.boots = 0  # boot banners seen among the skipped bytes: the device (re)started
        self.damaged = 0  # frame starts (magic) whose header or CRC check failed

    def _skip(self, n: int) -> None:
        if n <= 0:
            return
        self.text += self.buf[:n]
        # the banner may straddle two skips: look at the new bytes plus the 10 before them
        self.boots += bytes(self.text[-(n + len(BOOT_BANNER) - 1):]).count(BOOT_BANNER)
        del self.text[:-200]
        del self.buf[:n]
        self.skipped += n

    def feed(self, data: bytes) -> list:
        self.buf += data
        frames = []
        while True:
            start = self.buf.find(MAGIC)
            if start < 0:
                # keep a trailing A5: it may be the first half of a magic
                self._skip(len(self.buf) - (1 if self.buf.endswith(MAGIC[:1]) else 0))
                return frames
            self._skip(start)
            if len(self.buf) < 2 + HEADER.size:
                return frames
            ftype, seq, length, hcrc = HEADER.unpack_from(self.buf, 2)
            if hcrc != crc32(bytes(self.buf[2:6])) & 0xFFFF or length > self.max_payload:
                self.damaged += 1
                self._skip(1)
                continue
            end = 2 + HEADER.size + length + 4
            if len(self.buf) < end:
                return frames
            body = bytes(self.buf[2:end - 4])
            (crc,) = struct.unpack_from("<I", self.buf, end - 4)
            if crc != crc32(body[:4] + body[6:]):
                self.damaged += 1
                self._skip(1)
                continue
            frames.append(Frame(ftype, seq, body[6:]))
            del self.buf[:end]


class DeviceError(TinyCompilerError):
    """The device answered a request with an error frame (``code`` as in REPLY_ERROR)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class LinkError(TinyCompilerError):
    """The link failed: no intact reply after the bounded retries, or the connection dropped and
    could not be reopened. Nothing was returned; rerunning the whole exchange is safe."""


class Channel:
    """Request/reply over frames with sequence numbers, bounded retries and resynchronisation.

    Every request is idempotent on the device, so a request whose reply was lost, NAKed or late is
    simply sent again (with the same sequence number); replies to other sequence numbers (late
    answers to earlier tries) are discarded. ``reopen`` (optional) returns a fresh port when the
    current one fails with an OSError (pyserial's SerialException is one): a socket closed by
    the far end; at most ``retries`` reopenings per request.
    """

    def __init__(self, port, retries: int = 4, timeout: float = 3.0, max_payload: int = MAX_PAYLOAD,
                 reopen=None):
        self.port = port
        self.retries = retries
        self.timeout = timeout
        self.max_payload = max_payload
        self.reopen = reopen
        self.decoder = FrameDecoder(max_payload)
        self.seq = 0
        self.resends = 0  # total resends, for reports and tests
        self.reopens = 0  # total reconnections after the link dropped

    def _recover(self, error: OSError) -> None:
        """After an I/O error: reopen the link (fresh decoder) or raise LinkError."""
        if self.reopen is None:
            raise LinkError(f"lost the serial link to the device ({error}); check the cable/port and retry") from None
        try:
            self.port = self.reopen()
        except (OSError, TinyCompilerError) as e:
            raise LinkError(f"lost the serial link to the device ({error}) and could not reopen it ({e})") from None
        self.reopens += 1
        self.decoder = FrameDecoder(self.max_payload)

    def _flush_device(self) -> None:
        """Make a device stuck inside a frame (it lost bytes and waits for more) finish it: zero
        bytes complete any frame (failing its CRC) and are ignored outside frames."""
        self.port.write(bytes(self.max_payload + FRAME_OVERHEAD))
        self.port.flush()
        time.sleep(0.05)
        self.port.reset_input_buffer()
        self.decoder = FrameDecoder(self.max_payload)

    def _next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0xFF
        if self.seq == 0xFF:  # 0xFF is the NAK sequence of an unreadable header
            self.seq = 0
        return self.seq

    def pipeline(self, ftype: int, payloads: list, window: int = 8, timeout: float = None) -> list:
        """Send many requests of one type, up to ``window`` ahead of their replies; return the OK
        replies in order. Requests whose reply is missing or damaged are sent again one by one
        (:meth:`request`). Only for links that lose no bytes while the device talks (QEMU's
        flow-controlled UART, USB CDC); a plain UART uses ``window=1``."""
        if window <= 1 or len(payloads) <= 1:
            return [self.request(ftype, p, timeout) for p in payloads]
        timeout = self.timeout if timeout is None else timeout
        replies = [None] * len(payloads)
        try:
            self._pipeline(ftype, payloads, window, timeout, replies)
        except OSError as e:  # the link dropped: reopen it; what is missing goes one by one below
            self._recover(e)
        for i, p in enumerate(payloads):
            if replies[i] is None:
                replies[i] = self.request(ftype, p, timeout)
        return replies

    def _pipeline(self, ftype: int, payloads: list, window: int, timeout: float, replies: list) -> None:
        self.port.reset_input_buffer()
        self.decoder = FrameDecoder(self.max_payload)
        window = min(window, 100)  # sequence numbers of one window stay distinct mod 255
        pending = {}  # seq -> index
        sent = 0
        deadline = time.monotonic() + timeout
        while (sent < len(payloads) or pending) and time.monotonic() < deadline:
            while sent < len(payloads) and len(pending) < window:
                seq = self._next_seq()
                pending[seq] = sent
                self.port.write(encode_frame(ftype, seq, payloads[sent]))
                sent += 1
            self.port.flush()
            data = self.port.read(max(1, self.port.in_waiting))
            for f in self.decoder.feed(data):
                if f.type == REPLY_NAK:
                    if f.seq == 0xFF:  # a header was damaged: which one is unknown, ask again one by one
                        pending.clear()
                        sent = len(payloads)
                    else:
                        pending.pop(f.seq, None)
                elif f.seq in pending and f.type in (ftype | REPLY_OK, REPLY_ERROR):
                    i = pending.pop(f.seq)
                    if f.type == REPLY_ERROR:
                        code = f.payload[0] if f.payload else 0
                        raise DeviceError(code, f"the device refused request 0x{ftype:02x}: "
                                                f"{f.payload[2:].decode('ascii', 'replace')}")
                    replies[i] = f
                    deadline = time.monotonic() + timeout

    def request(self, ftype: int, payload: bytes = b"", timeout: float = None, busy_timeout: float = None) -> Frame:
        """Send one request and return its OK reply; DeviceError for an error reply; LinkError
        after ``retries`` resends without an intact reply. ``timeout``: seconds to wait for a
        reply (or for BUSY); ``busy_timeout``: seconds to wait for the final reply after the
        device said BUSY (INFER: the model runs meanwhile)."""
        frame = encode_frame(ftype, self._next_seq(), payload)
        timeout = self.timeout if timeout is None else timeout
        problem = "no reply"
        fresh = True
        for attempt in range(self.retries + 1):
            try:
                if fresh:
                    self.port.reset_input_buffer()
                    self.decoder = FrameDecoder(self.max_payload)
                    fresh = False
                if attempt:
                    self.resends += 1
                    self._flush_device()
                self.port.write(frame)
                self.port.flush()
                reply, problem = self._await_reply(ftype, timeout, busy_timeout)
            except OSError as e:
                self._recover(e)
                reply, problem, fresh = None, f"link dropped ({e})", True
            if reply is not None:
                if reply.type == REPLY_ERROR:
                    code = reply.payload[0] if reply.payload else 0
                    text = reply.payload[2:].decode("ascii", "replace")
                    raise DeviceError(code, f"the device refused request 0x{ftype:02x}: {text}")
                return reply
        seen = bytes(self.decoder.text[-60:])
        raise LinkError(
            f"no intact reply from the device to request 0x{ftype:02x} after {self.retries + 1} tries "
            f"({problem}; last bytes seen {seen!r}): check that the firmware runs the tinycompiler harness "
            f"and the port/baud rate")

    def _await_reply(self, ftype: int, timeout: float, busy_timeout: float = None):
        deadline = time.monotonic() + timeout
        busy = False
        boots = self.decoder.boots
        while time.monotonic() < deadline:
            data = self.port.read(max(1, self.port.in_waiting))
            damaged, skipped, was_busy = self.decoder.damaged, self.decoder.skipped, busy
            frames = self.decoder.feed(data)
            if self.decoder.boots != boots:
                return None, "the device rebooted"
            other = self.decoder.damaged != damaged or self.decoder.buf.startswith(MAGIC)
            # the device is silent while it runs: bytes after BUSY that are no frame at all (a
            # reply that lost its magic byte) also mean it is done
            other = other or self.decoder.skipped != skipped or (was_busy and bool(data))
            for f in frames:
                if f.type == REPLY_NAK and f.seq in (self.seq, 0xFF):
                    return None, f"NAK (reason {f.payload[:1].hex()})"
                if f.seq == self.seq and f.type == REPLY_BUSY and busy_timeout is not None and not busy:
                    busy = True  # running: from now on wait as long as the work may take
                    deadline = time.monotonic() + busy_timeout
                    continue
                if f.seq == self.seq and f.type in (ftype | REPLY_OK, REPLY_ERROR):
                    return f, ""
                other = True  # a late reply to an earlier request or try: discarded
            if busy and other:
                # the device is silent while it runs: a frame (even a damaged one) means it is done
                # and replying, so a damaged reply is resent after the short timeout, not the long one
                deadline = min(deadline, time.monotonic() + timeout)
        return None, f"timeout after {busy_timeout if busy else timeout:g} s" + (" of running" if busy else "")


def read_until_ready(port, timeout: float) -> list:
    """Lines the device prints up to its next ``m-ready`` (e.g. the boot banner), excluding it;
    an empty list if none comes within ``timeout`` seconds (the banner was already consumed)."""
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"m-ready\r\n") and time.monotonic() < deadline:
        buf += port.read(max(1, port.in_waiting))
    if not buf.endswith(b"m-ready\r\n"):
        return []
    return [ln for ln in buf.decode("ascii", "replace").split("\r\n") if ln and ln != "m-ready"]


def text_command(port, command: str, timeout: float = 30.0) -> list:
    """Send an MLPerf Tiny text command (``%`` appended) and return the reply lines up to and
    excluding ``m-ready``; TinyCompilerError on timeout. Bytes already waiting (a boot banner) are
    dropped first so that they cannot pass for the reply."""
    port.reset_input_buffer()
    port.write(command.encode("ascii") + b"%")
    port.flush()
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"m-ready\r\n"):
        if time.monotonic() > deadline:
            raise TinyCompilerError(f"no m-ready from the device after {command!r} within {timeout:g} s "
                                    f"(got {bytes(buf[-80:])!r})")
        buf += port.read(max(1, port.in_waiting))
    lines = buf.decode("ascii", "replace").split("\r\n")
    return [ln for ln in lines if ln and ln != "m-ready"]
