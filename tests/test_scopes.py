"""Who a leak belongs to and when it is judged: leaks made by wider-scoped fixtures and xunit setups belong to
them, judged at their own teardown under their own markers; no leak hides behind xfail or a failed setup; a leak
left in place is not blamed again on the fixtures around it."""

from __future__ import annotations

from helpers import read_report, requires_tf

pytestmark = requires_tf

EAGER_AGAIN = """
import tensorflow as tf

def test_eager_again():
    assert tf.executing_eagerly()
"""


def test_module_fixture_holding_a_session_until_teardown_is_clean(pytester, run_pytest):
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
    run_pytest("--estimator-isolation").assert_outcomes(passed=2)


def test_session_fixture_that_never_closes_is_blamed_on_the_fixture(pytester, run_pytest):
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
    result = run_pytest("--estimator-isolation", "-rE")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_two*",
            "*EI101 open-session: Session is*",
            "*owner: fixture 'session' (session scope*",
        ]
    )


def test_module_fixture_that_switches_to_graph_mode_and_back_is_clean(pytester, run_pytest):
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
    run_pytest("--estimator-isolation").assert_outcomes(passed=3)


def test_module_fixture_holding_a_graph_until_teardown_is_clean(pytester, run_pytest):
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
    run_pytest("--estimator-isolation").assert_outcomes(passed=3)


def test_module_fixture_that_disables_eager_for_good_is_blamed_on_it(pytester, run_pytest):
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
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*EI105 eager-mode*", "*owner: fixture 'graph_mode' (module scope*"])


def test_parametrized_module_fixture_switching_params_does_not_judge_the_next_test_early(pytester, run_pytest):
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
    result = run_pytest("--estimator-isolation", "-v")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(["*::test_leaks[[]1[]] ERROR*", "*::test_leaks[[]2[]] ERROR*"])


def test_tf_first_imported_in_a_scoped_fixture_is_owned_by_it(pytester, run_pytest):
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
    result = run_pytest("--estimator-isolation", "-rE", "-p", "no:randomly")
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


def test_a_leak_in_an_xfail_test_fails_the_run(pytester, run_pytest):
    pytester.makepyfile(
        """
        import pytest
        import tensorflow as tf
        kept = []

        @pytest.mark.xfail(reason="known bug")
        def test_xfail_leaks():
            kept.append(tf.compat.v1.Session())
            assert False

        @pytest.mark.xfail(strict=True, reason="known bug")
        def test_strict_xfail_leaks():
            kept.append(tf.compat.v1.Session())
            assert False
        """
    )
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(xfailed=2, errors=2)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_xfail_leaks*", "*EI101 open-session*"])


def test_a_fixture_whose_setup_raises_is_judged_and_cleaned(pytester, run_pytest):
    pytester.makepyfile(
        test_a="""
        import pytest
        import tensorflow as tf

        @pytest.fixture(scope="module")
        def broken():
            tf.compat.v1.InteractiveSession(graph=tf.Graph())
            raise RuntimeError("setup failed")

        def test_uses_broken(broken):
            pass
        """,
        test_b="""
        import tensorflow as tf

        def test_eager_again():
            assert tf.executing_eagerly()
        """,
    )
    result = run_pytest("--estimator-isolation", "-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_uses_broken*",
            "*RuntimeError: setup failed*",
            "*ERROR at teardown of test_uses_broken*",
            "*fixture 'broken' (module scope, test_a.py) leaked TensorFlow state*EI101 open-session*",
        ]
    )


def test_module_and_class_markers_govern_their_fixtures_and_xunit_setups(pytester, run_pytest):
    pytester.makepyfile(
        test_allowed="""
        import pytest
        import tensorflow as tf

        pytestmark = pytest.mark.allow_leaks("open-session")
        kept = []

        def setup_module():
            kept.append(tf.compat.v1.Session(graph=tf.Graph()))

        @pytest.fixture(scope="module")
        def session():
            return tf.compat.v1.Session(graph=tf.Graph())

        def test_one(session):
            pass
        """,
        test_flagged="""
        import tensorflow as tf
        kept = []

        class TestThings:
            @classmethod
            def setup_class(cls):
                kept.append(tf.compat.v1.Session(graph=tf.Graph()))

            def test_one(self):
                pass

            def test_last(self):
                pass
        """,
    )
    result = run_pytest("--estimator-isolation", "-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of TestThings.test_last*",
            "estimator-isolation: setup_class of test_flagged.py::TestThings leaked TensorFlow state, "
            "found at its teardown: EI101 open-session (strict mode)",
        ]
    )
    result.stdout.fnmatch_lines_random(
        [
            "setup_module of test_allowed.py",
            "fixture 'session' (module scope, test_allowed.py)",
            "3 leak(s) in mode strict: 3 EI101 open-session | 2 allowed, 1 failed",
        ]
    )


def test_a_leak_left_in_place_is_not_blamed_again_on_the_fixtures_around_it(pytester, run_pytest):
    pytester.makepyfile(
        """
        import pytest
        import unittest
        import tensorflow as tf

        @pytest.fixture(scope="module")
        def resource():
            yield 1

        def test_disables_eager(resource):
            tf.compat.v1.disable_eager_execution()

        class TestInClass(unittest.TestCase):
            def test_sets_floatx(self):
                tf.keras.backend.set_floatx("float64")
        """
    )
    result = run_pytest("--estimator-isolation=warn", "--estimator-isolation-report=report.json", "-p", "no:randomly")
    result.assert_outcomes(passed=2, warnings=2)
    owners = sorted((leak["owner"].split("::", 1)[-1], leak["code"]) for leak in read_report(pytester)["leaks"])
    assert owners == [("TestInClass::test_sets_floatx", "EI301"), ("test_disables_eager", "EI105")]


def test_tf_config_set_by_the_first_test_to_import_tf_is_seen(pytester, run_pytest):
    """The environment a test started with is noted before TF is loaded (one copy of os.environ): a test
    that sets TF_CONFIG and only then imports TF is still seen to have changed it (issue 30, item 12)."""
    pytester.makepyfile(
        """
        import os

        def test_sets_tf_config_then_imports_tf():
            os.environ["TF_CONFIG"] = '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 0}}'
            import tensorflow as tf

        def test_after():
            assert "TF_CONFIG" not in os.environ
        """
    )
    result = run_pytest("--estimator-isolation", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["EI303 environment: os.environ?'TF_CONFIG'? is '{*}', was unset before the test"])
