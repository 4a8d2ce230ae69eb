"""One line about the RAM a device uses, from a board run's ``metrics["ram"]`` (bytes)."""

from __future__ import annotations


def ram_line(ram: dict) -> str:
    """e.g. ``RAM 41,372 B used of 131,072 B: arena 38,652 B + static 1,512 B + stack 1,208 B
    (peak, of 4,096 B reserved)``, then, on a board with several regions, what the linker put in
    each; says so when the stack could not be measured."""
    line = _total(ram)
    if len(ram.get("regions", [])) > 1:
        line += "; by region: " + ", ".join(
            f"{r['name']} {r['reserved_bytes']:,} of {r['bytes']:,} B" + (" (stack)" if r["stack"] else "")
            for r in ram["regions"])
    return line


def _total(ram: dict) -> str:
    parts = f"arena {ram['arena_bytes']:,} B + static {ram['static_bytes']:,} B"
    if ram.get("stack_peak_bytes") is None:
        return (f"RAM {ram['reserved_bytes']:,} B reserved of {ram['board_sram_bytes']:,} B: {parts} + stack "
                f"{ram['stack_reserved_bytes']:,} B reserved (not measured: {ram['note']})")
    return (f"RAM {ram['used_bytes']:,} B used of {ram['board_sram_bytes']:,} B: {parts} + stack "
            f"{ram['stack_peak_bytes']:,} B (measured peak, of {ram['stack_reserved_bytes']:,} B reserved)")
