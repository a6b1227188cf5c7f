"""The baseline never loses an entry: an update replaces only what the run checked, a run that checked
nothing (or was interrupted, or failed to collect) leaves the file as it was, the file is written
atomically and the same suite writes the same bytes; a gate calls fixed only what ran clean. TF-free:
a check in the inner conftest flags tests by name."""

from __future__ import annotations

import json
import sys

import pytest
from helpers import ALL_LEAKY, BY_NAME_CHECK, SUITE_A, SUITE_B, baseline_owners, write_baseline

UPDATE = (
    "--estimator-isolation",
    "--estimator-isolation-baseline=baseline.json",
    "--estimator-isolation-update-baseline",
)
GATE = ("--estimator-isolation", "--estimator-isolation-baseline=baseline.json")
# Entries of tests that are gone from the suite (renamed, moved): an update that checked them keeps nothing,
# one that did not keeps them. "test_b.py::test_gone" is in a file the run collects, but not a test in it.
GONE = {"kind": "stray-file", "owner": "test_b.py::test_gone"}
CLEAN_B = {"kind": "stray-file", "owner": "test_b.py::test_clean_b"}


@pytest.fixture
def suite(pytester):
    pytester.makeconftest(BY_NAME_CHECK)
    pytester.makepyfile(test_a=SUITE_A, test_b=SUITE_B)
    entries = [{"kind": "stray-file", "owner": owner} for owner in ALL_LEAKY]
    write_baseline(pytester.path / "baseline.json", [*entries, GONE])
    return pytester


def _unchanged(path, before):
    assert path.read_bytes() == before[0]
    assert path.stat().st_mtime_ns == before[1]


def _snapshot(path):
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.mark.parametrize(
    ("args", "note"),
    [
        pytest.param(("--collect-only",), "left as it was: this run checked no test", id="collect-only"),
        pytest.param(("--fixtures",), "left as it was: this run checked no test", id="fixtures"),
        pytest.param(("-k", "nothing_matches"), "left as it was: this run checked no test", id="all-deselected"),
        pytest.param(("--estimator-isolation=off",), "left as it was: this run checked no test", id="mode-off"),
    ],
)
def test_a_run_that_checked_nothing_leaves_the_file_untouched(suite, run_pytest, args, note):
    baseline = suite.path / "baseline.json"
    before = _snapshot(baseline)
    result = run_pytest(*UPDATE, *args)
    result.stdout.fnmatch_lines([f"baseline *baseline.json {note}"])
    _unchanged(baseline, before)


def test_mode_flag_forgotten_keeps_the_file_and_says_so(suite, run_pytest):
    baseline = suite.path / "baseline.json"
    before = _snapshot(baseline)
    result = run_pytest("--estimator-isolation-baseline=baseline.json", "--estimator-isolation-update-baseline")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["baseline *baseline.json left as it was: this run checked no test"])
    _unchanged(baseline, before)


@pytest.mark.parametrize(
    ("args", "clean_b_kept"),
    [
        pytest.param(("-k", "test_a1 or clean_b"), False, id="k"),
        pytest.param(("test_b.py",), False, id="one-file"),
        pytest.param(("test_a.py::test_leaky_a2",), True, id="one-test"),
    ],
)
def test_an_update_replaces_only_the_tests_it_ran(suite, run_pytest, args, clean_b_kept):
    """test_clean_b has an entry but runs clean now: an update that ran it drops it, one that did not keeps it."""
    baseline = suite.path / "baseline.json"
    entries = [{"kind": "stray-file", "owner": owner} for owner in ALL_LEAKY]
    write_baseline(baseline, [*entries, GONE, CLEAN_B])
    result = run_pytest(*UPDATE, *args)
    result.stdout.fnmatch_lines(
        ["baseline written to *baseline.json (* entries), * kept for tests this run did not check"]
    )
    expected = {*ALL_LEAKY, GONE["owner"]} | ({CLEAN_B["owner"]} if clean_b_kept else set())
    assert baseline_owners(baseline) == sorted(expected)


def test_whole_suite_update_drops_only_what_it_checked_clean(suite, run_pytest):
    baseline = suite.path / "baseline.json"
    suite.makepyfile(test_a=SUITE_A.replace("test_leaky_a1", "test_fixed_a1"))
    result = run_pytest(*UPDATE)
    result.stdout.fnmatch_lines(
        ["baseline written to *baseline.json (4 entries), 2 kept for tests this run did not check"]
    )
    # a1 is gone from the suite and was not checked: kept, like test_gone. Nothing checked clean had an entry.
    assert baseline_owners(baseline) == sorted([*ALL_LEAKY, GONE["owner"]])
    suite.makepyfile(test_a=SUITE_A.replace("def test_leaky_a2", "def test_leaky_a2_fixed"))
    write_baseline(baseline, [{"kind": "stray-file", "owner": "test_a.py::test_clean_a"}])
    run_pytest(*UPDATE).stdout.fnmatch_lines(["baseline written to *baseline.json (3 entries)"])
    assert baseline_owners(baseline) == [
        "test_a.py::test_leaky_a1",
        "test_a.py::test_leaky_a2_fixed",
        "test_b.py::test_leaky_b",
    ]


def test_last_failed_and_exitfirst_keep_the_tests_they_did_not_run(suite):
    baseline = suite.path / "baseline.json"
    suite.makepyfile(test_c="def test_fails():\n    assert False\n")
    base = ("-p", "no:randomly", "-p", "no:xdist")
    suite.runpytest(*base, "test_c.py")  # fills the last-failed cache
    result = suite.runpytest(*base, *UPDATE, "--lf")
    result.assert_outcomes(failed=1)  # it checked test_fails only: every entry is kept
    result.stdout.fnmatch_lines(
        ["baseline written to *baseline.json (4 entries), 4 kept for tests this run did not check"]
    )
    assert baseline_owners(baseline) == sorted([*ALL_LEAKY, GONE["owner"]])
    result = suite.runpytest(*base, *UPDATE, "-x", "test_c.py", "test_a.py", "test_b.py")
    result.assert_outcomes(failed=1)
    assert baseline_owners(baseline) == sorted([*ALL_LEAKY, GONE["owner"]])


def test_exitfirst_after_a_failure_keeps_the_rest(suite, run_pytest):
    baseline = suite.path / "baseline.json"
    suite.makepyfile(test_a=SUITE_A.replace("def test_leaky_a1():\n    pass", "def test_leaky_a1():\n    assert False"))
    write_baseline(baseline, [{"kind": "stray-file", "owner": owner} for owner in ALL_LEAKY[1:]])
    result = run_pytest(*UPDATE, "-x", "-p", "no:xdist")
    result.assert_outcomes(failed=1)
    # a1 ran (and leaked) and is added; a2 and b did not run: kept.
    assert baseline_owners(baseline) == ALL_LEAKY


@pytest.mark.parametrize(
    ("extra", "args", "note"),
    [
        pytest.param(
            {"test_broken": "import no_such_module\n"}, (), "not written: collection failed", id="collection-error"
        ),
        pytest.param(
            {"test_broken": "import no_such_module\n"},
            ("--continue-on-collection-errors",),
            "not written: collection failed",
            id="continue-on-collection-errors",
        ),
        pytest.param(
            {"test_c": "def test_interrupt():\n    raise KeyboardInterrupt\n"},
            ("-p", "no:xdist"),
            "not written: the run was interrupted (exit status 2)",
            id="keyboard-interrupt",
        ),
    ],
)
def test_an_interrupted_or_collection_failed_run_never_writes(suite, run_pytest, extra, args, note):
    baseline = suite.path / "baseline.json"
    suite.makepyfile(**extra)
    before = _snapshot(baseline)
    result = run_pytest(*UPDATE, *args)
    result.stdout.fnmatch_lines([f"baseline *baseline.json {note}"])
    _unchanged(baseline, before)


def test_marker_off_keeps_that_tests_entry(suite, run_pytest):
    baseline = suite.path / "baseline.json"
    suite.makepyfile(
        test_b='import pytest\n\n@pytest.mark.estimator_isolation("off")\ndef test_leaky_b():\n    pass\n\ndef test_clean_b():\n    pass\n'
    )
    run_pytest(*UPDATE).stdout.fnmatch_lines(
        ["baseline written to *baseline.json (4 entries), 2 kept for tests this run did not check"]
    )
    assert baseline_owners(baseline) == sorted([*ALL_LEAKY, GONE["owner"]])


def test_writing_twice_gives_the_same_bytes_and_the_gate_passes(suite, run_pytest):
    baseline = suite.path / "baseline.json"
    baseline.unlink()
    run_pytest(*UPDATE).stdout.fnmatch_lines(["baseline written to *baseline.json (3 entries)"])
    first = baseline.read_bytes()
    assert json.loads(first) == {"schema": 2, "leaks": [{"kind": "stray-file", "owner": o} for o in ALL_LEAKY]}
    result = run_pytest(*UPDATE, "-p", "randomly", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["baseline *baseline.json is up to date (3 entries)"])
    assert baseline.read_bytes() == first
    assert not list(suite.path.glob(".baseline.json.*"))  # no temporary file left behind
    result = run_pytest(*GATE)
    assert result.ret == 0
    result.stdout.no_fnmatch_line("*fixed since the baseline*")


def test_gate_calls_fixed_only_what_ran_clean(suite, run_pytest):
    suite.makepyfile(
        test_a=SUITE_A.replace("test_leaky_a1", "test_fixed_a1").replace("def test_clean_a", "def test_once_dirty_a")
    )
    write_baseline(
        suite.path / "baseline.json",
        [
            {"kind": "stray-file", "owner": o}
            for o in [*ALL_LEAKY, "test_a.py::test_once_dirty_a", "test_b.py::test_clean_b"]
        ],
    )
    result = run_pytest(*GATE, "--estimator-isolation-report=report.json", "test_a.py")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["fixed since the baseline: stray-file in test_a.py::test_once_dirty_a"])
    # test_b.py did not run: its clean test is not "fixed"; a1 was renamed: not run, not fixed.
    result.stdout.no_fnmatch_line("*fixed since the baseline: *test_b.py*")
    result.stdout.no_fnmatch_line("*fixed since the baseline: *test_leaky_a1*")
    fixed = json.loads((suite.path / "report.json").read_text())["fixed"]
    assert fixed == [{"kind": "stray-file", "owner": "test_a.py::test_once_dirty_a"}]


def test_schema_1_baseline_still_loads(suite, run_pytest):
    write_baseline(suite.path / "baseline.json", [{"kind": "stray-file", "owner": o} for o in ALL_LEAKY], schema=1)
    result = run_pytest(*GATE)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*3 baselined"])
    run_pytest(*UPDATE)
    assert json.loads((suite.path / "baseline.json").read_text())["schema"] == 2


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": None, "owner": "t.py::t"}, "entry 0 {*}: 'kind' must be a leak kind name*"),
        ({"kind": "open-sesame", "owner": "t.py::t"}, "entry 0 {*}: unknown kind 'open-sesame'; known kinds: *"),
        ({"kind": "stray-file", "owner": 3}, 'entry 0 {"kind": "stray-file", "owner": 3}: *owner* must be*'),
        ({"kind": "stray-file"}, "entry 0 {*}: *owner* must be*"),
        ("open-session", "entry 0 *: expected an object*"),
    ],
)
def test_bad_baseline_entry_is_a_usage_error_naming_it(pytester, run_pytest, entry, message):
    pytester.makeconftest(BY_NAME_CHECK)
    pytester.makepyfile(test_a=SUITE_A)
    write_baseline(pytester.path / "baseline.json", [entry])
    result = run_pytest(*GATE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: estimator-isolation baseline *baseline.json: " + message])
    assert "Traceback" not in result.stderr.str()
    result.stdout.no_fnmatch_line("*passed*")


def test_sharded_updates_merge_into_one_baseline_and_one_report(suite, run_pytest):
    """Two shards update one shared baseline and write their own reports; the merge command gives the
    report and summary one run of the whole suite gives."""
    baseline = suite.path / "baseline.json"
    baseline.unlink()
    whole = run_pytest(*UPDATE, "--estimator-isolation-report=whole.json")
    single_baseline = baseline.read_bytes()
    baseline.unlink()
    run_pytest(*UPDATE, "--estimator-isolation-report=shard-1.json", "test_a.py")
    run_pytest(*UPDATE, "--estimator-isolation-report=shard-2.json", "test_b.py")
    assert baseline.read_bytes() == single_baseline
    result = suite.run(  # the merge command as users run it: a program of its own
        sys.executable,
        "-m",
        "pytest_estimator_isolation",
        "merge",
        "shard-1.json",
        "shard-2.json",
        "-o",
        "merged.json",
    )
    assert result.ret == 0
    counts = "3 leak(s) in mode strict: 3 X001 stray-file | 3 warned"
    whole.stdout.fnmatch_lines([counts])
    result.stdout.fnmatch_lines([counts, "merged 2 report(s) into merged.json"])
    merged = json.loads((suite.path / "merged.json").read_text())
    single = json.loads((suite.path / "whole.json").read_text())
    assert merged["counts"] == single["counts"]
    key = lambda leak: (leak["nodeid"], leak["code"])  # noqa: E731
    assert sorted(merged["leaks"], key=key) == sorted(single["leaks"], key=key)
    assert merged["run"]["shards"] == 2
    assert merged["fixed"] == single["fixed"] == []
