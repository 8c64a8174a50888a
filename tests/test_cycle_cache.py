"""sim.cycle.cache: the on-disk caches return what the computation returns, and a change of
the code they are keyed by selects a new entry."""
from __future__ import annotations

import pickle
import warnings

import pytest

from sim.cycle import cache, hwprops, workloads


@pytest.fixture
def cache_in(tmp_path, monkeypatch):
    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FHESIM_CACHE", raising=False)
    return tmp_path


def test_cached_resnet20_trace_is_the_dry_run(cache_in, monkeypatch):
    """The first call writes the entry, the second reads it; both equal the uncached dry run
    (every field of every op, the notes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = workloads.workload_ops("resnet20", "n16-128", geometry="cifar32")
        files = list((cache_in / "traces").glob("*.pickle"))
        assert len(files) == 1
        second = workloads.workload_ops("resnet20", "n16-128", geometry="cifar32")
        monkeypatch.setenv("FHESIM_CACHE", "0")
        ref = workloads.workload_ops("resnet20", "n16-128", geometry="cifar32")
    assert second[0] is not first[0]                      # read back, not the same objects
    assert first == ref and second == ref
    assert len(ref[0]) > 10_000 and ref[1] == second[1]
    # an unreadable entry is a miss: recomputed and rewritten
    files[0].write_bytes(b"not a pickle")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        monkeypatch.delenv("FHESIM_CACHE")
        again = workloads.workload_ops("resnet20", "n16-128", geometry="cifar32")
    assert again == ref and pickle.loads(files[0].read_bytes()) == ref


def test_request_and_code_select_the_entry(cache_in, tmp_path, monkeypatch):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    (tmp_path / "pkg").mkdir()
    src = tmp_path / "pkg" / "m.py"
    src.write_text("x = 1\n")
    monkeypatch.setattr(cache, "ROOT", tmp_path)
    monkeypatch.setattr(cache, "_DIGESTS", {})
    assert cache.cached_pickle("t", {"a": 1}, ("pkg",), compute) == 1
    assert cache.cached_pickle("t", {"a": 1}, ("pkg",), compute) == 1      # hit
    assert cache.cached_pickle("t", {"a": 2}, ("pkg",), compute) == 2      # other request
    src.write_text("x = 2\n")
    monkeypatch.setattr(cache, "_DIGESTS", {})
    assert cache.cached_pickle("t", {"a": 1}, ("pkg",), compute) == 3      # code changed
    with pytest.raises(ValueError, match="nope"):
        cache.code_digest(("nope",))


def test_hwprops_memo_holds_the_units_values(cache_in, monkeypatch):
    """The persistent memo returns the constructed unit's values (NttUnit(64, q, 20, 4):
    3n = 192 memory words; its timing pair) and stores them as read."""
    monkeypatch.setattr(hwprops, "_MEMO", cache.PersistentMemo(
        "hwprops", ("hw", "sw/primes.py", "sim/cycle/hwprops.py")))
    direct = (hwprops._ntt_props(64, 20, 4, "barrett"), hwprops._ntt_memory_words(64, 4, 20, "barrett"))
    memo = hwprops._MEMO
    got = (memo.get("ntt_props", (64, 20, 4, "barrett"), lambda: hwprops._ntt_props(64, 20, 4, "barrett")),
           memo.get("ntt_memory_words", (64, 4, 20, "barrett"),
                    lambda: hwprops._ntt_memory_words(64, 4, 20, "barrett")))
    assert got == direct and direct[1] == 192
    fresh = cache.PersistentMemo("hwprops", ("hw", "sw/primes.py", "sim/cycle/hwprops.py"))
    assert fresh.get("ntt_props", (64, 20, 4, "barrett"), lambda: None) == direct[0]   # from disk


def test_algorithm_options_select_their_own_trace_entry(cache_in, monkeypatch):
    """A bootstrap traced with giant_steps = "min" is another entry than the default one;
    each reads back as its own uncached dry run."""
    from sim.cycle.algorithm import AlgorithmOptions

    def run(gs):
        return workloads.workload_ops("bootstrap", "toy-boot-n10", allow_insecure=True,
                                      algorithm=AlgorithmOptions(giant_steps=gs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = {gs: run(gs) for gs in ("keys", "min")}
        assert len(list((cache_in / "traces").glob("*.pickle"))) == 2
        again = {gs: run(gs) for gs in ("keys", "min")}
        monkeypatch.setenv("FHESIM_CACHE", "0")
        ref = {gs: run(gs) for gs in ("keys", "min")}
    assert first == again == ref and ref["keys"] != ref["min"]
    assert len({k.key for o in ref["keys"][0] for k in o.keys}) == 19      # 18 named + None
    assert len({k.key for o in ref["min"][0] for k in o.keys}) == 17
