"""The ``--patch auto`` answers kept on disk: asked again, the same plan without a search; a damaged
entry is searched again; any change to the graph is a different key."""

from __future__ import annotations

import pytest

import builders as B
from tinycompiler.codegen import plan_for_codegen
from tinycompiler.plan import patch as P
from tinycompiler.plan import search_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYC_CACHE", str(tmp_path))
    return tmp_path / "patch-search"


def test_second_search_comes_from_the_cache(cache, monkeypatch):
    graph = B.small_cnn_graph(7, h=16, w=16)
    first = plan_for_codegen(graph, "auto:0.5")
    assert len(list(cache.glob("*.json"))) == 1

    def no_search(*a, **k):
        raise AssertionError("searched again")

    monkeypatch.setattr(P, "search_patch_plan", no_search)
    again = plan_for_codegen(graph, "auto:0.5")
    assert again.arena_bytes == first.arena_bytes
    assert (again.patch is None) == (first.patch is None)
    if first.patch is not None:
        assert again.patch.option == first.patch.option and again.patch.search == first.patch.search
    with pytest.raises(AssertionError, match="searched again"):  # another bound is another search
        plan_for_codegen(graph, "auto:0.4")


def test_a_damaged_entry_is_searched_again(cache):
    graph = B.small_cnn_graph(3, h=16, w=16)
    first = plan_for_codegen(graph, "auto:0.5")
    (entry,) = cache.glob("*.json")
    entry.write_text('{"option": "9x9x999"')  # cut short
    assert plan_for_codegen(graph, "auto:0.5").arena_bytes == first.arena_bytes
    entry.write_text('{"option": "9x9x999", "search": {}}')  # readable, but no such stage here
    assert plan_for_codegen(graph, "auto:0.5").arena_bytes == first.arena_bytes


def test_the_key_follows_the_graph():
    a, b = B.small_cnn_graph(7, h=16, w=16), B.small_cnn_graph(8, h=16, w=16)
    scratch = {op.index: 0 for op in a.ops}
    assert search_cache.search_key(a, scratch, (0.2,)) != search_cache.search_key(b, scratch, (0.2,))
    assert search_cache.search_key(a, scratch, (0.2,)) != search_cache.search_key(a, scratch, (0.3,))
    assert search_cache.search_key(a, scratch, (0.2,)) == search_cache.search_key(a, dict(scratch), (0.2,))
