"""A clone alone is the whole project: the models and samples are in it with their licences,
nothing reads outside it, output files make their own folders, and progress lines show on a
terminal only (never under --json)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import numpy as np
import pytest

from conftest import DATA, EXPECTED_MODELS, MODEL_FILES, MODELS, REPO, model_path
from tinycompiler.cli import main
from tinycompiler.oracle.tflm import run_tflm

HELLO = "tflm_hello_world_int8"


def _tracked_files() -> list:
    """The repository's own files: git's list in a checkout, else every file below it."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
        return [REPO / p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in REPO.rglob("*") if p.is_file() and ".venv" not in p.parts and ".git" not in p.parts]


def test_every_model_the_suite_uses_is_bundled_with_its_notice():
    assert sorted(p.stem for p in MODEL_FILES) == sorted(EXPECTED_MODELS)
    notice = (MODELS / "NOTICE").read_text()
    for p in MODEL_FILES:
        assert p.name in notice, f"{p.name} has no line in examples/models/NOTICE"
    data_notice = (DATA / "NOTICE").read_text()
    samples = sorted(p.name for p in DATA.iterdir() if p.name != "NOTICE")
    assert len(samples) >= 6
    for name in samples:
        assert name in data_notice, f"{name} has no line in examples/data/NOTICE"


def test_nothing_in_the_repository_reads_outside_it():
    """A user's clone has no ../shared beside it: no source, test, script or Makefile names it."""
    bad = []
    for path in _tracked_files():
        if path.suffix in {".tflite", ".npy", ".npz"} or not path.is_file() or path.name == "test_checkout.py":
            continue
        text = path.read_text(errors="replace")
        for needle in ("../shared", "/work/shared", '"shared" / "models"', '"shared" / "data"'):
            if needle in text:
                bad.append(f"{path.relative_to(REPO)}: {needle}")
    assert not bad, bad


# ------------------------------------------------------------------------------------------------
# output files create their folders


def test_plan_html_creates_its_folders(tmp_path, capsys):
    out = tmp_path / "new" / "deeper" / "memory.html"
    assert main(["plan", str(model_path(HELLO)), "--html", str(out)]) == 0
    assert out.read_text().lstrip().lower().startswith("<!doctype html")


def test_run_output_creates_its_folders_and_holds_tflms_bytes(tmp_path, capsys):
    x = np.array([[57]], np.int8)
    np.save(tmp_path / "in.npy", x)
    out = tmp_path / "a" / "b" / "out.npz"
    assert main(["run", str(model_path(HELLO)), "--input", str(tmp_path / "in.npy"), "--output", str(out)]) == 0
    assert np.array_equal(np.load(out)["output_0"], run_tflm(model_path(HELLO), [x]).outputs[0])
    assert [p.name for p in out.parent.iterdir()] == ["out.npz"]  # no temporary file left beside it


def test_compile_output_creates_its_folders(tmp_path, capsys):
    out = tmp_path / "x" / "y" / "bundle"
    assert main(["compile", str(model_path(HELLO)), "--board", "host", "-o", str(out)]) == 0
    assert (out / "model.c").is_file() and (out / "model.h").is_file()


def test_an_output_under_a_file_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("not a folder")
    assert main(["plan", str(model_path(HELLO)), "--html", str(tmp_path / "afile" / "r.html")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--html" in err and "cannot create folder" in err
    assert (tmp_path / "afile").read_text() == "not a folder"  # nothing lost


# ------------------------------------------------------------------------------------------------
# progress: on a terminal, not under --json, not into a pipe


def _stderr_of(argv, tty: bool) -> str:
    """Run ``tinyc argv`` in a child; its stderr a real pseudo-terminal (tty) or a pipe."""
    env = {k: v for k, v in os.environ.items() if k != "TINYC_PROGRESS"}
    cmd = [sys.executable, "-m", "tinycompiler.cli", *argv]
    if not tty:
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        assert res.returncode == 0, res.stderr
        return res.stderr
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal (EIO)
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=300) == 0
    finally:
        os.close(master)
    return b"".join(chunks).decode(errors="replace")


@pytest.fixture(scope="module")
def patch_auto_argv():
    return ["plan", str(model_path("keras_mobilenetv2_a0.35_64_int8")), "--patch", "auto"]


def test_patch_search_shows_progress_on_a_terminal(patch_auto_argv):
    err = _stderr_of(patch_auto_argv, tty=True)
    assert "patch search: grids tried" in err and "patch search: candidates ranked" in err
    assert "\r" in err  # one line redrawn in place, not a scroll of lines


@pytest.mark.parametrize("extra, tty", [(["--json"], True), ([], False)], ids=["json-on-a-terminal", "pipe"])
def test_no_progress_under_json_or_into_a_pipe(patch_auto_argv, extra, tty):
    assert _stderr_of([*patch_auto_argv, *extra], tty=tty) == ""
