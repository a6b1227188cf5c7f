"""The merge command: shard reports added up into one report, and bad input rejected in one line."""

from __future__ import annotations

import json

import pytest

from pytest_estimator_isolation.merge import main as merge_main
from pytest_estimator_isolation.merge import merge, summary


@pytest.mark.parametrize(
    "content",
    ["{}", '{"schema": 1, "leaks": [], "fixed": []}', '{"schema": 2, "leaks": [{"code": "EI101"}], "fixed": []}'],
    ids=["empty", "old-schema", "bad-leak"],
)
def test_merge_rejects_bad_input_in_one_line(tmp_path, capsys, content):
    (tmp_path / "bad.json").write_text(content)
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


def _shard(leaks=(), fixed=(), **run_pytest):
    return {"schema": 2, "run": run_pytest, "leaks": list(leaks), "fixed": list(fixed)}


def _leak(owner, outcome="failed", kind="open-session", code="EI101"):
    return {
        "code": code,
        "kind": kind,
        "severity": "error",
        "owner": owner,
        "nodeid": owner,
        "what": "w",
        "fix": "f",
        "outcome": outcome,
        "cleaned": False,
    }


def test_merge_sorts_the_leaks_and_counts_their_outcomes_as_one_run_would():
    one = _shard([_leak("t_b.py::test_b"), _leak("t_a.py::test_a", "baselined")], mode="strict")
    two = _shard([_leak("t_a.py::test_0", "warned")], mode="strict")
    merged = merge([one, two])
    assert [leak["owner"] for leak in merged["leaks"]] == ["t_a.py::test_0", "t_a.py::test_a", "t_b.py::test_b"]
    assert merged["counts"] == {"warned": 1, "baselined": 1, "failed": 1}
    assert merged["run"] == {"mode": "strict", "shards": 2}


def test_merge_keeps_a_run_field_the_shards_agree_on_and_lists_one_they_do_not():
    merged = merge([_shard(mode="strict", tensorflow="2.15.1"), _shard(mode="warn", tensorflow=None)])
    assert merged["run"] == {"mode": "strict, warn", "tensorflow": "2.15.1", "shards": 2}


def test_an_entry_one_shard_ran_clean_is_fixed_unless_another_shards_leak_still_matches_it():
    gone = {"kind": "open-session", "owner": "t.py::test_gone"}
    still = {"kind": "open-session", "owner": "t.py::test_still"}
    one = _shard(fixed=[gone, still])
    two = _shard([_leak("t.py::test_still")])
    assert merge([one, two])["fixed"] == [gone]
    assert summary(merge([one, two]))[-1] == "fixed since the baseline: open-session in t.py::test_gone"
