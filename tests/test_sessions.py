from __future__ import annotations

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
