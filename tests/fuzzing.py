"""Byte-level mutation of ``.tflite`` files, for fuzzing the importer.

Reusable by the pytest fuzzer (``test_model_fuzz.py``, through the hypothesis strategy
:func:`mutation_strategy`) and by long campaign scripts (through :func:`random_mutation` with a
``random.Random``). A mutation is a plain tuple, easy to print and replay:

- ``("truncate", n)``: keep the first ``n`` bytes;
- ``("flip", (bit, ...))``: flip these bit positions (byte * 8 + bit);
- ``("int32", offset, value)``: overwrite 4 bytes at ``offset`` with ``value`` (little-endian);
- ``("bytes", offset, data)``: overwrite bytes at ``offset`` with ``data``;
- a ``("seq", (m1, m2, ...))`` applies several in order.

:func:`structural_offsets` lists the 4-aligned offsets outside the weight buffers, where
mutations hit the flatbuffer's tables, vtables, offsets and lengths rather than weight values.

:func:`check_load` is the oracle: loading must return a Graph or raise TinyCompilerError, and a
returned Graph must survive the analysis pass.
"""

from __future__ import annotations

import random
import struct
import time
from functools import lru_cache

import tflite

#: int32 values that break offsets, lengths, counts, indices and dimensions
ABSURD_INT32 = (
    0x7FFFFFFF, -1, -0x80000000, 0, 1, 2, 3, 4, 7, 8, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFF,
    0x3FFFFFFF, 0x40000000, 0x01000000, 0x01000001, -2, -4, -0x10000,
)


def apply_mutation(buf: bytes, m) -> bytes:
    """The bytes of ``buf`` after mutation ``m`` (see the module docstring)."""
    kind = m[0]
    if kind == "truncate":
        return bytes(buf[: m[1]])
    if kind == "seq":
        for sub in m[1]:
            buf = apply_mutation(buf, sub)
        return bytes(buf)
    out = bytearray(buf)
    if kind == "flip":
        for bit in m[1]:
            if 0 <= bit // 8 < len(out):
                out[bit // 8] ^= 1 << (bit % 8)
    elif kind == "int32":
        off, value = m[1], m[2]
        if 0 <= off <= len(out) - 4:
            out[off : off + 4] = struct.pack("<I", value & 0xFFFFFFFF)
    elif kind == "bytes":
        off, data = m[1], m[2]
        if 0 <= off < len(out):
            data = data[: len(out) - off]
            out[off : off + len(data)] = data
    else:
        raise ValueError(f"unknown mutation {m!r}")
    return bytes(out)


@lru_cache(maxsize=32)
def structural_offsets(buf: bytes) -> tuple:
    """4-aligned offsets of ``buf`` (a valid .tflite) that lie outside every buffer's data."""
    model = tflite.Model.GetRootAs(buf, 0)
    data_ranges = []
    for i in range(model.BuffersLength()):
        b = model.Buffers(i)
        n = b.DataLength()
        if n:
            start = b._tab.Vector(b._tab.Offset(4))
            data_ranges.append((start, start + n))
    data_ranges.sort()
    offsets = []
    r = 0
    for off in range(0, len(buf) - 3, 4):
        while r < len(data_ranges) and data_ranges[r][1] <= off:
            r += 1
        if r < len(data_ranges) and data_ranges[r][0] <= off + 3 and off < data_ranges[r][1]:
            continue
        offsets.append(off)
    return tuple(offsets)


def random_mutation(buf: bytes, rng: random.Random, max_depth: int = 2):
    """One random mutation of ``buf`` (mostly on structural bytes), for campaign scripts."""
    offs = structural_offsets(buf)
    kind = rng.choice(("truncate", "flip", "int32", "int32", "bytes", "seq"))
    if kind == "seq" and max_depth > 0:
        return ("seq", tuple(random_mutation(buf, rng, max_depth - 1) for _ in range(rng.randint(2, 4))))
    if kind == "truncate":
        return ("truncate", rng.randrange(len(buf)))
    if kind == "flip":
        bits = []
        for _ in range(rng.randint(1, 8)):
            base = rng.choice(offs) if rng.random() < 0.9 else rng.randrange(len(buf) - 3)
            bits.append((base + rng.randrange(4)) * 8 + rng.randrange(8))
        return ("flip", tuple(bits))
    if kind in ("int32", "seq"):
        value = rng.choice(ABSURD_INT32) if rng.random() < 0.8 else rng.randint(-(1 << 31), (1 << 31) - 1)
        return ("int32", rng.choice(offs), value)
    off = rng.choice(offs)
    return ("bytes", off, bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))))


def mutation_strategy(buf: bytes):
    """A hypothesis strategy of mutations of ``buf`` (imported lazily: campaigns need not have it)."""
    from hypothesis import strategies as st

    offs = structural_offsets(buf)
    n = len(buf)
    offset = st.one_of(st.sampled_from(offs), st.integers(0, n - 4))
    bit = st.builds(lambda o, b: o * 8 + b, offset.map(lambda o: o + 0) | st.integers(0, n - 1), st.integers(0, 31))
    value = st.one_of(st.sampled_from(ABSURD_INT32), st.integers(-(1 << 31), (1 << 31) - 1))
    single = st.one_of(
        st.builds(lambda k: ("truncate", k), st.integers(0, n - 1)),
        st.builds(lambda bs: ("flip", tuple(bs)), st.lists(bit, min_size=1, max_size=8)),
        st.builds(lambda o, v: ("int32", o, v), offset, value),
        st.builds(lambda o, v: ("int32", o, v), offset, value),
        st.builds(lambda o, d: ("bytes", o, d), offset, st.binary(min_size=1, max_size=16)),
    )
    return st.one_of(single, st.builds(lambda ms: ("seq", tuple(ms)), st.lists(single, min_size=2, max_size=4)))


def check_load(data: bytes, max_seconds: float = 2.0):
    """Load mutated bytes: return ``("graph", graph)`` or ``("error", message)``.

    Raises AssertionError when the importer raised anything but TinyCompilerError, took longer
    than ``max_seconds``, or returned a graph that the analysis pass cannot summarize.
    """
    from tinycompiler.analysis import format_inspect
    from tinycompiler.errors import TinyCompilerError
    from tinycompiler.frontends.tflite import load_tflite

    t0 = time.perf_counter()
    try:
        graph = load_tflite(data)
        outcome = ("graph", graph)
    except TinyCompilerError as e:
        msg = str(e)
        assert msg and "\n" not in msg, f"error message must be one non-empty line: {msg!r}"
        outcome = ("error", msg)
    elapsed = time.perf_counter() - t0
    assert elapsed < max_seconds, f"loading took {elapsed:.2f} s (limit {max_seconds} s)"
    if outcome[0] == "graph":
        format_inspect(outcome[1])
    return outcome
