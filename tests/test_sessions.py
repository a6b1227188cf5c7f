from __future__ import annotations

import sys

from helpers import requires_tf

pytestmark = requires_tf


def test_unclosed_session_fails_in_strict_and_next_test_is_clean(pytester, run):
    pytester.makepyfile(
        """
        import tensorflow as tf
        keep = []

        def test_leaks():
            keep.append(tf.compat.v1.Session())

        def test_next():
            assert tf.compat.v1.get_default_session() is None
        """
    )
    result = run("--estimator-isolation")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks*",
            "*EI101 open-session: Session is still open*",
            "*created at test_*.py:5 in test_leaks*",
            "*fix: use `with tf.compat.v1.Session() as sess:`*",
        ]
    )
    assert result.ret == 1


def test_a_second_run_in_the_same_process_reports_to_its_own_checks(pytester):
    """TF is patched once per process; each run's checks hear it (IDE runners, pytester inline runs)."""
    pytester.makepyfile(
        test_leak="""
        import tensorflow as tf
        kept = []

        def test_leaks():
            kept.append(tf.compat.v1.Session())
        """
    )
    pytester.makepyfile(
        twice="""
        import sys
        import pytest

        args = ["-q", "-p", "no:randomly", "-p", "no:cacheprovider", "--estimator-isolation", "test_leak.py"]
        first, second = pytest.main(args), pytest.main(args)
        sys.exit(0 if (first, second) == (1, 1) else 3)
        """
    )
    result = pytester.run(sys.executable, "twice.py")
    assert result.ret == 0, result.stdout.str()
    assert result.stdout.str().count("EI101 open-session: Session is still open") >= 2
