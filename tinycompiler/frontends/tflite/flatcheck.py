"""Bounds-checked access to a flatbuffer, for reading untrusted ``.tflite`` files.

The ``flatbuffers`` Python runtime trusts its input: an offset that points outside the buffer
either raises ``struct.error``/``IndexError`` or, when the arithmetic goes negative, silently reads
from the end of the buffer; a vector length is whatever 32-bit number the file holds. The reader
therefore checks every table it visits (vtable and table inside the buffer, each offset field it
follows inside its table) and every vector (start and ``length * element size`` inside the buffer)
before the generated ``tflite`` bindings read from them. Errors are :class:`TinyCompilerError`
naming the thing being read.
"""

from __future__ import annotations

import struct

import numpy as np

from tinycompiler.errors import TinyCompilerError

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")


class FlatCheck:
    """Validates positions in one flatbuffer ``buf`` (bytes)."""

    def __init__(self, buf: bytes):
        self.buf = buf
        self.n = len(buf)

    # -- raw scalars -------------------------------------------------------------------------
    def _u16(self, pos: int, what: str) -> int:
        if not 0 <= pos <= self.n - 2:
            raise self.corrupt(f"{what}: offset {pos} is outside the file")
        return _U16.unpack_from(self.buf, pos)[0]

    def _u32(self, pos: int, what: str) -> int:
        if not 0 <= pos <= self.n - 4:
            raise self.corrupt(f"{what}: offset {pos} is outside the file")
        return _U32.unpack_from(self.buf, pos)[0]

    def corrupt(self, detail: str) -> TinyCompilerError:
        return TinyCompilerError(
            f"corrupted or truncated TFLite file ({self.n} bytes): {detail}; re-export the model"
        )

    # -- tables --------------------------------------------------------------------------------
    def table(self, obj, what: str):
        """Check the table behind a generated binding object (``obj._tab``) and return ``obj``."""
        if obj is None:
            raise self.corrupt(f"{what} is missing")
        self.table_at(obj._tab.Pos, what)
        return obj

    def table_at(self, pos: int, what: str) -> None:
        """Check the table at absolute position ``pos``: its vtable and size lie inside the file."""
        if not 0 <= pos <= self.n - 4:
            raise self.corrupt(f"{what}: table offset {pos} is outside the file")
        soff = _I32.unpack_from(self.buf, pos)[0]
        vt = pos - soff
        if not 0 <= vt <= self.n - 4:
            raise self.corrupt(f"{what}: vtable offset {vt} is outside the file")
        vt_size = self._u16(vt, what)
        tbl_size = self._u16(vt + 2, what)
        if vt_size < 4 or vt_size % 2 or vt + vt_size > self.n:
            raise self.corrupt(f"{what}: bad vtable size {vt_size}")
        if tbl_size < 4 or pos + tbl_size > self.n:
            raise self.corrupt(f"{what}: table of {tbl_size} bytes runs past the end of the file")
        # Fields are checked when read (``_field_target``), not all here: a hostile file can make
        # thousands of tables share one 64 KiB vtable, and scanning it each time would be quadratic.

    def _field_target(self, obj, voff: int, what: str):
        """Absolute position an offset field points to, or None when the field is absent."""
        tab = obj._tab
        o = tab.Offset(voff)
        if o == 0:
            return None
        vt = tab.Pos - _I32.unpack_from(self.buf, tab.Pos)[0]
        tbl_size = self._u16(vt + 2, what)
        if o < 4 or o + 4 > tbl_size:
            raise self.corrupt(f"{what}: field offset {o} outside its {tbl_size}-byte table")
        p = tab.Pos + o
        return p + self._u32(p, what)

    def sub_table(self, obj, voff: int, what: str) -> bool:
        """True when the table-valued field at ``voff`` is present and its table is sound."""
        target = self._field_target(obj, voff, what)
        if target is None:
            return False
        self.table_at(target, what)
        return True

    # -- vectors --------------------------------------------------------------------------------
    def vector(self, obj, voff: int, elem_size: int, what: str):
        """(start, length) of the vector field at ``voff`` (``(0, 0)`` when absent), checked."""
        start = self._field_target(obj, voff, what)
        if start is None:
            return 0, 0
        length = self._u32(start, what)
        start += 4
        if length * elem_size > self.n - start:
            raise self.corrupt(
                f"{what}: vector of {length} elements at offset {start} runs past the end of the file"
            )
        return start, length

    def array(self, obj, voff: int, dtype: str, what: str) -> np.ndarray:
        """The vector field at ``voff`` as a fresh numpy array of little-endian ``dtype``."""
        dt = np.dtype(dtype)
        start, length = self.vector(obj, voff, dt.itemsize, what)
        if length == 0:
            return np.zeros(0, dtype=dt.newbyteorder("="))
        return np.frombuffer(self.buf, dtype=dt, count=length, offset=start).astype(
            dt.newbyteorder("="), copy=True
        )

    def table_vector(self, obj, voff: int, what: str) -> int:
        """Length of a vector of tables/strings at ``voff`` (each element is a 4-byte offset)."""
        return self.vector(obj, voff, 4, what)[1]

    def element(self, obj, what: str):
        """Check a table obtained from a vector element (e.g. ``model.Subgraphs(j)``)."""
        return self.table(obj, what)

    def string(self, obj, voff: int, what: str, limit: int = 4096) -> str:
        """The string field at ``voff`` ('' when absent), decoded leniently and capped in length."""
        start, length = self.vector(obj, voff, 1, what)
        if length == 0:
            return ""
        raw = self.buf[start : start + min(length, limit)]
        return raw.decode("utf-8", errors="replace")

    def span(self, offset: int, size: int, what: str) -> tuple:
        """Check that ``size`` bytes at absolute ``offset`` lie inside the file."""
        if offset < 0 or size < 0 or offset + size > self.n:
            raise self.corrupt(f"{what}: {size} bytes at offset {offset} lie outside the file")
        return offset, size
