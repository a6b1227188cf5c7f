"""Leaks made by wider-scoped fixtures belong to the fixture, judged at its own teardown."""

from __future__ import annotations

from helpers import requires_tf

pytestmark = requires_tf

EAGER_AGAIN = """
import tensorflow as tf

def test_eager_again():
    assert tf.executing_eagerly()
"""


def test_module_fixture_holding_a_session_until_teardown_is_clean(pytester, run):
    pytester.makepyfile(
        """
        import pytest
        import tensorflow as tf

        @pytest.fixture(scope="module")
        def session():
            with tf.compat.v1.Session(graph=tf.Graph()) as sess:
                yield sess

        def test_one(session):
            assert not session._closed

        def test_two(session):
            assert not session._closed
        """
    )
    run("--estimator-isolation").assert_outcomes(passed=2)


def test_session_fixture_that_never_closes_is_blamed_on_the_fixture(pytester, run):
    pytester.makepyfile(
        """
        import pytest
        import tensorflow as tf

        @pytest.fixture(scope="session")
        def session():
            sess = tf.compat.v1.Session(graph=tf.Graph())
            yield sess

        def test_one(session):
            pass

        def test_two(session):
            pass
        """
    )
    result = run("--estimator-isolation", "-rE")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_two*",
            "*EI101 open-session: Session is*",
            "*owner: fixture 'session' (session scope*",
        ]
    )


def test_module_fixture_that_switches_to_graph_mode_and_back_is_clean(pytester, run):
    pytester.makepyfile(
        """
        import pytest
        import tensorflow as tf

        @pytest.fixture(scope="module")
        def graph_mode():
            tf.compat.v1.disable_eager_execution()
            yield
            tf.compat.v1.reset_default_graph()
            tf.compat.v1.enable_eager_execution()

        def test_one(graph_mode):
            assert not tf.executing_eagerly()

        def test_two(graph_mode):
            assert not tf.executing_eagerly()
        """
    )
    pytester.makepyfile(test_z_later=EAGER_AGAIN)
    run("--estimator-isolation").assert_outcomes(passed=3)


def test_module_fixture_holding_a_graph_until_teardown_is_clean(pytester, run):
    pytester.makepyfile(
        """
        import pytest
        import tensorflow as tf

        @pytest.fixture(scope="module")
        def graph():
            with tf.Graph().as_default() as g:
                yield g

        def test_one(graph):
            assert not tf.executing_eagerly()

        def test_two(graph):
            tf.constant(1.0)
            assert not tf.executing_eagerly()
        """
    )
    pytester.makepyfile(test_z_later=EAGER_AGAIN)
    run("--estimator-isolation").assert_outcomes(passed=3)


def test_module_fixture_that_disables_eager_for_good_is_blamed_on_it(pytester, run):
    pytester.makepyfile(
        """
        import pytest
        import tensorflow as tf

        @pytest.fixture(scope="module")
        def graph_mode():
            tf.compat.v1.disable_eager_execution()

        def test_one(graph_mode):
            assert not tf.executing_eagerly()
        """
    )
    result = run("--estimator-isolation")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*EI105 eager-mode*", "*owner: fixture 'graph_mode' (module scope*"])


def test_parametrized_module_fixture_switching_params_does_not_judge_the_next_test_early(pytester, run):
    pytester.makepyfile(
        """
        import pytest
        import tensorflow as tf

        kept = []

        @pytest.fixture(scope="module", params=[1, 2])
        def graph(request):
            with tf.Graph().as_default() as g:
                yield g

        def test_leaks(graph):  # [2] runs right after the switch from param 1 to 2
            kept.append(tf.compat.v1.Session(graph=graph))

        def test_uses(graph):
            pass
        """
    )
    result = run("--estimator-isolation", "-v")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(["*::test_leaks[[]1[]] ERROR*", "*::test_leaks[[]2[]] ERROR*"])


def test_tf_first_imported_in_a_scoped_fixture_is_owned_by_it(pytester, run):
    # The plugin judges tests only once TF is imported; one imported in the middle of a test's setup
    # still finds who owns what it creates: the fixture being set up, or the test.
    pytester.makepyfile(
        test_a="""
        import sys
        import pytest

        def test_before_tf():
            assert "tensorflow" not in sys.modules

        @pytest.fixture(scope="module")
        def session():
            import tensorflow as tf

            with tf.compat.v1.Session(graph=tf.Graph()) as sess:
                yield sess

        @pytest.fixture(scope="module")
        def forgotten(session):
            import tensorflow as tf

            yield tf.compat.v1.Session(graph=tf.Graph())

        def test_uses(session, forgotten):
            assert not session._closed
        """,
        test_b="""
        KEPT = []

        def test_leaks_its_own():
            import tensorflow as tf

            KEPT.append(tf.compat.v1.Session(graph=tf.Graph()))
        """,
    )
    result = run("--estimator-isolation", "-rE", "-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_uses*",
            "estimator-isolation: fixture 'forgotten' (module scope, test_a.py) leaked TensorFlow state*",
            "*created at test_a.py:18 in forgotten",
            "*ERROR at teardown of test_leaks_its_own*",
            "estimator-isolation: test leaked TensorFlow state: EI101*",
            "*created at test_b.py:6 in test_leaks_its_own",
        ]
    )
    result.stdout.no_fnmatch_line("*fixture 'session'*")
