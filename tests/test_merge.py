"""The merge command: shard reports added up into one report, and bad input rejected in one line."""

from __future__ import annotations

import json

from pytest_estimator_isolation.merge import main as merge_main


def test_merge_rejects_bad_input_in_one_line(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{}")
    assert merge_main([str(tmp_path / "bad.json")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_merge_adds_up_what_the_shards_tidied(tmp_path, capsys):
    def shard(name: str, kinds: dict, freed: dict, tests: int) -> str:
        report = {
            "schema": 1,
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
