"""Ticks -> instructions is exact on every emulated MPS board: a bare firmware times runs of 1,000 and
3,000 NOPs with the board's timer0 or, on the AN547, its SSE-300 system timer (addresses and clock from its board file, code and RAM at its
origins) and the difference must convert to exactly 2,000 instructions with the board's
``instructions_per_tick``. The NOP count is the independent oracle; the timer reads cancel out."""

from __future__ import annotations

import re
import subprocess

import pytest

from tinycompiler.boards import all_boards
from tinycompiler.boards.qemu import ICOUNT

FIRMWARE = r"""
#include <stdint.h>
#define UART_DATA (*(volatile uint32_t *)(UART0 + 0x0u))
#define UART_STATE (*(volatile uint32_t *)(UART0 + 0x4u))
#define UART_CTRL (*(volatile uint32_t *)(UART0 + 0x8u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0 + 0x10u))
#define T_CTRL (*(volatile uint32_t *)(TIMER0 + 0x0u))
#define T_VALUE (*(volatile uint32_t *)(TIMER0 + 0x4u))
#define T_RELOAD (*(volatile uint32_t *)(TIMER0 + 0x8u))
extern uint32_t __stack_top;
static void put(char c) { while (UART_STATE & 1u) {} UART_DATA = (uint32_t)c; }
static void dec(uint32_t v) { char b[12]; int n = 0; do { b[n++] = (char)('0' + v % 10u); v /= 10u; } while (v);
                              while (n) put(b[--n]); put('\n'); }
#ifdef CNTCR  /* SSE-300: system timer 0's CNTPCT counts up once the system counter runs */
#define NOW() (0u - *(volatile uint32_t *)TIMER0)
#define START() (*(volatile uint32_t *)CNTCR = 1u)
#else        /* CMSDK timer0 counts down */
#define NOW() T_VALUE
#define START() (T_CTRL = 0u, T_RELOAD = 0xFFFFFFFFu, T_VALUE = 0xFFFFFFFFu, T_CTRL = 1u)
#endif
static uint32_t __attribute__((noinline)) nops1000(void) { uint32_t a = NOW();
    __asm volatile(".rept 1000\n\tnop\n\t.endr" ::: "memory"); return a - NOW(); }
static uint32_t __attribute__((noinline)) nops3000(void) { uint32_t a = NOW();
    __asm volatile(".rept 3000\n\tnop\n\t.endr" ::: "memory"); return a - NOW(); }
void Reset_Handler(void) {
    UART_BAUDDIV = 16u; UART_CTRL = 3u;
    START();
    dec(nops1000()); dec(nops3000());
    volatile uint32_t block[2] = {0x20026u, 0u};
    register uint32_t r0 __asm("r0") = 0x20u;
    register volatile uint32_t *r1 __asm("r1") = block;
    __asm volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {}
}
__attribute__((section(".vectors"), used)) const void *vectors[2] = {&__stack_top, (const void *)Reset_Handler};
"""

LINKER = """MEMORY {{ VEC (rx) : ORIGIN = {vectors:#x}, LENGTH = 1K  CODE (rx) : ORIGIN = {code:#x}, LENGTH = 64K
  RAM (rwx) : ORIGIN = {ram:#x}, LENGTH = 64K }}
SECTIONS {{ .vectors : {{ KEEP(*(.vectors)) }} > VEC  .text : {{ *(.text*) *(.rodata*) }} > CODE  .bss : {{ *(.bss*) }} > RAM
  __stack_top = ORIGIN(RAM) + LENGTH(RAM); }}
"""

EMULATED = [b for b in all_boards() if b.emulated and b.port == "mps2"]  # CMSDK UART + timer0; other ports: test_board_models cross-checks


def _define(board, name: str, default: int) -> int:
    for flag in board.cflags:
        m = re.fullmatch(rf"-D{name}=(0x[0-9a-fA-F]+|\d+)u?", flag)
        if m:
            return int(m.group(1), 0)
    return default


@pytest.mark.parametrize("board", EMULATED, ids=[b.id for b in EMULATED])
def test_timer_ticks_convert_to_exact_instruction_counts(board, tmp_path):
    src, ld, elf = tmp_path / "count.c", tmp_path / "count.ld", tmp_path / "count.elf"
    src.write_text(FIRMWARE)
    # the vectors where the core boots; the code 4 KiB further when both share the code memory
    vectors = board.vectors_origin if board.vectors_origin is not None else board.flash_origin
    code = board.flash_origin if board.vectors_origin is not None else board.flash_origin + 4096
    ld.write_text(LINKER.format(vectors=vectors, code=code, ram=board.sram_origin))
    cntcr = _define(board, "TC_MPS2_SYSCOUNTER_CNTCR", 0)
    uart = _define(board, "TC_MPS2_UART0_BASE", 0x40004000)
    timer = _define(board, "TC_MPS2_TIMER0_BASE", 0x40000000)
    machine = [f for f in board.cflags if f.startswith(("-mcpu", "-mthumb"))]
    subprocess.run(["arm-none-eabi-gcc", *machine, "-O1", "-nostartfiles", "-nostdlib", "-T", str(ld),
                    f"-DUART0={uart:#x}u", f"-DTIMER0={timer:#x}u", *([f"-DCNTCR={cntcr:#x}u"] if cntcr else []),
                    str(src), "-o", str(elf)], check=True)
    res = subprocess.run(["qemu-system-arm", "-M", board.qemu.machine, "-nographic", "-monitor", "none",
                          "-icount", ICOUNT, "-semihosting-config", "enable=on,target=native",
                          "-kernel", str(elf)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    t1000, t3000 = (int(v) for v in res.stdout.split())
    assert t3000 > t1000 > 0
    assert (t3000 - t1000) * board.qemu.instructions_per_tick == pytest.approx(2000, abs=1e-9)
