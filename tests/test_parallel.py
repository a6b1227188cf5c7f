"""The same findings serially, with pytest-xdist and in random order, with one summary."""

from __future__ import annotations

import json

import pytest
from helpers import requires_randomly, requires_tf, requires_xdist

pytestmark = requires_tf

SUITE_A = """
import tensorflow as tf
kept = []

def test_a_leaks_session():
    kept.append(tf.compat.v1.Session())

def test_a_clean():
    with tf.compat.v1.Session():
        pass

def test_a_disables_eager():
    tf.compat.v1.disable_eager_execution()

def test_a_needs_eager():
    assert tf.executing_eagerly()
"""

SUITE_B = """
import tensorflow as tf
contexts = []

def test_b_enters_graph():
    context = tf.Graph().as_default()
    context.__enter__()
    contexts.append(context)

def test_b_needs_eager():
    assert tf.executing_eagerly()

def test_b_private_graph():
    with tf.Graph().as_default():
        tf.constant(1.0)
"""

EXPECTED = {
    ("test_a.py::test_a_leaks_session", "EI101"),
    ("test_a.py::test_a_disables_eager", "EI105"),
    ("test_b.py::test_b_enters_graph", "EI104"),
}


def _findings(pytester: pytest.Pytester) -> set[tuple[str, str]]:
    data = json.loads((pytester.path / "report.json").read_text())
    assert {"sessions", "graphs", "eager"} <= {name.split(".")[-1] for name in data["check_seconds"]}
    # The plugin's whole time in the tests' hooks, added up over the workers: the checks are part of it.
    assert data["hook_seconds"] >= data["check_seconds"]["estimator_isolation.graphs"] > 0
    return {(leak["owner"], leak["code"]) for leak in data["leaks"]}


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(["-p", "no:xdist"], id="no-xdist"),
        pytest.param(["-n", "2"], id="xdist-2", marks=requires_xdist),
    ],
)
def test_same_findings_serial_and_parallel(pytester, run_pytest, extra):
    pytester.makepyfile(test_a=SUITE_A, test_b=SUITE_B)
    result = run_pytest("--estimator-isolation", "--estimator-isolation-report=report.json", *extra)
    result.assert_outcomes(passed=7, errors=3)
    assert _findings(pytester) == EXPECTED
    result.stdout.fnmatch_lines(
        ["3 leak(s) in mode strict: 1 EI101 open-session, 1 EI104 graph-context, 1 EI105 eager-mode | 3 failed"]
    )
    assert result.stdout.str().count("= estimator isolation =") == 1


@requires_randomly
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_order_finds_the_same_leaks_and_nothing_cascades(pytester, seed):
    pytester.makepyfile(test_a=SUITE_A, test_b=SUITE_B)
    result = pytester.runpytest_subprocess(
        *("-p", "no:cacheprovider", "-p", "randomly", "-p", "no:xdist", f"--randomly-seed={seed}"),
        *("--estimator-isolation", "--estimator-isolation-report=report.json"),
    )
    result.assert_outcomes(passed=7, errors=3)
    assert _findings(pytester) == EXPECTED
