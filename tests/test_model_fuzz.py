"""Fuzzing the TFLite importer and the planner (``tinyc plan``) over the small bundled models.

Every mutant must end as a planned model or one TinyCompilerError line: no other exception, no
hang, no memory blow-up. Mutants run in a forked :class:`fuzzing.Sandbox` (1 GiB address-space
cap, 5 s per example), so a blow-up fails the test instead of the machine. The default run is
~2000 examples in ~15 s; TC_FUZZ_EXAMPLES sets the hypothesis examples per model and
TC_FUZZ_RANDOM=1 explores new inputs instead of the fixed sequence. The long campaign over all
models is ``benchmarks/fuzz.py``.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import MODELS, model_path
from fuzzing import AIMED, Sandbox, apply_mutation, check_load, model_map, mutation_strategy, random_mutation

SMALL = ("tflm_hello_world_int8", "tflm_micro_speech_int8", "mlperftiny_kws_dscnn_int8")
EXAMPLES = int(os.environ.get("TC_FUZZ_EXAMPLES", "600"))
ACCEPTED = ("error", "planned")

_BUFS = {s: (MODELS / f"{s}.tflite").read_bytes() for s in SMALL}


def _load(stem: str) -> bytes:
    return _BUFS[stem]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(_BUFS, mem_bytes=1 << 30, timeout=5.0) as sb:
        yield sb


def _check(sb: Sandbox, stem: str, m) -> tuple:
    kind, detail, _ = sb.run(stem, m)
    assert kind in ACCEPTED, f"{stem} mutated by {m!r}: {kind}: {detail}"
    return kind, detail


def _fuzz_test(stem):
    buf = _BUFS[stem]

    @pytest.mark.timeout(120)
    @settings(max_examples=EXAMPLES, deadline=timedelta(seconds=10), derandomize=not os.environ.get("TC_FUZZ_RANDOM"),
              suppress_health_check=list(HealthCheck), database=None)
    @given(m=mutation_strategy(buf))
    def test(sandbox, m):
        _check(sandbox, stem, m)

    test.__name__ = f"test_fuzz_{stem}"
    return test


test_fuzz_hello_world = _fuzz_test("tflm_hello_world_int8")
test_fuzz_micro_speech = _fuzz_test("tflm_micro_speech_int8")
test_fuzz_kws = _fuzz_test("mlperftiny_kws_dscnn_int8")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", sorted(AIMED))
def test_aimed_mutations(sandbox, kind):
    """Each aimed kind (absurd dims, lengths and indices, cycles, swapped ops, unknown ops,
    shape/buffer mismatches, overflowing sizes, types, quantization, options) on every small
    model: 15 mutants each. Cycles, swapped ops and overflowing shapes can never be valid."""
    from fuzzing import _aimed, _expand

    rng = random.Random(f"aimed-{kind}")
    seen = 0
    for stem in SMALL:
        buf = _load(stem)
        for _ in range(15):
            m = _expand(buf, _aimed(kind, buf, rng))
            if not m:
                continue
            got, detail = _check(sandbox, stem, m)
            seen += 1
            if kind in ("cycle", "swap", "overflow"):
                assert got == "error", f"{stem} mutated by {m!r} ({kind}) was accepted"
            if kind == "cycle":
                assert "before any op writes it" in detail or "already" in detail, detail
    assert seen


@pytest.mark.timeout(60)
@pytest.mark.parametrize("stem", SMALL)
def test_every_constant_in_every_activation_input(sandbox, stem):
    """Found by benchmarks/fuzz.py: hello_world's second FULLY_CONNECTED reading the first one's
    weights passed validation and crashed code generation (KeyError: no arena offset for a
    constant). Now every (activation input, constant) pair is planned or refused in one line."""
    buf = _load(stem)
    m = model_map(buf)
    slots = [p for _, p, t in m.op_inputs if t >= 0 and t not in m.const]
    for p in slots:
        for t in sorted(m.const):
            _check(sandbox, stem, ("int32", p, t))


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
    """Each structural int32 of the smallest model overwritten with 0x7fffffff and -1, planned."""
    buf = _load("tflm_hello_world_int8")
    for off in model_map(buf).structural:
        for value in (0x7FFFFFFF, -1):
            check_load(apply_mutation(buf, ("int32", off, value)), plan=True)


@pytest.mark.timeout(60)
def test_random_mutation_campaign_api(sandbox):
    """The plain-random API of benchmarks/fuzz.py yields both accepted and rejected mutants."""
    buf = _load("tflm_micro_speech_int8")
    rng = random.Random(1234)
    kinds = {"planned": 0, "error": 0}
    for _ in range(60):
        kinds[_check(sandbox, "tflm_micro_speech_int8", random_mutation(buf, rng))[0]] += 1
    assert kinds["error"] > 0 and kinds["planned"] > 0


@pytest.mark.timeout(60)
def test_sandbox_reports_hangs_and_recovers():
    """A worker that does not answer in time is killed and reported as a hang; the next
    example gets a fresh worker."""
    big = model_path("keras_mobilenetv2_a0.35_64_int8")  # planning it takes ~1 s
    with Sandbox({"big": big.read_bytes()}, timeout=0.05) as sb:
        kind, _, _ = sb.run("big", ("seq", ()))
        assert kind == "hang"
        sb.timeout = 30.0
        assert sb.run("big", ("truncate", 100))[0] == "error"
        assert sb.run("big", ("seq", ()))[0] == "planned"
        assert sb.starts == 2
