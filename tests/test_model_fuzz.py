"""Hypothesis-driven byte-mutation fuzzing of the TFLite importer over the small shared models.

Every mutated file must load as a Graph or raise TinyCompilerError (one line), quickly. The
default run is ~270 examples; set TC_FUZZ_EXAMPLES for a longer run and TC_FUZZ_RANDOM=1 to
explore new inputs instead of the fixed, reproducible sequence.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import MODELS
from fuzzing import apply_mutation, check_load, mutation_strategy, random_mutation, structural_offsets

SMALL = ("tflm_hello_world_int8", "tflm_micro_speech_int8", "mlperftiny_kws_dscnn_int8")
EXAMPLES = int(os.environ.get("TC_FUZZ_EXAMPLES", "90"))


def _load(stem: str) -> bytes:
    p = MODELS / f"{stem}.tflite"
    if not p.is_file():
        pytest.skip(f"shared model {p.name} not found")
    return p.read_bytes()


_BUFS = {s: (MODELS / f"{s}.tflite").read_bytes() for s in SMALL if (MODELS / f"{s}.tflite").is_file()}
_EMPTY = b"\0" * 64  # placeholder so strategies can be built when shared/ is absent


def _fuzz_test(stem):
    buf = _BUFS.get(stem, _EMPTY)

    @pytest.mark.timeout(120)
    @settings(
        max_examples=EXAMPLES,
        deadline=timedelta(seconds=3),
        derandomize=not os.environ.get("TC_FUZZ_RANDOM"),
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(m=mutation_strategy(buf))
    def test(m):
        if stem not in _BUFS:
            pytest.skip(f"shared model {stem} not found")
        check_load(apply_mutation(buf, m))

    test.__name__ = f"test_fuzz_{stem}"
    return test


test_fuzz_hello_world = _fuzz_test("tflm_hello_world_int8")
test_fuzz_micro_speech = _fuzz_test("tflm_micro_speech_int8")
test_fuzz_kws = _fuzz_test("mlperftiny_kws_dscnn_int8")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("stem", SMALL)
def test_every_truncation_of_the_header_region(stem):
    """Truncating at every 4th byte of the first 512 and at a spread of later offsets."""
    buf = _load(stem)
    cuts = list(range(0, min(512, len(buf)), 4)) + list(range(512, len(buf), max(1, len(buf) // 64)))
    for n in cuts:
        kind, _ = check_load(buf[:n])
        assert kind == "error", f"truncated to {n} bytes of {len(buf)} but loaded"


@pytest.mark.timeout(60)
def test_absurd_int32_at_every_structural_offset_of_hello_world():
    """Each structural int32 of the smallest model overwritten with 0x7fffffff and -1."""
    buf = _load("tflm_hello_world_int8")
    for off in structural_offsets(buf):
        for value in (0x7FFFFFFF, -1):
            check_load(apply_mutation(buf, ("int32", off, value)))


@pytest.mark.timeout(60)
def test_random_mutation_campaign_api():
    """The plain-random API that campaign scripts use produces loadable-or-rejected files."""
    buf = _load("tflm_micro_speech_int8")
    rng = random.Random(1234)
    outcomes = {"graph": 0, "error": 0}
    for _ in range(40):
        kind, _ = check_load(apply_mutation(buf, random_mutation(buf, rng)))
        outcomes[kind] += 1
    assert outcomes["error"] > 0
