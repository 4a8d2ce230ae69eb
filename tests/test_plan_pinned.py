"""Pinned planned peaks: the arena the generated C declares for each shared model, exactly.

A change in either direction fails: a larger arena is a regression; a smaller one is an
improvement that must update its pin here (and say so in the commit), so the gain is recorded
and cannot silently slip back later. Bytes, from ``plan_for_codegen(graph).arena_bytes`` (layer
by layer, no patches, kernel scratch included).
"""

from __future__ import annotations

import pytest

from conftest import MODEL_FILES
from tinycompiler.codegen import plan_for_codegen
from tinycompiler.frontends import load_model

#: model stem -> planned arena (bytes). Improvements must lower these numbers in the same change.
PINNED_ARENA_BYTES = {
    "keras_mobilenetv2_a0.35_64_int8": 57_360,
    "mlperftiny_ic_resnet8_cifar10_int8": 33_584,
    "mlperftiny_kws_dscnn_int8": 8_128,
    "tflm_hello_world_int8": 32,
    "tflm_micro_speech_int8": 4_172,
    "tflm_person_detect_mobilenetv1_96_int8": 54_508,
    "tinyengine_mcunet_vww": 89_616,  # was 96,000 while its float input was stored as float
}


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_planned_peak_is_pinned(path):
    assert path.stem in PINNED_ARENA_BYTES, f"new bundled model {path.stem}: add its arena to PINNED_ARENA_BYTES"
    got = plan_for_codegen(load_model(path)).arena_bytes
    pinned = PINNED_ARENA_BYTES[path.stem]
    assert got <= pinned, f"{path.stem}: arena grew from {pinned:,} to {got:,} B (+{got - pinned:,}): a regression"
    assert got == pinned, (f"{path.stem}: arena shrank from {pinned:,} to {got:,} B (-{pinned - got:,}): "
                           "well done, now update PINNED_ARENA_BYTES in tests/test_plan_pinned.py")
