"""Checks written by users plug into our hookspec and pluggy's rules hold: order, wrappers, crash
isolation per hook. None of these inner runs imports TensorFlow."""

from __future__ import annotations

import pytest
from helpers import BY_NAME_CHECK

ORDER = """
import pytest

calls = []

class Late:
    @pytest.hookimpl(trylast=True)
    def pytest_estimator_isolation_find_leaks(self, scope):
        calls.append("late")
        return []

class Early:
    @pytest.hookimpl(tryfirst=True)
    def pytest_estimator_isolation_find_leaks(self, scope):
        calls.append("early")
        return []

class Around:
    @pytest.hookimpl(wrapper=True)
    def pytest_estimator_isolation_find_leaks(self, scope):
        calls.append("before")
        leaks = yield
        calls.append("after")
        return leaks

def pytest_configure(config):
    # registered in the order that pluggy would call last first: only tryfirst/trylast put them right
    config.pluginmanager.register(Early(), "early")
    config.pluginmanager.register(Late(), "late")
    config.pluginmanager.register(Around(), "around")
"""


def test_pluggy_orders_the_checks_and_runs_wrappers(pytester, run_pytest):
    pytester.makeconftest(ORDER)
    pytester.makepyfile(
        """
        from conftest import calls

        def test_one():
            pass

        def test_order():
            assert calls == ["before", "early", "late", "after"]
        """
    )
    run_pytest("--estimator-isolation", "-p", "no:randomly").assert_outcomes(passed=2)


CRASHING = """
import pytest
from pytest_estimator_isolation import LeakKind

KIND = LeakKind("X001", "x", "x", "x")

class Crashing:
    def __init__(self, hook):
        self.hook = hook

    def _maybe(self, hook, scope=None):
        if hook == self.hook and (scope is None or scope.owner.endswith("::test_victim")):
            raise KeyError(hook)

    @pytest.hookimpl
    def pytest_estimator_isolation_kinds(self):
        self._maybe("kinds")
        return [KIND]

    @pytest.hookimpl
    def pytest_estimator_isolation_snapshot(self, scope):
        self._maybe("snapshot", scope)

    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope):
        self._maybe("find_leaks", scope)
        return []

class Healthy:
    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope):
        return []

def pytest_configure(config):
    config.pluginmanager.register(Crashing("{hook}"), "crashing")
    config.pluginmanager.register(Healthy(), "healthy")
"""


@pytest.mark.parametrize("hook", ["snapshot", "find_leaks"])
def test_a_crash_in_any_hook_is_an_error_naming_the_check(pytester, run_pytest, hook):
    pytester.makeconftest(CRASHING.replace("{hook}", hook))
    pytester.makepyfile("def test_victim(): pass\ndef test_other(): pass\n")
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [f"*EI900 check-error: check 'crashing' crashed in {hook} on TF None: KeyError('{hook}')*"]
    )


LATE_CRASHING = """

class LateCrashing:
    @pytest.hookimpl(tryfirst=True)  # called first: unguarded, its crash would stop the call there
    def pytest_estimator_isolation_find_leaks(self, scope):
        raise KeyError("late")
"""


def test_a_check_registered_during_the_run_is_guarded_too(pytester, run_pytest):
    pytester.makeconftest(BY_NAME_CHECK + LATE_CRASHING)
    pytester.makepyfile(
        """
        from conftest import LateCrashing

        def test_registers(request):
            request.config.pluginmanager.register(LateCrashing(), "late-crashing")

        def test_leaky_after():
            pass
        """
    )
    result = run_pytest("--estimator-isolation", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["*EI900 check-error: check 'late-crashing' crashed in find_leaks*"])
    result.stdout.fnmatch_lines(["*X001 stray-file: left stray.txt*"])  # the other checks ran


def test_a_crash_in_kinds_is_a_usage_error_naming_the_check(pytester, run_pytest):
    pytester.makeconftest(CRASHING.replace("{hook}", "kinds"))
    pytester.makepyfile("def test_victim(): pass\n")
    result = run_pytest("--estimator-isolation")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: estimator-isolation: check 'crashing' crashed in kinds on TF None: KeyError*"])


def test_kinds_that_are_not_leak_kinds_are_a_usage_error(pytester, run_pytest):
    pytester.makeconftest(
        """
        import pytest

        class Bad:
            @pytest.hookimpl
            def pytest_estimator_isolation_kinds(self):
                return ["open-session"]

        def pytest_configure(config):
            config.pluginmanager.register(Bad(), "bad")
        """
    )
    pytester.makepyfile("def test_ok(): pass\n")
    result = run_pytest("--estimator-isolation")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: estimator-isolation: *returned 'open-session', not a LeakKind"])


def test_a_crash_in_a_wrapper_is_an_error_naming_its_check(pytester, run_pytest):
    pytester.makeconftest(
        """
        import pytest

        class Wrapping:
            @pytest.hookimpl(wrapper=True)
            def pytest_estimator_isolation_find_leaks(self, scope):
                leaks = yield
                raise RuntimeError("boom")

        def pytest_configure(config):
            config.pluginmanager.register(Wrapping(), "wrapping")
        """
    )
    pytester.makepyfile("def test_ok(): pass\n")
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*EI900 check-error: check 'wrapping' crashed in find_leaks*RuntimeError('boom')*"])


def test_cleanup_gets_only_the_leaks_its_check_found(pytester, run_pytest):
    pytester.makeconftest(
        """
        import pytest
        from pytest_estimator_isolation import Leak, LeakKind

        A = LeakKind("X001", "a", "a", "a")
        B = LeakKind("X002", "b", "b", "b")
        cleaned = []

        class Check:
            def __init__(self, kind):
                self.kind = kind

            @pytest.hookimpl
            def pytest_estimator_isolation_kinds(self):
                return [self.kind]

            @pytest.hookimpl
            def pytest_estimator_isolation_find_leaks(self, scope):
                if scope.owner.endswith("::test_leaks"):
                    return [Leak(self.kind, scope.owner, "left")]
                return []

            @pytest.hookimpl
            def pytest_estimator_isolation_cleanup(self, leaks):
                cleaned.append((self.kind.name, sorted(leak.kind.name for leak in leaks)))

        def pytest_configure(config):
            config.pluginmanager.register(Check(A), "check_a")
            config.pluginmanager.register(Check(B), "check_b")
        """
    )
    pytester.makepyfile(
        """
        from conftest import cleaned

        def test_leaks():
            pass

        def test_cleaned_separately():
            assert sorted(cleaned) == [("a", ["a"]), ("b", ["b"])]
        """
    )
    result = run_pytest("--estimator-isolation", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
