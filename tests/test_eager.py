from __future__ import annotations

import pytest
from helpers import requires_tf

pytestmark = requires_tf

DISABLES_THEN_VICTIM = """
import tensorflow as tf

def test_disables():
    tf.compat.v1.disable_eager_execution()

def test_victim():
    assert tf.executing_eagerly()
"""


@pytest.mark.tf_range
def test_disabling_eager_fails_that_test_and_later_tests_run_eagerly(pytester, run_pytest):
    pytester.makepyfile(DISABLES_THEN_VICTIM)
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*EI105 eager-mode: execution mode is graph (eager execution disabled), was eager*"])


def test_warn_mode_leaves_eager_disabled(pytester, run_pytest):
    pytester.makepyfile(DISABLES_THEN_VICTIM)
    result = run_pytest("--estimator-isolation=warn")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*EstimatorIsolationWarning: EI105 eager-mode*"])


def test_interactive_session_with_graph_is_one_leak_and_eager_comes_back(pytester, run_pytest):
    pytester.makepyfile(
        """
        import tensorflow as tf

        def test_interactive():
            tf.compat.v1.InteractiveSession(graph=tf.Graph())
            assert not tf.executing_eagerly()

        def test_victim():
            assert tf.executing_eagerly()
            assert tf.compat.v1.get_default_session() is None
        """
    )
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*EI101 open-session: InteractiveSession is still open*"])
    result.stdout.no_fnmatch_line("*EI104*")


def test_tf_first_imported_inside_a_test_is_still_checked(pytester, run_pytest):
    pytester.makepyfile(
        """
        import sys

        def test_plugin_did_not_import_tf():
            assert "tensorflow" not in sys.modules

        def test_imports_tf_and_leaks():
            import tensorflow as tf
            leaked.append(tf.compat.v1.Session())
            tf.compat.v1.disable_eager_execution()

        leaked = []

        def test_clean_after():
            import tensorflow as tf
            assert tf.executing_eagerly()
        """
    )
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines_random(["*EI101 open-session: Session is still open*", "*EI105 eager-mode*"])


def test_graph_mode_suite_enabling_eager_in_a_test_is_flagged(pytester, run_pytest):
    pytester.makeconftest("import tensorflow as tf\ntf.compat.v1.disable_eager_execution()\n")
    pytester.makepyfile(
        """
        import tensorflow as tf

        def test_graph_mode_is_the_baseline():
            assert not tf.executing_eagerly()

        def test_enables():
            tf.compat.v1.enable_eager_execution()

        def test_victim():
            assert not tf.executing_eagerly()
        """
    )
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*EI105 eager-mode: execution mode is eager, was graph*"])


def test_eager_switch_has_a_place_and_warnings_as_errors_name_it(pytester, run_pytest):
    pytester.makepyfile(
        """
        import tensorflow as tf

        def test_disables():
            tf.compat.v1.disable_eager_execution()
        """
    )
    result = run_pytest(
        "--estimator-isolation=warn", "-W", "error::pytest_estimator_isolation.EstimatorIsolationWarning"
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["test_eager_switch_*.py:4: EI105 eager-mode: execution mode is graph*"])
    result.stdout.no_fnmatch_line("*plugin.py*")


def test_in_warn_mode_a_leaked_mode_switch_is_not_blamed_again_on_the_tests_after_it(pytester, run_pytest):
    pytester.makepyfile(
        """
        import tensorflow as tf

        def test_a_disables_eager():
            tf.compat.v1.disable_eager_execution()

        def test_b_plain_tf2_code():
            assert tf.constant([1.0, 2.0]).shape == (2,)
        """
    )
    result = run_pytest("--estimator-isolation=warn", "-p", "no:randomly")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["1 leak(s) in mode warn: 1 EI105 eager-mode | 1 warned"])


@pytest.mark.tf_range
def test_a_setupmodule_leak_is_reported_on_a_test_that_ran_not_on_tfs_placeholder(pytester, run_pytest):
    """Every tf.test.TestCase inherits TF's ``test_session`` placeholder, which pytest collects and which
    skips itself. Sorted last, it carried the module's teardown and with it the setUpModule's leak."""
    pytester.makepyfile(
        """
        import tensorflow as tf

        def setUpModule():
            tf.compat.v1.disable_eager_execution()

        class T(tf.test.TestCase):
            def test_a(self):
                pass
        """
    )
    result = run_pytest("--estimator-isolation", "-v")
    result.assert_outcomes(passed=1, skipped=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of T.test_a*",
            "estimator-isolation: setUpModule of test_*.py leaked TensorFlow state, found at its teardown: "
            "EI105 eager-mode (strict mode)",
            "  owner: setUpModule of test_*.py",
        ]
    )
