"""The host side of the harness protocol on pyserial's loopback: framing, CRC, resynchronisation.

Hypothesis corrupts streams of real frames (flipped, dropped, inserted bytes, text noise) written
through ``loop://``; the decoder must return only frames that were sent intact, in order, and every
frame that no corruption touched.
"""

from __future__ import annotations

import struct
import zlib

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from tinycompiler.errors import TinyCompilerError
from tinycompiler.harness import protocol as P

frames_st = st.lists(st.tuples(st.integers(0, 255), st.integers(0, 254), st.binary(max_size=300)),
                     min_size=1, max_size=8)


def test_frame_layout_matches_protocol_md():
    raw = P.encode_frame(0x03, 7, b"\x01\x02")
    assert raw[:2] == b"\xa5\x5a"
    assert raw[2:6] == bytes([3, 7, 2, 0])
    assert struct.unpack("<H", raw[6:8])[0] == zlib.crc32(bytes([3, 7, 2, 0])) & 0xFFFF
    assert raw[8:10] == b"\x01\x02"
    assert struct.unpack("<I", raw[10:])[0] == zlib.crc32(bytes([3, 7, 2, 0, 1, 2]))
    assert P.FrameDecoder().feed(raw) == [P.Frame(3, 7, b"\x01\x02")]


def test_oversized_payload_is_refused():
    with pytest.raises(ValueError):
        P.encode_frame(1, 1, bytes(P.MAX_PAYLOAD + 1))


@settings(max_examples=300, deadline=None)
@given(frames=frames_st, data=st.data())
def test_decoder_yields_only_intact_frames_through_loopback(frames, data):
    port = serial.serial_for_url("loop://", timeout=0.01)
    sent = [P.Frame(t, s, p) for t, s, p in frames]
    stream, touched = bytearray(), []
    for f in sent:
        raw = bytearray(P.encode_frame(f.type, f.seq, f.payload))
        kind = data.draw(st.sampled_from(["clean", "clean", "flip", "drop", "insert", "noise"]))
        if kind == "flip":
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] ^= data.draw(st.integers(1, 255))
        elif kind == "drop":
            del raw[data.draw(st.integers(0, len(raw) - 1))]
        elif kind == "insert":
            raw.insert(data.draw(st.integers(0, len(raw))), data.draw(st.integers(0, 255)))
        elif kind == "noise":  # text or garbage before the frame: the frame itself is intact
            raw[:0] = data.draw(st.binary(max_size=40))
        touched.append(kind in ("flip", "drop", "insert"))
        stream += raw
    port.write(bytes(stream))
    decoder = P.FrameDecoder()
    got = []
    chunk = data.draw(st.integers(1, 64))  # arbitrary read sizes: frames split across reads
    while True:
        part = port.read(chunk)
        if not part:
            break
        got += decoder.feed(part)
    port.close()
    # every decoded frame was sent, in order (a corrupted one never comes out as something else)
    it = iter(sent)
    assert all(any(g == s for s in it) for g in got), (got, sent)
    # every untouched frame is found
    for f, bad in zip(sent, touched):
        if not bad:
            assert f in got


class _Lossy:
    """A loopback 'device' whose link damages the first ``bad`` replies, then answers intact:
    exercises the Channel's NAK/timeout resend path with pyserial's real loop:// port."""

    def __init__(self, bad: int, mode: str):
        self.port = serial.serial_for_url("loop://", timeout=0.01)
        self.bad, self.mode, self.requests = bad, mode, 0

    def __getattr__(self, name):
        return getattr(self.port, name)

    def write(self, data):
        frames = P.FrameDecoder().feed(bytes(data))
        for f in frames:  # answer each request the host sends (zero flush bytes hold none)
            self.requests += 1
            reply = P.encode_frame(f.type | P.REPLY_OK, f.seq, b"ok" + f.payload)
            if self.bad > 0:
                self.bad -= 1
                if self.mode == "nak":
                    reply = P.encode_frame(P.REPLY_NAK, f.seq, bytes([P.NAK_BAD_CRC]))
                elif self.mode == "corrupt":
                    reply = reply[:-1] + bytes([reply[-1] ^ 0x55])
                elif self.mode == "stale":
                    reply = P.encode_frame(f.type | P.REPLY_OK, (f.seq - 1) & 0xFF, b"old")
                else:  # lost
                    reply = b""
            self.port.write(reply)
        return len(data)


@pytest.mark.parametrize("mode", ["nak", "corrupt", "stale", "lost"])
def test_channel_resends_until_an_intact_reply(mode):
    dev = _Lossy(bad=2, mode=mode)
    ch = P.Channel(dev, retries=3, timeout=0.2)
    reply = ch.request(P.HELLO, b"x")
    assert reply.payload == b"okx" and reply.seq == ch.seq
    assert ch.resends == 2 and dev.requests == 3


def test_channel_gives_up_after_bounded_retries():
    dev = _Lossy(bad=100, mode="corrupt")
    ch = P.Channel(dev, retries=2, timeout=0.1)
    with pytest.raises(TinyCompilerError, match="no intact reply .* after 3 tries"):
        ch.request(P.HELLO)
    assert dev.requests == 3


def test_pipeline_falls_back_to_single_requests():
    dev = _Lossy(bad=3, mode="lost")
    ch = P.Channel(dev, retries=3, timeout=0.2)
    replies = ch.pipeline(P.WRITE_INPUT, [bytes([i]) for i in range(10)], window=4)
    assert [r.payload for r in replies] == [b"ok" + bytes([i]) for i in range(10)]
