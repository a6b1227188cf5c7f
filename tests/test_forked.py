"""A leak in a test marked ``@pytest.mark.forked`` (pytest-forked): its finding comes back to the parent
process (the teardown error, the summary, the JSON report), and the leak itself stays in the child.

pytest-forked runs the whole test protocol in a forked child and ships the reports back as their
``__dict__`` (``serialize_report``, then ``TestReport(**d)``): the findings the plugin puts on the
teardown report travel with it, as under xdist. pytest-forked 1.7.5 fails every test on pytest 9.2
("EXITED with status 3"), so these run only with pytest-forked and pytest < 9; they skip in the
project's main environment (pytest 9).
"""

from __future__ import annotations

import importlib.util
import json

import pytest
from helpers import requires_tf, requires_xdist

PYTEST_MAJOR = int(pytest.__version__.split(".")[0])

pytestmark = [
    requires_tf,
    pytest.mark.skipif(importlib.util.find_spec("pytest_forked") is None, reason="needs pytest-forked"),
    pytest.mark.skipif(PYTEST_MAJOR >= 9, reason="pytest-forked 1.7.5 fails every forked test on pytest 9"),
]

# Four forked tests each leave one process-wide state; four tests after them, in the parent, check it.
SUITE = """
import os

import pytest
import tensorflow as tf
from tensorflow.python.data.ops import debug_mode

kept = []


@pytest.mark.forked
def test_keeps_session():
    kept.append(tf.compat.v1.Session())


@pytest.mark.forked
def test_disables_eager():
    tf.compat.v1.disable_eager_execution()


@pytest.mark.forked
def test_sets_tf_config():
    os.environ["TF_CONFIG"] = '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 0}}'


@pytest.mark.forked
@pytest.mark.allow_leaks("irreversible-state")
def test_enables_data_debug_mode():
    tf.data.experimental.enable_debug_mode()


def test_no_session_kept():
    assert not kept


def test_eager():
    assert tf.executing_eagerly()
    assert tf.constant(2).numpy() == 2


def test_no_tf_config():
    assert "TF_CONFIG" not in os.environ


def test_no_data_debug_mode():
    assert not debug_mode.DEBUG_MODE
"""

EXPECTED = {
    ("test_suite.py::test_keeps_session", "EI101", "failed"),
    ("test_suite.py::test_disables_eager", "EI105", "failed"),
    ("test_suite.py::test_sets_tf_config", "EI303", "failed"),
    ("test_suite.py::test_enables_data_debug_mode", "EI308", "allowed"),
}


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(["-p", "no:xdist"], id="no-xdist"),
        # one file, one worker: the same order, with the reports passing child -> worker -> controller
        pytest.param(["-n", "2", "--dist", "loadfile"], id="xdist-2", marks=requires_xdist),
    ],
)
def test_findings_come_back_and_leaks_stay_in_the_child(pytester, run_pytest, extra):
    pytester.makepyfile(test_suite=SUITE)
    result = run_pytest(
        "--estimator-isolation", "--estimator-isolation-report=report.json", "--junitxml=junit.xml", *extra
    )
    result.assert_outcomes(passed=8, errors=3)  # the four later tests in the parent all pass
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_keeps_session*",
            "estimator-isolation: test leaked TensorFlow state: EI101 open-session (strict mode)",
            "*ERROR at teardown of test_disables_eager*",
            "estimator-isolation: test leaked TensorFlow state: EI105 eager-mode (strict mode)",
            "*ERROR at teardown of test_sets_tf_config*",
            "estimator-isolation: test leaked TensorFlow state: EI303 environment (strict mode)",
            "*= estimator isolation =*",
            "4 leak(s) in mode strict: 1 EI101 open-session, 1 EI105 eager-mode, 1 EI303 environment, "
            "1 EI308 irreversible-state | 1 allowed, 3 failed",
        ]
    )
    leaks = json.loads((pytester.path / "report.json").read_text())["leaks"]
    assert {(leak["owner"], leak["code"], leak["outcome"]) for leak in leaks} == EXPECTED
    junit = (pytester.path / "junit.xml").read_text()
    for code in ("EI101", "EI105", "EI303", "EI308"):
        assert f'property name="estimator_isolation:{code}"' in junit
    # Where it was made: the test's own frame only, not pytest-forked's (or xdist's) frames around it.
    for leak in leaks:
        assert {site["path"] for site in leak["stack"]} <= {"test_suite.py"}, leak["stack"]


def test_without_fork_the_later_tests_see_the_leaks(pytester, run_pytest):
    """The control: the four later tests do see each leak when nothing runs in a child (and no plugin)."""
    pytester.makepyfile(test_suite=SUITE)
    result = run_pytest("-p", "no:forked", "-p", "no:estimator_isolation", "-p", "no:xdist")
    result.assert_outcomes(passed=4, failed=4)


def test_warn_mode_findings_come_back_but_not_the_warnings(pytester, run_pytest):
    """In warn mode the summary and report still list the leaks, but the warning itself is raised in the
    child: pytest-forked does not ship warnings back, so the warnings summary does not show it."""
    pytester.makepyfile(test_suite=SUITE)
    result = run_pytest("--estimator-isolation=warn", "--estimator-isolation-report=report.json", "-p", "no:xdist")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["4 leak(s) in mode warn: * | 1 allowed, 3 warned"])
    assert "EstimatorIsolationWarning" not in result.stdout.str()
    leaks = json.loads((pytester.path / "report.json").read_text())["leaks"]
    assert {leak["outcome"] for leak in leaks} == {"warned", "allowed"}
