"""The TF-free logic, in process: verdicts, settling, findings, markers, problems, formatting.
Fast (well under a second in all); the behaviour around real tests is in the pytester tests."""

from __future__ import annotations

import pytest
from helpers import README, leak_table_rows

from pytest_estimator_isolation import problems, report
from pytest_estimator_isolation.checks import kinds
from pytest_estimator_isolation.checks.graphs import GRAPH_OPS, TESTCASE_GRAPH
from pytest_estimator_isolation.checks.sessions import OPEN_SESSION
from pytest_estimator_isolation.checks.training_state import TEMP_MODEL_DIR
from pytest_estimator_isolation.findings import Finding
from pytest_estimator_isolation.leaks import Leak, Site
from pytest_estimator_isolation.markers import Policy, policy
from pytest_estimator_isolation.options import check_mode
from pytest_estimator_isolation.verdict import cleans, judge, settle

BUILTIN = kinds()
KNOWN = {key: kind for kind in BUILTIN for key in (kind.name, kind.code)}


class _Baseline:
    def __init__(self, *owners: str) -> None:
        self.owners = owners

    def covers(self, leak: Finding) -> bool:
        return leak.owner in self.owners


def leak(kind=OPEN_SESSION, owner="t.py::test", **kwargs) -> Leak:
    return Leak(kind, owner, "what happened", stack=(Site("t.py", 3, "test"),), **kwargs)


@pytest.mark.parametrize(
    ("kind", "mode", "allowed", "baselined", "updating", "outcome", "cleaned"),
    [
        (OPEN_SESSION, "strict", (), False, False, "failed", True),
        (OPEN_SESSION, "warn", (), False, False, "warned", False),
        (OPEN_SESSION, "strict", ("open-session",), False, False, "allowed", False),
        (OPEN_SESSION, "strict", (), True, False, "baselined", True),
        (OPEN_SESSION, "strict", (), False, True, "warned", True),
        (TEMP_MODEL_DIR, "strict", (), False, False, "warned", False),  # a warning, and nothing to undo
        (TESTCASE_GRAPH, "strict", (), False, False, "tidied", True),
        (TESTCASE_GRAPH, "warn", ("testcase-default-graph",), False, False, "tidied", True),
    ],
)
def test_verdict(kind, mode, allowed, baselined, updating, outcome, cleaned):
    found = leak(kind)
    policy = Policy(mode, frozenset(allowed))
    baseline = _Baseline(found.owner) if baselined else None
    [finding] = judge([found], policy, baseline, updating)  # type: ignore[arg-type]
    assert finding.outcome == outcome
    assert finding.cleaned is cleaned
    assert cleans(found, policy) is cleaned


def test_nothing_is_undone_when_off_or_when_a_check_asks_to_keep_it():
    assert not cleans(leak(TESTCASE_GRAPH), Policy("off"))
    assert not cleans(leak(keep=True), Policy("strict"))


def test_settle_fails_only_on_failed_findings_and_warns_at_the_creation_site():
    failed = Finding.of(leak(), "failed", True)
    warned = Finding.of(leak(GRAPH_OPS), "warned", False)
    tidied = Finding.of(leak(TESTCASE_GRAPH), "tidied", True)
    settlement = settle(
        [failed, warned, tidied], ["a TF internal moved"], verbose=False, nodeid="t.py::test", teardown_failed=False
    )
    assert settlement.failure is not None
    assert settlement.failure.startswith("estimator-isolation: test leaked TensorFlow state: EI101 open-session")
    assert "EI102" not in settlement.failure
    assert settlement.warnings == (
        (report.format_leak(warned), Site("t.py", 3, "test")),
        ("estimator-isolation: a TF internal moved", None),
    )
    assert settle([warned, tidied], [], verbose=False, nodeid="t.py::test", teardown_failed=False).failure is None


def test_a_teardown_that_failed_already_is_not_failed_again_but_still_warns():
    failed = Finding.of(leak(), "failed", True)
    warned = Finding.of(leak(GRAPH_OPS), "warned", False)
    settlement = settle([failed, warned], [], verbose=False, nodeid="t.py::test", teardown_failed=True)
    assert settlement.failure is None
    assert len(settlement.warnings) == 1


def test_failure_names_a_setup_that_leaked_rather_than_the_test():
    found = Finding.of(leak(owner="setup_module of t.py"), "failed", True, owner_kind="fixture")
    text = settle([found], [], verbose=False, nodeid="t.py::test_last", teardown_failed=False).failure
    assert text is not None
    assert text.startswith("estimator-isolation: setup_module of t.py leaked TensorFlow state, found at its teardown")
    assert "owner: setup_module of t.py" in text


def test_finding_survives_the_report_boundary():
    finding = Finding.of(leak(freed={"threads": 2}), "failed", True, nodeid="t.py::test")
    assert finding.where == Site("t.py", 3, "test")
    assert Finding.from_json(finding.to_json()) == finding
    assert Finding.from_json(finding.to_json()).freed == {"threads": 2}
    assert finding.to_json()["where"] == {"path": "t.py", "line": 3, "function": "test"}


def test_tidied_summary_counts_kinds_what_was_freed_and_tests():
    findings = [
        Finding.of(leak(TESTCASE_GRAPH, freed={"files": 1}), "tidied", True, nodeid="a"),
        Finding.of(leak(TESTCASE_GRAPH, freed={"files": 2}), "tidied", True, nodeid="b"),
        Finding.of(leak(), "failed", True, nodeid="b"),
    ]
    tidied = report.tidied_summary(findings)
    assert tidied == {"kinds": {"EI106 testcase-default-graph": 2}, "freed": {"files": 3}, "tests": 2}
    assert report.format_tidied(tidied) == (
        "tidied quietly after 2 test(s) (TF's own state, not failures): 2 EI106 testcase-default-graph; freed 3 files"
    )


def test_a_problem_is_delivered_once_per_run():
    problems.reset()
    problems.report("x moved")
    problems.report("x moved")
    assert problems.take() == ["x moved"]
    problems.report("x moved")
    assert problems.take() == []
    problems.reset()


@pytest.mark.parametrize(("value", "mode"), [("strict", "strict"), (" WARN ", "warn"), ("off", "off")])
def test_modes(value, mode):
    assert check_mode(value, "somewhere") == mode


def test_bad_mode_names_its_source():
    with pytest.raises(pytest.UsageError, match=r"^ini option x: invalid mode 'loud', expected one of strict"):
        check_mode("loud", "ini option x")


class _Node:
    """The part of a pytest node the markers are read from: its own marks, and its parent."""

    nodeid = "t.py::test_x"

    def __init__(self, *marks: pytest.MarkDecorator, parent: _Node | None = None) -> None:
        self.own_markers = [mark.mark for mark in marks]
        self.parent = parent


def test_markers_on_test_and_module_combine():
    module = _Node(pytest.mark.allow_leaks("EI102"), pytest.mark.estimator_isolation("off"))
    marked = _Node(pytest.mark.estimator_isolation("warn"), pytest.mark.allow_leaks("open-session"), parent=module)
    plain = _Node(parent=module)
    parents: dict = {}
    assert policy(marked, "strict", lambda: KNOWN, parents) == Policy(
        "warn", frozenset({"open-session", "default-graph-ops"})
    )
    assert policy(plain, "strict", lambda: KNOWN, parents) == Policy("off", frozenset({"default-graph-ops"}))
    assert parents == {module: Policy("off", frozenset({"default-graph-ops"}))}


def test_kinds_are_looked_up_only_when_a_marker_names_some():
    def never():
        raise AssertionError("no allow_leaks marker: no need for the kinds")

    assert policy(_Node(pytest.mark.estimator_isolation("off")), "strict", never) == Policy("off")


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (pytest.mark.allow_leaks(["open-session"]), "takes kinds as separate strings*got ['open-session']"),
        (
            pytest.mark.allow_leaks(),
            "allow_leaks() names no leak kind; known kinds: behaviour-switch, cached-summary-writer, changed-fixture-state, ",
        ),
        (pytest.mark.allow_leaks("open-sesame"), "got unknown leak kind 'open-sesame'; known kinds: "),
        (pytest.mark.allow_leaks("EI101", why="x"), "takes leak kinds only, got keyword arguments ['why']"),
        (pytest.mark.estimator_isolation("loud"), "invalid mode 'loud'"),
        (pytest.mark.estimator_isolation(), "takes one mode (strict, warn, off), got args=()"),
    ],
    ids=["list", "empty", "unknown", "kwargs", "bad-mode", "no-mode"],
)
def test_bad_markers_are_one_line_usage_errors(marker, message):
    with pytest.raises(pytest.UsageError) as raised:
        policy(_Node(marker), "strict", lambda: KNOWN)
    text = str(raised.value)
    assert text.startswith("t.py::test_x: @pytest.mark.")
    assert "\n" not in text
    assert all(part in text for part in message.split("*")), text


def test_readme_leak_table_is_the_checks_kinds_row_for_row():
    assert leak_table_rows(README.read_text(encoding="utf-8")) == [(kind.code, kind.name) for kind in BUILTIN]


def test_a_scope_stash_is_a_pytest_stash():
    from pytest_estimator_isolation.scopes import Scope

    stash = Scope("t.py::test", "test").stash
    key, other = pytest.StashKey[int](), pytest.StashKey[list[int]]()
    assert isinstance(stash, pytest.Stash)
    assert key not in stash
    assert len(stash) == 0
    stash[key] = 1
    assert stash[key] == 1
    assert stash.get(key, 0) == 1
    assert stash.get(other, None) is None
    stash.setdefault(other, []).append(2)
    assert stash.setdefault(other, []) == [2]
    assert len(stash) == 2
    del stash[key]
    assert key not in stash
    with pytest.raises(KeyError):
        stash[key]


def test_a_scope_looks_up_its_tests_class_only_when_asked():
    from pytest_estimator_isolation.scopes import Scope

    class Item:
        lookups = 0

        @property
        def cls(self) -> type:
            Item.lookups += 1
            return int

    item = Item()
    scope = Scope("t.py::T::test", "test", item=item)  # type: ignore[arg-type]
    assert scope.item is item
    assert Item.lookups == 0
    assert scope.cls is int
    assert scope.cls is int
    assert Item.lookups == 1
    assert Scope("conftest", "fixture").cls is None
    assert Scope("conftest", "fixture").item is None
