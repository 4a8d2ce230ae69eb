"""``DeviceClient``: a model on a device, as the harness firmware serves it.

Every result is checked end to end: the input is uploaded in acknowledged chunks and the device
runs only if the CRC-32 of what it holds equals the host's; outputs are read back in chunks and
must match the length and CRC-32 the device reported right after the inference. A device that
reset on the way (its input or its outputs are gone: error 4 or 5) gets the input again and
reruns; so does a device whose last inference overwrote the input (it lives in the arena). Anything else is retried a bounded number of times and then fails with a
TinyCompilerError, never a wrong result.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from tinycompiler.errors import TinyCompilerError
from tinycompiler.harness import protocol as P
from tinycompiler.harness.link import open_link
from tinycompiler.harness.model_info import CODE_NUMPY

COUNTER_KINDS = {0: "timer", 1: "cycles"}
#: the harness protocol this host speaks (TC_PROTOCOL_VERSION in boards/harness/tc_commands.h)
PROTOCOL_VERSION = 3
#: whole inferences rerun when the device lost its state (a reset) between INFER and the reads
RERUNS = 3


@dataclass
class DeviceInfo:
    """What HELLO reports: the firmware's model and how it measures."""

    protocol: int
    counter: str  # "timer" (ticks at tick_hz; under QEMU -icount: instructions) or "cycles"
    guard: bool  # built with TC_ARENA_GUARD: model_invoke checks guard bytes after the arena
    layer_timing: bool
    max_payload: int
    num_layers: int
    model_id: int
    tick_hz: int
    arena_bytes: int
    input_bytes: list
    input_dtypes: list
    output_bytes: list
    output_dtypes: list
    output_scales: list
    output_zero_points: list
    preload_bytes: int
    name: str

    @property
    def input_total(self) -> int:
        return sum(self.input_bytes)

    @property
    def output_total(self) -> int:
        return sum(self.output_bytes)


@dataclass
class Inference:
    """One inference on the device."""

    status: int  # model_invoke(): 0 ok, layer+1 a kernel refused, -1 arena guard overwritten
    ticks: int  # of model_invoke(), on the port's counter
    outputs: bytes  # every output's raw bytes, back to back
    layer_ticks: list = field(default_factory=list)

    @property
    def guard_ok(self) -> bool:
        return self.status != -1


def parse_hello(payload: bytes) -> DeviceInfo:
    """Decode a HELLO reply (layout in PROTOCOL.md); TinyCompilerError if it is inconsistent."""
    try:
        (version, counter, flags, n_in, n_out, _, max_payload, layers, name_len, model_id, tick_hz, arena,
         in_total, out_total, preload) = struct.unpack_from("<BBBBBBHHHIIIIII", payload, 0)
        pos = 36
        in_bytes, in_dt, out_bytes, out_dt, scales, zps = [], [], [], [], [], []
        for _ in range(n_in):
            n, dt = struct.unpack_from("<IB", payload, pos)
            in_bytes.append(n)
            in_dt.append(CODE_NUMPY[dt])
            pos += 5
        for _ in range(n_out):
            n, dt, scale, zp = struct.unpack_from("<IBfi", payload, pos)
            out_bytes.append(n)
            out_dt.append(CODE_NUMPY[dt])
            scales.append(scale)
            zps.append(zp)
            pos += 13
        name = payload[pos:pos + name_len].decode("ascii")
    except (struct.error, KeyError, UnicodeDecodeError) as e:
        raise TinyCompilerError(f"the device's HELLO reply is malformed ({e}): firmware and host versions differ?") from None
    if pos + name_len != len(payload) or sum(in_bytes) != in_total or sum(out_bytes) != out_total:
        raise TinyCompilerError("the device's HELLO reply is inconsistent: firmware and host versions differ?")
    if version != PROTOCOL_VERSION:
        raise TinyCompilerError(f"the device speaks harness protocol {version}; this host speaks {PROTOCOL_VERSION}: "
                                f"rebuild and flash the firmware (tinyc flash)")
    return DeviceInfo(version, COUNTER_KINDS.get(counter, f"kind{counter}"), bool(flags & 1), bool(flags & 2),
                      max_payload, layers, model_id, tick_hz, arena, in_bytes, in_dt, out_bytes, out_dt, scales, zps,
                      preload, name)


class DeviceClient:
    """The harness on one device at ``url`` (a serial device or ``socket://host:port``)."""

    def __init__(self, url: str, timeout: float = 3.0, infer_timeout: float = 300.0, retries: int = 4, port=None,
                 window: int = None):
        self.url = url
        # requests in flight at once: a flow-controlled link (QEMU's socket or pty, USB CDC) loses
        # nothing while the device answers; a plain UART without FIFO would, so one at a time there
        self.window = window if window is not None else (16 if url.startswith(("socket://", "/dev/pts/")) else 1)
        self.port = port if port is not None else open_link(url)
        self.infer_timeout = infer_timeout
        # a port we opened ourselves can be reopened when the far end drops it (a TCP UART)
        self.channel = P.Channel(self.port, retries=retries, timeout=timeout,
                                 reopen=self._reopen if port is None else None)
        self.info = None
        self._input_crc = None
        self._input_len = None

    def _reopen(self):
        try:
            self.port.close()
        except Exception:  # the old port is dead anyway
            pass
        self.port = open_link(self.url)
        return self.port

    # -- binary commands ---------------------------------------------------------------------------

    def hello(self) -> DeviceInfo:
        """Identify the firmware: model name and id, arena bytes, input/output specs, counter."""
        self.info = parse_hello(self.channel.request(P.HELLO).payload)
        self.channel.max_payload = min(self.info.max_payload, P.MAX_PAYLOAD)
        return self.info

    def _need_info(self) -> DeviceInfo:
        return self.info or self.hello()

    def set_input(self, data: bytes, stored: bytes = None) -> None:
        """Upload every input's raw bytes, back to back (exactly the model's input bytes).

        ``stored``: the bytes the device's input tensors then hold, when they differ from
        ``data`` (a float input quantized as it is written); INFER checks their CRC-32.
        """
        info = self._need_info()
        data = bytes(data)
        stored = data if stored is None else bytes(stored)
        if len(data) != info.input_total:
            raise TinyCompilerError(f"the device's model takes {info.input_total} input bytes, {len(data)} given")
        chunk = self.channel.max_payload - 4
        offsets = range(0, len(data), chunk)
        replies = self.channel.pipeline(P.WRITE_INPUT, [struct.pack("<I", o) + data[o:o + chunk] for o in offsets],
                                        self.window)
        for offset, reply in zip(offsets, replies):
            if reply.payload != struct.pack("<I", offset + len(data[offset:offset + chunk])):
                raise P.LinkError("the device acknowledged a different input chunk than was sent")
        self._input_crc, self._input_len, self._input, self._stored = P.crc32(stored), len(data), data, stored

    def infer(self, layers: bool = True, preloaded: int = None, expect_crc: int = None) -> Inference:
        """Run one inference on the uploaded input (or on preloaded sample ``preloaded`` whose
        CRC-32 is ``expect_crc``) and read back outputs and, with ``layers``, per-layer ticks."""
        info = self._need_info()
        if preloaded is None:
            if self._input_crc is None:
                raise TinyCompilerError("set_input() before infer()")
            body = struct.pack("<IIBI", self._input_len, self._input_crc, 0, 0)
        else:
            body = struct.pack("<IIBI", info.input_total, expect_crc, 1, preloaded)
        for rerun in range(RERUNS):
            reply = self._infer_request(body, preloaded)
            status, ticks, out_len, out_crc, n_layers = struct.unpack("<iIIIH", reply.payload)
            if out_len != info.output_total:
                raise TinyCompilerError(f"the device reports {out_len} output bytes, HELLO said {info.output_total}")
            try:
                outputs = self._read_outputs(out_len, out_crc)
                layer_ticks = self.read_layers(n_layers) if layers and info.layer_timing else []
            except P.DeviceError as e:
                # "no inference yet": the device reset after INFER and lost its outputs; run again
                if e.code != P.ERR_NO_OUTPUTS or rerun == RERUNS - 1:
                    raise
                continue
            return Inference(status, ticks, outputs, layer_ticks)
        raise AssertionError("unreachable")

    def _infer_request(self, body: bytes, preloaded) -> P.Frame:
        """The INFER reply; uploads the input again when the device's copy differs from ours."""
        for attempt in range(RERUNS):
            try:
                # a short wait for BUSY (sent before the model runs), then as long as a model takes
                return self.channel.request(P.INFER, body, busy_timeout=self.infer_timeout)
            except P.DeviceError as e:
                # the device's copy of the input differs from ours (a lost or damaged chunk that
                # still passed, or a reset): upload again; the inference did not run
                if e.code != P.ERR_INPUT_CRC or preloaded is not None or attempt == RERUNS - 1:
                    raise
                self.set_input(self._input, self._stored)
        raise AssertionError("unreachable")

    def _read_outputs(self, total: int, crc: int) -> bytes:
        chunk = self.channel.max_payload - 4
        for _ in range(3):
            parts = []
            offsets = range(0, total, chunk)
            replies = self.channel.pipeline(
                P.READ_OUTPUT, [struct.pack("<IH", o, min(chunk, total - o)) for o in offsets], self.window)
            for offset, reply in zip(offsets, replies):
                n = min(chunk, total - offset)
                if len(reply.payload) != 4 + n or reply.payload[:4] != struct.pack("<I", offset):
                    raise P.LinkError("the device returned a different output range than was asked")
                parts.append(reply.payload[4:])
            data = b"".join(parts)
            if P.crc32(data) == crc:
                return data
        raise P.LinkError("the outputs read back from the device never matched the CRC it reported")

    def stats(self) -> tuple:
        """(stack region bytes, most stack bytes used since boot), measured by stack painting on
        the device; (0, 0) when its port cannot tell where the stack is."""
        reply = self.channel.request(P.STATS)
        if len(reply.payload) != 8:
            raise P.LinkError("the device's STATS reply has the wrong length")
        return struct.unpack("<II", reply.payload)

    def read_layers(self, count: int) -> list:
        """Ticks of each layer (kernel call) of the last inference."""
        per = (self.channel.max_payload - 2) // 4
        ticks = []
        for first in range(0, count, per):
            n = min(per, count - first)
            reply = self.channel.request(P.READ_LAYERS, struct.pack("<HH", first, n))
            if len(reply.payload) != 2 + 4 * n or struct.unpack_from("<H", reply.payload)[0] != first:
                raise P.LinkError("the device returned a different layer range than was asked")
            ticks.extend(struct.unpack_from(f"<{n}I", reply.payload, 2))
        return ticks

    # -- MLPerf Tiny text commands -----------------------------------------------------------------

    def wait_ready(self, timeout: float = 10.0) -> list:
        """The boot banner's lines, once the device has printed its first ``m-ready``; call it
        before text commands on a freshly started board, or the banner's ``m-ready`` can end
        the first command's reply early."""
        return P.read_until_ready(self.port, timeout)

    def text(self, command: str, timeout: float = 60.0) -> list:
        """One MLPerf Tiny runner command (without ``%``); the reply lines before ``m-ready``."""
        return P.text_command(self.port, command, timeout)

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:  # closing a dead socket must not mask the real error
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
