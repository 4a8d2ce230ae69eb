"""Shared test constants: where the bundled reference models and sample data live.

Every model and sample the tests use is in the repository (``examples/models`` and
``examples/data``, each with its NOTICE), so a fresh clone runs the whole suite. A missing file is
a test failure, never a skip: it means the checkout is incomplete.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "examples" / "models"
DATA = REPO / "examples" / "data"
#: every bundled .tflite model, sorted by name
MODEL_FILES = sorted(MODELS.glob("*.tflite"))
#: the models the suite is written against (tests/test_tflite_reader.py pins their facts)
EXPECTED_MODELS = (
    "keras_mobilenetv2_a0.35_64_int8", "mlperftiny_ic_resnet8_cifar10_int8", "mlperftiny_kws_dscnn_int8",
    "tflm_hello_world_int8", "tflm_micro_speech_int8", "tflm_person_detect_mobilenetv1_96_int8",
    "tinyengine_mcunet_vww",
)


def model_path(name: str) -> Path:
    """Path of a bundled model by file name or stem; fails the calling test when it is missing."""
    p = MODELS / (name if name.endswith(".tflite") else name + ".tflite")
    if not p.is_file():
        pytest.fail(f"bundled model {p.name} is missing from {MODELS}: the checkout is incomplete")
    return p


def data_path(name: str) -> Path:
    """Path of a bundled sample file; fails the calling test when it is missing."""
    p = DATA / name
    if not p.is_file():
        pytest.fail(f"bundled sample {p.name} is missing from {DATA}: the checkout is incomplete")
    return p


# ------------------------------------------------------------------------------------------------
# `make test` sets TC_NO_SKIPS=1: there every tool and file is installed, so a skipped test means a
# broken set-up step, and it fails the run instead of passing unnoticed.

_STRICT = os.environ.get("TC_NO_SKIPS") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if _STRICT and rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"skipped under TC_NO_SKIPS=1 (make test installs everything): {reason}"


def pytest_collectreport(report):
    if _STRICT and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"module skipped under TC_NO_SKIPS=1 (make test installs everything): {reason}"
