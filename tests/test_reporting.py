"""What users and CI read: messages, summary, JSON report, junit properties, allow-lists, baselines,
warnings as errors, victims naming their polluters, and checks written by users."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from helpers import requires_tf

LEAKY = """
import pytest
import tensorflow as tf

kept = []

def test_open_session():
    kept.append(tf.compat.v1.Session())

@pytest.mark.allow_leaks("open-session")
def test_allowed_session():
    kept.append(tf.compat.v1.Session())

def test_clean():
    with tf.compat.v1.Session() as sess:
        pass
"""

# A check written by a user: no TensorFlow needed to exercise the machinery.
USER_CHECK = """
import pytest
from pytest_estimator_isolation import Leak, LeakKind

TEMP_FILE = LeakKind("X001", "stray-file", "a test left stray.txt behind", "delete it in the test")


class StrayFile:
    @pytest.hookimpl
    def pytest_estimator_isolation_kinds(self):
        return [TEMP_FILE]

    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope):
        import os
        if os.path.exists("stray.txt"):
            return [Leak(TEMP_FILE, scope.owner, "stray.txt exists", handle="stray.txt")]
        return []

    @pytest.hookimpl
    def pytest_estimator_isolation_cleanup(self, leaks):
        import os
        for leak in leaks:
            os.remove(leak.handle)


class Broken:
    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope):
        if scope.owner.endswith("::test_crash_in_check"):
            raise KeyError("_default_graph_stack")
        return []


def pytest_configure(config):
    config.pluginmanager.register(StrayFile(), "stray_file")
    config.pluginmanager.register(Broken(), "broken_check")
"""

USER_TESTS = """
def test_leaves_file():
    open("stray.txt", "w").close()

def test_sees_no_file():
    import os
    assert not os.path.exists("stray.txt")

def test_crash_in_check():
    pass
"""


def test_user_check_plugs_into_the_hookspec_and_a_crashing_check_is_an_error(pytester, run_pytest):
    pytester.makeconftest(USER_CHECK)
    pytester.makepyfile(USER_TESTS)
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines_random(
        [
            "*X001 stray-file: stray.txt exists*",
            "*fix: delete it in the test*",
            "*EI900 check-error: check 'broken_check' crashed in find_leaks on TF None: KeyError('_default_graph_stack')*",
        ]
    )


def test_warn_mode_warns_and_warnings_can_be_turned_into_errors(pytester, run_pytest):
    pytester.makeconftest(USER_CHECK)
    pytester.makepyfile("def test_leaves_file():\n    open('stray.txt', 'w').close()\n")
    result = run_pytest("--estimator-isolation=warn")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*EstimatorIsolationWarning: X001 stray-file: stray.txt exists*"])
    (pytester.path / "stray.txt").unlink()
    result = run_pytest(
        "--estimator-isolation=warn", "-W", "error::pytest_estimator_isolation.EstimatorIsolationWarning"
    )
    result.assert_outcomes(passed=1, errors=1)


@requires_tf
def test_json_report_junit_properties_and_summary(pytester, run_pytest):
    pytester.makepyfile(LEAKY)
    result = run_pytest("--estimator-isolation", "--estimator-isolation-report=out/report.json", "--junitxml=junit.xml")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*= estimator isolation =*",
            "*::test_open_session",
            "*[[]failed[]] EI101 open-session: Session is still open*",
            "*::test_allowed_session",
            "*[[]allowed[]] EI101 open-session*",
            "2 leak(s) in mode strict: 2 EI101 open-session | 1 allowed, 1 failed",
            "report written to *report.json",
        ]
    )
    data = json.loads((pytester.path / "out" / "report.json").read_text())
    assert data["schema"] == 2
    assert data["run"]["mode"] == "strict"
    assert data["run"]["tensorflow"].startswith("2.")
    assert data["counts"] == {"failed": 1, "allowed": 1}
    leak = data["leaks"][0]
    assert set(leak) >= {"code", "kind", "severity", "owner", "nodeid", "what", "where", "stack", "fix", "outcome"}
    assert leak["code"] == "EI101"
    assert leak["where"]["function"] == "test_open_session"
    cases = {case.get("name"): case for case in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    props = [(p.get("name"), p.get("value")) for p in cases["test_open_session"].iter("property")]
    assert props == [
        ("estimator_isolation:EI101", "open-session (failed): Session is still open (it holds threads and memory)")
    ]
    assert not list(cases["test_clean"].iter("property"))


def test_baseline_round_trip(pytester, run_pytest):
    pytester.makeconftest(USER_CHECK)
    pytester.makepyfile(USER_TESTS.replace("def test_crash_in_check", "def test_no_crash"))
    baseline = pytester.path / "baseline.json"
    result = run_pytest(
        "--estimator-isolation", f"--estimator-isolation-baseline={baseline}", "--estimator-isolation-update-baseline"
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*baseline written to*baseline.json (1 entries)"])
    assert json.loads(baseline.read_text()) == {
        "schema": 2,
        "leaks": [{"kind": "stray-file", "owner": "test_baseline_round_trip.py::test_leaves_file"}],
    }
    result = run_pytest("--estimator-isolation", f"--estimator-isolation-baseline={baseline}")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*[[]baselined[]] X001 stray-file*"])
    # A new leak still fails; the fixed one is reported as fixed.
    pytester.makepyfile(
        """
        def test_leaves_file():
            pass

        def test_new_leak():
            open("stray.txt", "w").close()
        """
    )
    result = run_pytest("--estimator-isolation", f"--estimator-isolation-baseline={baseline}")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*fixed since the baseline: stray-file in *::test_leaves_file"])


@pytest.mark.parametrize("content", ["{not json", '{"schema": 99, "leaks": []}', '{"schema": 1}'])
def test_malformed_baseline_is_a_usage_error(pytester, run_pytest, content):
    (pytester.path / "baseline.json").write_text(content)
    pytester.makepyfile("def test_ok(): pass")
    result = run_pytest("--estimator-isolation", "--estimator-isolation-baseline=baseline.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: estimator-isolation baseline *baseline.json is malformed: *"])


@requires_tf
def test_victim_names_its_polluter_in_warn_mode(pytester, run_pytest):
    pytester.makeconftest("import tensorflow as tf\ntf.compat.v1.disable_eager_execution()\n")
    pytester.makepyfile(
        """
        import tensorflow as tf

        def test_polluter():
            tf.compat.v1.get_variable("w", shape=[2])

        def test_victim():
            tf.compat.v1.get_variable("w", shape=[2])
        """
    )
    result = run_pytest("--estimator-isolation=warn")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Variable w already exists, disallowed*",
            "*- estimator isolation: leaks still in place -*",
            "probably left by test_victim_names_its_polluter_in_warn_mode.py::test_polluter: EI102 default-graph-ops:"
            "*created at test_*.py:4 in test_polluter",
        ]
    )


@requires_tf
def test_polluters_are_rechecked_and_only_kinds_that_can_cause_failures_are_named(pytester, run_pytest):
    pytester.makepyfile(
        """
        import tensorflow as tf
        kept = []

        def test_leaves_session():
            kept.append(tf.compat.v1.Session())

        def test_closes_it():
            kept.pop().close()

        def test_fails():
            assert False
        """
    )
    result = run_pytest("--estimator-isolation=warn", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1, warnings=1)
    result.stdout.no_fnmatch_line("*leaks still in place*")


def test_a_note_a_check_adds_shows_only_in_a_failing_tests_report(pytester, run_pytest):
    pytester.makeconftest(USER_CHECK)
    pytester.makepyfile(
        """
        from pytest_estimator_isolation import scopes

        def test_fails_after_a_note():
            scopes.note("checkpoint /x was written by test_other")
            assert 5.0 == 2.0

        def test_passes_after_a_note():
            scopes.note("a note nobody needs")
        """
    )
    result = run_pytest("--estimator-isolation", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*- estimator isolation -*", "checkpoint /x was written by test_other"])
    assert "a note nobody needs" not in result.stdout.str()
