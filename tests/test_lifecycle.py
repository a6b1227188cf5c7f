"""Unit tests of the per-test state machine (lifecycle), the check calls (crash isolation), the gate and
the verdict's settlement, in process with real pytest items and a fake check: no TensorFlow."""

from __future__ import annotations

import importlib.util
import json

import pytest

from pytest_estimator_isolation import Leak, LeakKind, check_hook
from pytest_estimator_isolation.findings import Finding
from pytest_estimator_isolation.gate import Gate
from pytest_estimator_isolation.lifecycle import Lifecycle
from pytest_estimator_isolation.options import Settings

STRAY = LeakKind("X001", "stray", "a test left a stray thing", "remove it", symptoms=("stray thing",))


class Fake:
    """A check that leaks for tests whose name says so, and keeps a log of its calls."""

    name = "fake"

    def __init__(self) -> None:
        self.log: list[str] = []
        self.crash_in = ""
        self.there = True

    @check_hook()
    def pytest_estimator_isolation_kinds(self):
        return [STRAY]

    @check_hook()
    def pytest_estimator_isolation_snapshot(self, scope):
        self.log.append(f"snapshot {scope.owner}")
        if self.crash_in == "snapshot":
            raise KeyError("moved")

    @check_hook()
    def pytest_estimator_isolation_find_leaks(self, scope):
        self.log.append(f"find {scope.owner}")
        if self.crash_in == "find_leaks":
            raise KeyError("moved")
        return [Leak(STRAY, scope.owner, "left a stray thing", "t.py:3 in make")] if "leaky" in scope.owner else []

    @check_hook()
    def pytest_estimator_isolation_cleanup(self, scope, leaks):
        self.log.append(f"cleanup {[leak.kind.name for leak in leaks]}")

    @check_hook()
    def pytest_estimator_isolation_still_in_place(self, leak):
        return self.there if leak.kind is STRAY else None


@pytest.fixture
def items(pytester):
    return pytester.getitems("def test_leaky(): pass\ndef test_clean(): pass\ndef test_victim(): pass\n")


def make(pytester, mode="strict", **settings):
    config = pytester.parseconfigure("-p", "no:randomly")
    fake = Fake()
    config.pluginmanager.register(fake, "fake")
    lifecycle = Lifecycle(config, Settings(mode, **settings), None)
    lifecycle.start()
    return lifecycle, fake


def run_one(lifecycle, item, teardown_failed=False):
    lifecycle.begin_test(item)
    settlement = lifecycle.end_test(item, teardown_failed)
    test = lifecycle.test
    lifecycle.leave_test()
    return settlement, test


def test_a_clean_test_is_snapshot_then_judged_and_gets_nothing(pytester, items):
    lifecycle, fake = make(pytester)
    settlement, test = run_one(lifecycle, items[1])
    assert settlement.failure is None
    assert settlement.warnings == ()
    assert fake.log == [f"snapshot {items[1].nodeid}", f"find {items[1].nodeid}"]
    assert test.judged
    assert not test.findings


def test_strict_fails_and_undoes_the_leak(pytester, items):
    lifecycle, fake = make(pytester)
    settlement, test = run_one(lifecycle, items[0])
    assert settlement.failure is not None
    assert "X001 stray: left a stray thing" in settlement.failure
    assert "created at t.py:3 in make" in settlement.failure
    assert fake.log[-1] == "cleanup ['stray']"
    [finding] = test.findings
    assert (finding.outcome, finding.cleaned, finding.check) == ("failed", True, "fake")
    assert test.settlement is settlement


def test_warn_warns_leaves_it_in_place_and_names_it_for_a_later_failure(pytester, items):
    lifecycle, fake = make(pytester, "warn")
    settlement, _ = run_one(lifecycle, items[0])
    assert settlement.failure is None
    [(text, where)] = settlement.warnings
    assert text.startswith("X001 stray: left a stray thing")
    assert (where.path, where.line) == ("t.py", 3)
    assert not any(line.startswith("cleanup") for line in fake.log)
    [(probable, finding)] = lifecycle.polluters.of("AssertionError: a stray thing appeared")
    assert probable
    assert finding.owner.endswith("::test_leaky")
    [(probable, _)] = lifecycle.polluters.of("some other error")
    assert not probable
    fake.there = False  # gone since: no longer named
    assert lifecycle.polluters.of("a stray thing") == []


def test_a_test_whose_teardown_failed_is_not_failed_again(pytester, items):
    lifecycle, _ = make(pytester)
    settlement, test = run_one(lifecycle, items[0], teardown_failed=True)
    assert settlement.failure is None
    assert [f.outcome for f in test.findings] == ["failed"]


@pytest.mark.parametrize("hook", ["snapshot", "find_leaks"])
def test_a_crashing_check_is_an_ei900_with_its_traceback(pytester, items, hook):
    lifecycle, fake = make(pytester)
    fake.crash_in = hook
    settlement, test = run_one(lifecycle, items[1])
    [finding] = test.findings
    assert finding.code == "EI900"
    assert finding.what == f"check 'fake' crashed in {hook} on TF None: KeyError('moved')"
    assert finding.stack[0].function == f"pytest_estimator_isolation_{hook}"
    assert settlement.failure is not None
    assert "traceback (innermost first):" in settlement.failure


def test_an_undecorated_crash_is_retried_without_the_crashing_check(pytester, items):
    class Plain:
        @pytest.hookimpl(tryfirst=True)  # called first: its crash would stop the call there
        def pytest_estimator_isolation_find_leaks(self, scope):
            raise RuntimeError("plain")

    lifecycle, fake = make(pytester)
    lifecycle.checks._pm.register(Plain(), "plain")
    _, test = run_one(lifecycle, items[0])
    assert sorted(f.code for f in test.findings) == ["EI900", "X001"]
    assert fake.log.count(f"find {items[0].nodeid}") == 1  # the decorated check was not run twice


def test_off_drops_what_checks_kept_and_judges_nothing(pytester, items):
    lifecycle, fake = make(pytester, "off")
    settlement, test = run_one(lifecycle, items[0])
    assert settlement.failure is None
    assert test.findings == []
    assert fake.log == []  # an off test is not even a scope


def test_the_gate_writes_only_after_a_run_that_checked_something(tmp_path):
    from pytest_estimator_isolation.baseline import Baseline, Entry

    path = tmp_path / "b.json"
    settings = Settings("strict", baseline=path, update_baseline=True)
    gate = Gate(settings, Baseline(path, [Entry("stray", "", ("t::old",))]))
    gate.update([], set(), pytest.ExitCode.OK)
    assert gate.note == f"baseline {path} left as it was: this run checked no test"
    assert not path.exists()
    gate.interrupted = True
    gate.update([], {"t::a"}, pytest.ExitCode.INTERRUPTED)
    assert gate.note == f"baseline {path} not written: the run was interrupted (exit status 2)"
    gate.interrupted = False
    leak = Finding("X001", "stray", "error", "t::a", "w", "f", "failed", False)
    gate.update([leak], {"t::a"}, pytest.ExitCode.TESTS_FAILED)
    assert gate.note == f"baseline written to {path} (2 entries), 1 kept for tests this run did not check"
    gate.update([leak], {"t::a"}, pytest.ExitCode.TESTS_FAILED)
    assert gate.note == f"baseline {path} is up to date (2 entries), 1 kept for tests this run did not check"


def test_a_decorated_check_without_a_name_is_named_by_its_class(pytester, items):
    class Nameless:
        @check_hook()
        def pytest_estimator_isolation_find_leaks(self, scope):
            raise KeyError("moved")

    lifecycle, _ = make(pytester)
    lifecycle.checks._pm.register(Nameless(), "nameless")
    _, test = run_one(lifecycle, items[1])
    [finding] = test.findings
    assert finding.what.startswith("check 'Nameless' crashed in find_leaks")


# ---------------------------------------------------------------- whole inner runs (in process, no TF)

STRAY_CHECK = """
import json, os
import pytest
from pytest_estimator_isolation import Leak, LeakKind, check_hook

STRAY = LeakKind("X001", "stray-file", "a test left stray.txt behind", "delete it in the test")
THERE = pytest.StashKey[bool]()


class Stray:
    name = "stray"

    @check_hook()
    def pytest_estimator_isolation_kinds(self):
        return [STRAY]

    @check_hook()
    def pytest_estimator_isolation_snapshot(self, scope):
        scope.stash[THERE] = os.path.exists("stray.txt")

    @check_hook()
    def pytest_estimator_isolation_find_leaks(self, scope):
        new = os.path.exists("stray.txt") and not scope.stash.get(THERE, False)
        return [Leak(STRAY, scope.owner, "stray.txt exists")] if new else []

    @check_hook()
    def pytest_estimator_isolation_cleanup(self, leaks):
        os.remove("stray.txt")


def pytest_configure(config):
    config.pluginmanager.register(Stray(), "stray")


def pytest_sessionfinish(session):
    names = ("watching", "following", "judging")
    print("REGISTERED", {n: session.config.pluginmanager.has_plugin(f"estimator_isolation.{n}") for n in names})
    # Every hook pytest calls for each test (or each report), and which of them this plugin implements.
    per_test = [name for name in dir(session.config.hook) if name.startswith(("pytest_runtest_", "pytest_fixture_"))]
    ours = sorted(
        name for name in per_test
        for impl in getattr(session.config.hook, name).get_hookimpls()
        if impl.plugin_name.startswith("estimator_isolation") or "pytest_estimator_isolation" in impl.plugin_name
    )
    print("PER-TEST HOOKS", ours)
    print("BUILT-IN KINDS READ", READ)


# Whether the built-in kinds were read (which imports every built-in check module).
from pytest_estimator_isolation import checks as _checks

READ = []
_kinds = _checks.kinds


def _reading():
    READ.append(1)
    return _kinds()


def pytest_unconfigure(config):
    _checks.kinds = _kinds


_checks.kinds = _reading
"""


def test_a_failure_right_after_an_undo_names_what_was_undone_and_by_whom(pytester, run_pytest):
    """iDFlakies' brittle test: it passes only after its state-setter. Strict mode undid the leak, so it
    fails; its failure says what was undone, by which test. A failure with nothing undone before it, or a
    test that passes, gets nothing."""
    pytester.makeconftest(STRAY_CHECK)
    pytester.makepyfile(
        """
        import os

        def test_state_setter():
            open("stray.txt", "w").close()

        def test_brittle():
            assert os.path.exists("stray.txt")

        def test_unrelated_failure():
            assert 1 == 2
        """
    )
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=1, failed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_brittle _*",
            "*- estimator isolation: undone before this test -*",
            "undone by the plugin right before this test: X001 stray-file left by test_*.py::test_state_setter: "
            "stray.txt exists",
            "if this test passes without the plugin (or in another order), it depends on that leak*",
            "*_ test_unrelated_failure _*",
        ]
    )
    assert result.stdout.str().count("undone before this test") == 1
    # Without the plugin (nor the check), the brittle test passes: it depends on the leak.
    pytester.makeconftest("")
    run_pytest("-p", "no:estimator_isolation").assert_outcomes(passed=2, failed=1)


def test_warn_mode_prints_each_finding_as_its_test_ends(pytester, run_pytest):
    """A run that hangs later still shows what leaked: the finding is printed when the report arrives,
    not only in the summary at the end."""
    pytester.makeconftest(STRAY_CHECK)
    pytester.makepyfile(
        """
        def test_leaves_file():
            open("stray.txt", "w").close()

        def test_next():
            pass
        """
    )
    result = run_pytest("--estimator-isolation=warn", "-v", "-p", "no:xdist")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*test_leaves_file PASSED*",
            "estimator-isolation: test_*.py::test_leaves_file: X001 stray-file: stray.txt exists",
            "*test_next PASSED*",
        ]
    )


def test_no_per_test_hooks_until_some_check_exists(pytester, run_pytest):
    """A suite that never imports TF (and has no check of its own) pays two plain hooks a test, with
    pytest-html's report too, and never imports the built-in checks; plugin off, no hook at all."""
    pytester.makeconftest(STRAY_CHECK.replace('config.pluginmanager.register(Stray(), "stray")', "pass"))
    pytester.makepyfile("def test_one():\n    pass\n")
    html = ("--html", "report.html") if importlib.util.find_spec("pytest_html") else ()
    result = run_pytest("--estimator-isolation", "-s", "-p", "no:xdist", *html)
    result.stdout.fnmatch_lines(["*REGISTERED {'watching': True, 'following': False, 'judging': False}*"])
    result.stdout.fnmatch_lines(["PER-TEST HOOKS ['pytest_runtest_logfinish', 'pytest_runtest_protocol']"])
    result.stdout.fnmatch_lines(["BUILT-IN KINDS READ []"])  # nor imports the built-in checks for their kinds
    result = run_pytest("-s", "-p", "no:xdist", *html)
    result.stdout.fnmatch_lines(["PER-TEST HOOKS []"])
    pytester.makeconftest(STRAY_CHECK)
    result = run_pytest("--estimator-isolation", "-s", "-p", "no:xdist", *html)
    result.stdout.fnmatch_lines(["*REGISTERED {'watching': False, 'following': True, 'judging': True}*"])
    result.stdout.fnmatch_lines(["PER-TEST HOOKS [[]*'pytest_runtest_logreport'*]"])


def test_hook_seconds_bound_the_checks_own_time(pytester, run_pytest):
    """``hook_seconds`` is the plugin's whole time in its per-test hooks: the checks' own clocks are part
    of it, the judging a scoped fixture's finalizer triggers included."""
    pytester.makeconftest(
        STRAY_CHECK.replace(
            "    def pytest_estimator_isolation_find_leaks(self, scope):\n",
            "    def pytest_estimator_isolation_find_leaks(self, scope):\n        __import__('time').sleep(0.002)\n",
        )
    )
    classes = "".join(
        f"""
class TestAlone{n}:
    @pytest.fixture(scope="class")
    def class_thing(self):
        yield

    def test_one(self, class_thing):  # judged in the class fixture's finalizer, before its teardown
        pass
"""
        for n in range(10)
    )
    pytester.makepyfile("import pytest\n" + classes)
    run_pytest("--estimator-isolation", "--estimator-isolation-report=report.json")
    data = json.loads((pytester.path / "report.json").read_text())
    assert data["check_seconds"]["stray"] > 0
    assert data["hook_seconds"] >= sum(data["check_seconds"].values())
