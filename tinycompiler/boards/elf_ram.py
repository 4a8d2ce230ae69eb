"""What a firmware ELF puts in RAM: read from its section and symbol tables, not estimated.

A Cortex-M firmware's RAM is its writable sections (``.data``, ``.bss``, and any section a
linker script places in a second region, e.g. ``.ccm_bss``) plus the stack the linker script
reserves (``__stack_size``, an absolute symbol). The model arenas are symbols in those sections
(``model_arena``, ``model_arena1``...); whatever else is there is the harness's and the
runtime's static data. Only 32-bit little-endian ELF (what arm-none-eabi-gcc writes) is read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from tinycompiler.errors import TinyCompilerError

_SHF_WRITE, _SHF_ALLOC = 0x1, 0x2
_SHT_SYMTAB, _SHT_NOBITS = 2, 8
_SHN_ABS = 0xFFF1


@dataclass
class Section:
    name: str
    addr: int
    size: int  # bytes
    loaded: bool  # has bytes in the file (.data: copied from flash at start-up)


@dataclass
class ElfRam:
    """RAM of one firmware, in bytes. ``sections``: the writable allocated sections; ``arenas``:
    model arena symbol -> (address, bytes); ``stack_bytes``: the linker script's reservation
    (0 when it defines none); ``stack_top``: the address the stack grows down from."""

    sections: list = field(default_factory=list)
    arenas: dict = field(default_factory=dict)
    stack_bytes: int = 0
    stack_top: int = 0

    @property
    def data_bss_bytes(self) -> int:
        """``.data`` + ``.bss`` (and every other writable section), arenas included."""
        return sum(s.size for s in self.sections)

    @property
    def arena_bytes(self) -> int:
        return sum(size for _, size in self.arenas.values())

    @property
    def static_bytes(self) -> int:
        """Writable data beside the arenas: harness buffers, runtime and libc data."""
        return self.data_bss_bytes - self.arena_bytes

    def bytes_in(self, origin: int, size: int) -> int:
        """Bytes of the writable sections, plus the stack when it lies there, within
        ``[origin, origin + size)``."""
        total = sum(s.size for s in self.sections if origin <= s.addr < origin + size)
        if self.stack_bytes and origin < self.stack_top <= origin + size:
            total += self.stack_bytes
        return total


def read_elf_ram(path) -> ElfRam:
    """The RAM sections, arena symbols and stack reservation of the ELF at ``path``."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise TinyCompilerError(f"{path} is not a 32-bit little-endian ELF file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    headers = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    names = headers[shstrndx]

    def cstr(table_off: int, at: int) -> str:
        end = data.index(b"\0", table_off + at)
        return data[table_off + at:end].decode("ascii", "replace")

    ram = ElfRam()
    for h in headers:
        name_off, stype, flags, addr, off, size = h[:6]
        name = cstr(names[4], name_off)
        if name == ".stack":  # a reservation for the stack (see __stack_size), not static data
            continue
        if flags & _SHF_ALLOC and flags & _SHF_WRITE and size:
            ram.sections.append(Section(name, addr, size, stype != _SHT_NOBITS))
    for h in headers:
        if h[1] != _SHT_SYMTAB:
            continue
        strtab = headers[h[6]][4]
        for k in range(h[5] // 16):
            name_off, value, size, _info, _other, shndx = struct.unpack_from("<IIIBBH", data, h[4] + 16 * k)
            name = cstr(strtab, name_off)
            if name.startswith("model_arena") and size:
                ram.arenas[name] = (value, size)
            elif name == "__stack_size" and shndx == _SHN_ABS:
                ram.stack_bytes = value
            elif name == "__stack_top":
                ram.stack_top = value
    return ram
