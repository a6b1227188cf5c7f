"""Fast, in-process unit tests of the baseline's rules: its keys, updates and fixed entries, the rendering and
the atomic write."""

from __future__ import annotations

import json
import random

import pytest

from pytest_estimator_isolation.baseline import Baseline, Entry, entries_of, write_atomically
from pytest_estimator_isolation.findings import Finding


def leak(owner, kind="shared-model-dir", **extra):
    return Finding("EI201", kind, "error", owner, "w", "f", "failed", False, **extra)


def shared(owner, first, subject="<tmp>/shared_model"):
    return leak(owner, subject=subject, others=(first,))


def test_shared_dir_entry_is_the_same_in_every_order():
    tests = ["t.py::a", "t.py::b", "t.py::c"]
    seen = set()
    for seed in range(6):
        order = random.Random(seed).sample(tests, 3)
        first = order[0]
        found = [shared(later, first) for later in order[1:]]
        seen.add(frozenset(entries_of(found)))
    assert seen == {frozenset({Entry("shared-model-dir", "<tmp>/shared_model", tuple(tests))})}


def test_shared_entry_covers_every_pair_of_its_tests_and_no_newcomer(tmp_path):
    baseline = Baseline(tmp_path / "b.json", [Entry("shared-model-dir", "<tmp>/m", ("t::a", "t::b", "t::c"))])
    assert baseline.covers(shared("t::a", "t::c", "<tmp>/m"))
    assert baseline.covers(shared("t::c", "t::b", "<tmp>/m"))
    assert not baseline.covers(shared("t::d", "t::a", "<tmp>/m"))
    assert not baseline.covers(shared("t::a", "t::b", "<tmp>/other"))


def test_schema_1_shared_entry_matches_any_finding_involving_its_test(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"schema": 1, "leaks": [{"kind": "shared-model-dir", "owner": "t::b"}]}))
    baseline = Baseline.load(path, missing_ok=False)
    assert baseline.covers(shared("t::b", "t::a"))
    assert baseline.covers(shared("t::a", "t::b"))  # the other order
    assert not baseline.covers(shared("t::a", "t::c"))


def test_persistent_dir_entry_covers_the_stale_checkpoint_it_causes_and_is_written_alone(tmp_path):
    stale = leak("t::a", kind="stale-checkpoint", covered_by="persistent-model-dir")
    persistent = leak("t::a", kind="persistent-model-dir")
    baseline = Baseline(tmp_path / "b.json", entries_of([persistent]))
    assert baseline.covers(stale)
    assert not baseline.covers(leak("t::b", kind="stale-checkpoint", covered_by="persistent-model-dir"))
    assert entries_of([stale, persistent]) == entries_of([persistent])


def test_update_keeps_entries_of_unjudged_tests_and_merges_shared_ones(tmp_path):
    old = [
        Entry("open-session", "", ("t::a",)),
        Entry("open-session", "", ("t::gone",)),
        Entry("shared-model-dir", "<tmp>/m", ("t::a", "t::b", "t::c")),
    ]
    baseline = Baseline(tmp_path / "b.json", old)
    # a and b ran; only they shared the dir this time, and a no longer leaks a session.
    entries, kept = baseline.updated([shared("t::b", "t::a", "<tmp>/m")], judged={"t::a", "t::b"})
    assert kept == 2
    assert entries == [
        Entry("open-session", "", ("t::gone",)),
        Entry("shared-model-dir", "<tmp>/m", ("t::a", "t::b", "t::c")),
    ]
    assert baseline.fixed([], judged={"t::a", "t::b"}) == [Entry("open-session", "", ("t::a",))]
    assert baseline.fixed([], judged=set()) == []


def test_render_is_sorted_and_stable(tmp_path):
    entries = [Entry("b", "", ("t::z",)), Entry("a", "", ("t::y",)), Entry("shared-model-dir", "d", ("t::2", "t::1"))]
    baseline = Baseline(tmp_path / "b.json", entries)
    text = baseline.render(baseline.entries)
    assert text == baseline.render(Baseline(tmp_path / "b.json", list(reversed(entries))).entries)
    assert [e["kind"] for e in json.loads(text)["leaks"]] == ["a", "b", "shared-model-dir"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "baseline.json"
    path.write_text("old\n")

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["baseline.json"]
