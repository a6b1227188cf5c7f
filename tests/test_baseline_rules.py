"""Fast, in-process unit tests of the TF-free rules: baseline keys, updates and fixed entries, the bare
flag's rewrite, GitHub annotations and the merge of shard reports."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from pytest_estimator_isolation.annotations import command, escape_data, escape_property
from pytest_estimator_isolation.baseline import Baseline, Entry, entries_of, write_atomically
from pytest_estimator_isolation.findings import Finding
from pytest_estimator_isolation.leaks import Site
from pytest_estimator_isolation.merge import main as merge_main
from pytest_estimator_isolation.options import free_swallowed_path


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


@pytest.mark.parametrize(
    ("args", "rewritten", "freed"),
    [
        (["--estimator-isolation", "tests/"], ["--estimator-isolation=strict", "tests/"], ["tests/"]),
        (["--estimator-isolation", "t.py::test_a"], ["--estimator-isolation=strict", "t.py::test_a"], ["t.py::test_a"]),
        (["--estimator-isolation", "warn"], ["--estimator-isolation", "warn"], []),
        (["--estimator-isolation", "OFF"], ["--estimator-isolation", "OFF"], []),
        (["--estimator-isolation", "-x"], ["--estimator-isolation", "-x"], []),
        (["--estimator-isolation=warn", "tests/"], ["--estimator-isolation=warn", "tests/"], []),
        (["--", "--estimator-isolation", "x"], ["--", "--estimator-isolation", "x"], []),
        (["tests/", "--estimator-isolation"], ["tests/", "--estimator-isolation"], []),
    ],
)
def test_bare_flag_frees_what_is_not_a_mode(args, rewritten, freed):
    assert free_swallowed_path(args) == freed
    assert args == rewritten


def test_workflow_command_escaping():
    assert escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_annotation_at_the_creation_site_and_only_for_failed_or_warned():
    entry = Finding(
        code="EI101",
        kind="open-session",
        severity="error",
        owner="tests/t.py::test_a[x,y]",
        what="Session is still open: 50%",
        fix="close it",
        where=Site("tests/odd, name:1.py", 12, "test_a"),
        outcome="failed",
        cleaned=True,
    )
    assert command(entry) == (
        "::error file=tests/odd%2C name%3A1.py,line=12,title=EI101 open-session::"
        "Session is still open: 50%25 (in tests/t.py::test_a[x,y])%0Afix: close it"
    )
    assert command(replace(entry, outcome="warned")).startswith("::warning file=")
    assert command(replace(entry, outcome="baselined")) is None
    assert command(replace(entry, where=None, nodeid="tests/t.py::test_a")).startswith(
        "::error file=tests/t.py,line=1,"
    )


def test_merge_rejects_bad_input_in_one_line(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{}")
    assert merge_main([str(tmp_path / "bad.json")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_merge_adds_up_what_the_shards_tidied(tmp_path, capsys):
    def shard(name: str, kinds: dict, freed: dict, tests: int) -> str:
        report = {
            "schema": 2,
            "run": {"mode": "strict"},
            "leaks": [],
            "fixed": [],
            "hook_seconds": 0.5,
            "tidied": {"kinds": kinds, "freed": freed, "tests": tests},
        }
        (tmp_path / name).write_text(json.dumps(report))
        return str(tmp_path / name)

    one = shard("1.json", {"EI402 cached-summary-writer": 2}, {"files": 2, "threads": 2}, 2)
    two = shard("2.json", {"EI402 cached-summary-writer": 1, "EI106 testcase-graph": 1}, {"files": 1}, 2)
    assert merge_main([one, two, "-o", str(tmp_path / "merged.json")]) == 0
    merged = json.loads((tmp_path / "merged.json").read_text())
    assert merged["tidied"] == {
        "kinds": {"EI106 testcase-graph": 1, "EI402 cached-summary-writer": 3},
        "freed": {"files": 3, "threads": 2},
        "tests": 4,
    }
    assert merged["hook_seconds"] == 1.0
    assert "tidied quietly after 4 test(s)" in capsys.readouterr().out
