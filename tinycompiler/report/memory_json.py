"""The memory plan as one JSON-ready dict (``tinyc plan --json``); sizes in bytes."""

from __future__ import annotations

from tinycompiler.report.memory_table import TFLM_NOTE


def _buffer(u, with_life: bool) -> dict:
    d = {"name": u.name, "offset": u.offset, "bytes": u.bytes, "kind": u.kind}
    if with_life:
        d.update(full_name=u.full_name, start=u.start, end=u.end,
                 tensors=[{"index": t, "offset": off} for t, off in u.tensors])
    return d


def _patch(p):
    if p is None:
        return None
    # the patch planner's own summary() names win: it owns that vocabulary
    return {"split": p.split, "grid": p.grid, "stage_ops": p.stage_ops, "extra_macs": p.extra_macs,
            "option": p.option, **p.details}


def _board(fit):
    if fit is None:
        return None
    b = fit.board
    return {"id": b.id, "sram_bytes": b.sram_bytes, "flash_bytes": b.flash_bytes, "fits": fit.fits,
            "fits_sram": fit.fits_sram, "fits_flash": fit.fits_flash, "sram_needed_bytes": fit.sram_needed,
            "flash_needed_bytes": fit.flash_needed, "sram_short_bytes": fit.sram_short_bytes,
            "flash_short_bytes": fit.flash_short_bytes, "larger_boards": fit.larger_boards,
            "ram_regions": fit.regions}


def memory_json(r) -> dict:
    """``peak_sram_bytes`` is the whole arena the generated code declares (MODEL_ARENA_BYTES)."""
    d = {
        "model": r.model,
        "peak_sram_bytes": r.arena_bytes,
        "model_ops": r.model_ops,
        "scheduled_ops": len(r.layers),
        "peak_layer": r.peak_layer,
        "peak_op": r.peak_row.op,
        "algorithm": r.algorithm,
        "lower_bound_bytes": r.lower_bound_bytes,
        "flash_weights_bytes": r.weight_bytes,
        "flash_code_bytes_estimate": r.code_bytes,
        "code_note": r.code_note,
        "macs": r.macs,
        "inplace_ops": r.inplace,
        "patch": _patch(r.patch),
        "io": r.io,
        "layers": [
            {"index": x.index, "op": x.op, "output_shape": list(x.output_shape), "macs": x.macs,
             "alive_bytes": x.alive_bytes, "peak": x.is_peak, "patch_stage": x.in_patch_stage,
             "buffers": [_buffer(u, False) for u in x.buffers]}
            for x in r.layers
        ],
        "buffers": [_buffer(u, True) for u in r.buffers],
        "board": _board(r.fit),
    }
    if r.tflm_arena_bytes:
        d.update(tflm_arena_bytes=r.tflm_arena_bytes, tflm_ratio=round(r.tflm_ratio, 4), tflm_note=TFLM_NOTE)
    return d
