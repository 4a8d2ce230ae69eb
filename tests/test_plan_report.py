"""``tinyc plan`` and the memory reports: JSON, text table, board fit, HTML pictures, TFLM comparison."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET

import pytest

import builders as B
from conftest import model_path
from tinycompiler.cli import main
from tinycompiler.codegen import generate, plan_for_codegen
from tinycompiler.frontends import load_model
from tinycompiler.frontends.tflite.writer import save_tflite
from tinycompiler.report import build_memory_report
from tinycompiler.report.board_fit import BoardBudget
from tinycompiler.report.code_size import estimate_code_bytes
from tinycompiler.report.memory_html import render_memory_html
from tinycompiler.report.memory_json import memory_json
from tinycompiler.report.memory_table import format_memory_table

SVG = "{http://www.w3.org/2000/svg}"

try:
    from tinycompiler.boards.registry import load_board  # noqa: F401

    HAVE_REGISTRY = True
except ImportError:  # the board registry lands separately
    HAVE_REGISTRY = False


def plan_json(capsys, *args) -> dict:
    assert main(["plan", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_json_fields_and_peak_equals_generated_arena(tmp_path, capsys):
    model = model_path("mlperftiny_kws_dscnn_int8")
    d = plan_json(capsys, model)
    bundle = generate(load_model(model), tmp_path / "b")
    declared = int(re.search(r"#define MODEL_ARENA_BYTES (\d+)u", (tmp_path / "b" / "model.h").read_text()).group(1))
    assert d["peak_sram_bytes"] == declared == bundle.arena_bytes
    assert d["flash_weights_bytes"] == 24_376
    assert d["macs"] == 2_656_768
    assert d["patch"] is None
    assert d["lower_bound_bytes"] <= d["peak_sram_bytes"]
    assert isinstance(d["algorithm"], str) and d["algorithm"]
    assert "tflm_arena_bytes" not in d
    layers = d["layers"]
    assert [x["index"] for x in layers] == list(range(13))
    assert layers[0]["op"] == "CONV_2D" and layers[0]["output_shape"] == [1, 25, 5, 64]
    assert layers[0]["macs"] == 25 * 5 * 64 * 10 * 4
    assert sum(x["macs"] for x in layers) == d["macs"]
    alive = [x["alive_bytes"] for x in layers]
    assert d["peak_layer"] == alive.index(max(alive))
    assert [x["index"] for x in layers if x["peak"]] == [d["peak_layer"]]
    for x in layers:
        assert x["alive_bytes"] == sum(b["bytes"] for b in x["buffers"])
        spans = sorted((b["offset"], b["offset"] + b["bytes"]) for b in x["buffers"])
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), f"op {x['index']}: buffers overlap"
        assert all(hi <= d["peak_sram_bytes"] for _, hi in spans)
    # tensor 0 (the input) sits in a buffer alive at op 0; the 1x12 output has an I/O buffer of its own
    t0 = [b for b in d["buffers"] if any(t["index"] == 0 for t in b["tensors"])]
    assert len(t0) == 1 and t0[0]["start"] == 0 and t0[0]["name"] == "t0"
    out = [b for b in layers[-1]["buffers"] if b["name"] == "t34"]
    assert len(out) == 1 and out[0]["kind"] == "io" and out[0]["bytes"] == 12


def test_table_marks_the_peak_row_and_names_its_layer():
    graph = load_model(model_path("tinyengine_mcunet_vww"))
    plan = plan_for_codegen(graph)
    text = format_memory_table(build_memory_report(graph, plan, code=estimate_code_bytes(graph, plan)))
    marked = [line for line in text.splitlines() if line.startswith("*")]
    assert len(marked) == 1
    peak = plan.peak_step
    assert marked[0].split()[1] == str(peak)
    assert marked[0].split()[2] == plan.graph.ops[peak].kind  # ops as planned (after the codegen passes)
    assert f"{plan.alive_bytes[peak]:,}" in marked[0]
    assert f"peak SRAM (arena) {plan.arena_bytes:,} B, set by op {peak} {plan.graph.ops[peak].kind}" in text
    assert "flash: weights 445,128 B + code ~" in text and "estimate" in text
    assert "MACs 11,578,816" in text


def _small_board(monkeypatch) -> str:
    """A real 96 KiB board from the registry; a fake one only while the registry is missing."""
    if HAVE_REGISTRY:
        return "nucleo_f401re"
    fake = BoardBudget("tiny96", "fake 96 KiB board", 98_304, 524_288)
    monkeypatch.setattr("tinycompiler.report.board_fit.load_budget", lambda _id: fake)
    return "tiny96"


def test_too_small_board_says_by_how_much_and_what_helps(monkeypatch, capsys, tmp_path):
    # every bundled model fits the smallest real board by now; a 128x128x8 conv's input alone is 128 KiB
    board = _small_board(monkeypatch)
    model = save_tflite(B.conv2d_graph(7, 128, 128, 8, 8, 3, 3), tmp_path / "big_conv.tflite")
    arena = plan_for_codegen(load_model(model)).arena_bytes
    assert arena > 128 * 128 * 8 > 98_304
    assert main(["plan", str(model), "--board", board, "--json"]) == 0
    out = capsys.readouterr().out
    d = json.loads(out.strip().splitlines()[-1])
    assert f"board {board} " in out and "DOES NOT FIT" in out
    assert f"SRAM: needs {arena:,} B, has 98,304 B, short by {arena - 98_304:,} B" in out
    assert "the peak is set by op 0 CONV_2D" in out
    assert "--patch auto" in out and "tinyc boards" in out
    b = d["board"]
    assert (b["fits"], b["fits_sram"], b["fits_flash"]) == (False, False, True)
    assert b["sram_short_bytes"] == arena - 98_304 and b["sram_bytes"] == 98_304
    assert b["flash_needed_bytes"] == d["flash_weights_bytes"] + d["flash_code_bytes_estimate"]
    if HAVE_REGISTRY:  # boards with enough SRAM, smallest first
        assert b["larger_boards"][:2] == ["nrf52840_dk", "pico"] and board not in b["larger_boards"]


@pytest.mark.skipif(not HAVE_REGISTRY, reason="board registry not present")
def test_board_that_fits_and_unknown_board(capsys):
    model = model_path("mlperftiny_kws_dscnn_int8")
    d = plan_json(capsys, model, "--board", "pico")
    assert d["board"]["fits"] is True and d["board"]["sram_bytes"] == 270_336
    assert main(["plan", str(model), "--board", "nosuchboard"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "unknown board 'nosuchboard'" in err and "pico" in err


def test_patch_option(capsys):
    model = model_path("tflm_hello_world_int8")
    assert main(["plan", str(model), "--patch", "bogus"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "off" in err
    code = main(["plan", str(model), "--patch", "auto", "--json"])
    captured = capsys.readouterr()
    if code == 1:  # the planner cannot patch yet: a one-line error pointing at --patch off
        assert "--patch off" in captured.err and len(captured.err.strip().splitlines()) == 1
    else:  # hello_world is three FULLY_CONNECTED ops: nothing to patch
        d = json.loads(captured.out.strip().splitlines()[-1])
        assert d["patch"] is None


def _parse_html(html: str):
    root = ET.fromstring(html)  # XHTML-clean: a stray '<' or '&' from a tensor name fails here
    assert root.tag == "html"
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    return root


def test_html_report_is_well_formed_with_both_pictures_and_the_peak(tmp_path, capsys):
    model = model_path("mlperftiny_kws_dscnn_int8")
    page = tmp_path / "kws.html"
    d = plan_json(capsys, model, "--html", page)
    root = _parse_html(page.read_text())
    svgs = {s.get("id"): s for s in root.iter(f"{SVG}svg")}
    assert set(svgs) == {"alive", "timeline"}
    alive, timeline = svgs["alive"], svgs["timeline"]
    # (a) one red outline around the peak bar, labelled with the peak bytes and layer
    assert len([r for r in alive.iter(f"{SVG}rect") if r.get("class") == "peak-outline"]) == 1
    texts = [t.text for t in alive.iter(f"{SVG}text")]
    assert f"peak {d['peak_sram_bytes']:,} B at op {d['peak_layer']} {d['peak_op']}" in texts
    assert f"arena {d['peak_sram_bytes']:,} B" in texts
    # (b) one rectangle with a tooltip per buffer, coloured by kind
    bufs = [r for r in timeline.iter(f"{SVG}rect") if (r.get("class") or "").startswith("buf-")
            and r.find(f"{SVG}title") is not None]
    assert len(bufs) == len(d["buffers"])
    assert {r.get("class") for r in bufs} <= {"buf-activation", "buf-scratch", "buf-io", "buf-patch"}
    assert "buf-io" in {r.get("class") for r in bufs}
    # every rectangle lies inside its picture
    for svg in svgs.values():
        w, h = float(svg.get("width")), float(svg.get("height"))
        for r in svg.iter(f"{SVG}rect"):
            x, y, rw, rh = (float(r.get(k)) for k in ("x", "y", "width", "height"))
            assert 0 <= x and x + rw <= w + 0.1 and 0 <= y and y + rh <= h + 0.1
    # the table: one highlighted peak row
    peak_rows = [tr for tr in root.iter("tr") if tr.get("class") == "peak"]
    assert len(peak_rows) == 1 and peak_rows[0][1].text == str(d["peak_layer"])


def test_html_escapes_names_and_shades_a_patch_stage():
    """A fake patch on a real plan: the report reads ``plan.patch`` before the patch planner lands."""

    @dataclasses.dataclass
    class FakePatch:
        split_op: int
        grid: tuple
        stage_ops: list
        extra_macs: int

    graph = load_model(model_path("mlperftiny_kws_dscnn_int8"))
    plan = plan_for_codegen(graph)
    plan.patch = FakePatch(3, (2, 2), [0, 1, 2, 3], 12_345)
    r = build_memory_report(graph, plan)
    r.buffers[0].full_name = 'conv<1> & "relu"'
    d = memory_json(r)
    assert d["patch"] == {"split_op": 3, "grid": [2, 2], "stage_ops": [0, 1, 2, 3], "extra_macs": 12_345,
                          "split": 3, "option": None}
    assert [x["patch_stage"] for x in d["layers"]][:5] == [True, True, True, True, False]
    assert "patch: split after op 3, grid 2x2, stage ops 0-3, extra MACs 12,345" in format_memory_table(r)
    root = _parse_html(render_memory_html(r))
    bands = [x for x in root.iter(f"{SVG}rect") if x.get("class") == "band-patch" and x.find(f"{SVG}title") is not None]
    assert len(bands) == 2  # shaded on both pictures
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert any(t and 'conv<1> & "relu"' in t for t in titles)


@pytest.mark.parametrize("name, tflm", [("tflm_hello_world_int8", 1_936), ("mlperftiny_kws_dscnn_int8", 24_272)])
def test_compare_tflm(capsys, name, tflm):
    """TFLM's smallest host arena, as listed in the bundled models' README."""
    assert main(["plan", str(model_path(name)), "--compare-tflm", "--json"]) == 0
    out = capsys.readouterr().out
    d = json.loads(out.strip().splitlines()[-1])
    assert d["tflm_arena_bytes"] == tflm
    assert d["tflm_ratio"] == round(d["peak_sram_bytes"] / tflm, 4) and d["tflm_ratio"] < 1
    assert "64-bit host" in d["tflm_note"] and "64-bit host" in out
    assert f"TFLM arena {tflm:,} B" in out


def test_report_of_a_real_patch_plan():
    """``plan_for_codegen(patch="auto")`` on MobileNetV2: per-patch buffers, the stage shaded, a lower peak."""
    import inspect

    if "patch" not in inspect.signature(plan_for_codegen).parameters:
        pytest.skip("plan_for_codegen has no patch= yet")
    graph = load_model(model_path("keras_mobilenetv2_a0.35_64_int8"))
    layered = plan_for_codegen(graph)
    plan = plan_for_codegen(graph, patch="auto")
    assert plan.patch is not None and plan.arena_bytes < layered.arena_bytes
    r = build_memory_report(graph, plan)
    d = memory_json(r)
    assert d["peak_sram_bytes"] == plan.arena_bytes
    assert d["patch"]["split"] == plan.patch.split_op and d["patch"]["extra_macs"] == plan.patch.extra_macs > 0
    stage = [x["index"] for x in d["layers"] if x["patch_stage"]]
    assert stage == list(plan.patch.stage_ops)
    assert "patch" in {b["kind"] for b in d["buffers"]}
    root = _parse_html(render_memory_html(r))
    assert any(x.get("class") == "band-patch" for x in root.iter(f"{SVG}rect"))
    text = format_memory_table(r)
    assert "--patch auto" not in text  # no advice to turn on what is on
    # the search's trade-off: a Pareto front from the layer plan to the chosen plan, in the JSON,
    # the text (with why) and as a picture whose points are the front's plans
    search = d["patch"]["search"]
    front = search["front"]
    assert front[0] == {"option": "off", "peak_bytes": layered.arena_bytes, "extra_macs": 0, "extra_macs_pct": 0.0}
    assert front[-1]["option"] == search["chosen"] == plan.patch.option
    assert front[-1]["peak_bytes"] == plan.arena_bytes
    for a, b in zip(front, front[1:]):  # each point lowers the peak and costs at least as many MACs
        assert b["peak_bytes"] < a["peak_bytes"] and b["extra_macs"] >= a["extra_macs"]
    assert search["planned"] <= search["candidates"] and "extra-MAC bound of 20%" in search["why"]
    assert f"patch search: chose {plan.patch.option}" in text and "Pareto front" in text
    points = [x for x in root.iter(f"{SVG}rect") if x.get("class") == "front-point" and x.find(f"{SVG}title") is not None]
    assert len(points) == len(front)
    tips = [x.find(f"{SVG}title").text for x in points]
    assert any(f"--patch {plan.patch.option}:" in t and "(chosen)" in t for t in tips)


@pytest.mark.skipif(not HAVE_REGISTRY, reason="board registry not present")
def test_plan_shows_ram_per_region_of_the_device(capsys):
    """`tinyc plan --board netduinoplus2`: what the firmware puts in each RAM region, in the table
    and the JSON, from the same layout the fit check and the linker script use."""
    from tinycompiler.boards.ram_layout import STACK_BYTES

    model = model_path("tinyengine_mcunet_vww")
    assert main(["plan", str(model), "--board", "netduinoplus2", "--json"]) == 0
    out = capsys.readouterr().out
    regions = json.loads(out.strip().splitlines()[-1])["board"]["ram_regions"]
    sram, ccm = regions
    arena = plan_for_codegen(load_model(model))
    assert (sram["name"], sram["bytes"], sram["arena_bytes"], sram["stack_bytes"]) == ("sram", 131072, arena.arena_bytes,
                                                                                    STACK_BYTES)
    assert sram["free_bytes"] == 131072 - arena.arena_bytes - sram["static_bytes"] - STACK_BYTES > 0
    assert (ccm["name"], ccm["arena_bytes"], ccm["stack_bytes"]) == ("ccm", 0, 0)
    assert "RAM on the device, by region (fits;" in out and "ccm 65,536 B at 0x10000000: not emulated, left empty" in out
