"""Trust on real suites: TF's own contracts are not flagged, no leak hides behind xfail or a failed
setup, fixtures and xunit setups are judged under their own markers and blamed only for what they did."""

from __future__ import annotations

import json

import pytest
from helpers import requires_estimator, requires_keras2, requires_tf

pytestmark = requires_tf


def _report(pytester) -> dict:
    return json.loads((pytester.path / "report.json").read_text())


TESTCASE = """
import pytest
import tensorflow as tf
from tensorflow.python.framework import test_util

kept = []


class GraphModeTest(tf.test.TestCase):
    @test_util.run_deprecated_v1
    def test_z_builds_in_the_default_graph(self):  # runs last: no later setUp resets the graph
        w = tf.compat.v1.get_variable("w", shape=[2])
        with self.cached_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            self.assertAllEqual(self.evaluate(tf.shape(w)), [2])

    @test_util.run_deprecated_v1
    def test_monitored_session_finalizes_the_default_graph(self):
        tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.train.MonitoredSession() as sess:
            pass

    def test_leaks_a_session_testcase_does_not_close(self):
        kept.append(tf.compat.v1.Session(graph=tf.Graph()))


def test_plain_test_after_them_starts_clean():
    assert tf.executing_eagerly()
    assert tf.compat.v1.get_default_graph().get_operations() == []
"""


def test_tf_testcase_contract_is_not_flagged_but_what_it_does_not_undo_is(pytester, run):
    pytester.makepyfile(TESTCASE)
    result = run("--estimator-isolation", "--estimator-isolation-report=report.json", "-p", "no:randomly")
    result.assert_outcomes(passed=4, skipped=1, errors=1)  # skipped: TestCase.test_session, "not a test"
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of GraphModeTest.test_leaks_a_session_testcase_does_not_close*",
            "1 leak(s) in mode strict: 1 EI101 open-session | 1 failed",
            "tidied quietly after * test(s) (TF's own state, not failures): 2 EI106 testcase-default-graph*",
        ]
    )
    data = _report(pytester)
    assert [leak["code"] for leak in data["leaks"]] == ["EI101"]
    assert data["tidied"]["kinds"]["EI106 testcase-default-graph"] == 2
    # Without the plugin the plain test inherits the TestCase's graph: the control run proves the hazard.
    control = run("-p", "no:estimator_isolation", "-p", "no:randomly")
    control.assert_outcomes(passed=3, skipped=1, failed=1)


KERAS_2 = """
import importlib
import importlib.util

import numpy as np
import pytest
import tensorflow as tf

# tf.keras: keras 2 on TF <= 2.15, tf_keras with TF_USE_LEGACY_KERAS=1, Keras 3 otherwise
KERAS = tf.keras.__name__.split(".")[0]
if (getattr(tf.keras, "__version__", None) or importlib.import_module(KERAS).__version__).startswith("3"):
    pytest.skip("Keras 3 has no graph mode and no learning phase", allow_module_level=True)
"""

FIT_IN_A_PRIVATE_GRAPH = """
def test_fit_in_a_private_graph():
    with tf.Graph().as_default():
        model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
        model.compile("sgd", "mse")
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0)
"""


@pytest.mark.parametrize("keras_reset", [False, True])
@requires_keras2
def test_keras_cached_session_in_a_graph_mode_suite_is_not_the_tests_fault(pytester, run, keras_reset):
    pytester.makeconftest("import tensorflow as tf\ntf.compat.v1.disable_eager_execution()\n")
    pytester.makepyfile(KERAS_2 + FIT_IN_A_PRIVATE_GRAPH)
    result = run("--estimator-isolation", *(["--estimator-isolation-keras-reset"] if keras_reset else []))
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*EI101*")
    if keras_reset:  # cleared before the checks look: nothing left to tidy
        result.stdout.no_fnmatch_line("*EI107*")
    else:
        result.stdout.fnmatch_lines(
            ["tidied quietly after 1 test(s) (TF's own state, not failures): 1 EI107 keras-session"]
        )


@requires_keras2
def test_keras_learning_phase_left_set_is_a_global_config_leak(pytester, run):
    pytester.makepyfile(
        KERAS_2
        + """
def test_learning_phase_left_set():
    tf.keras.backend.set_learning_phase(1)


def test_learning_phase_unset_again():
    src = importlib.util.find_spec(KERAS + ".src")
    backend = importlib.import_module(KERAS + (".src.backend" if src else ".backend"))
    assert not backend.global_learning_phase_is_set()
"""
    )
    result = run("--estimator-isolation", "-p", "no:randomly", "-W", "ignore::UserWarning")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_learning_phase_left_set*",
            "*EI301 global-config: *keras.backend.learning_phase() is 1, was unset before the test*",
        ]
    )


def test_a_leak_in_an_xfail_test_fails_the_run(pytester, run):
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
    result = run("--estimator-isolation")
    result.assert_outcomes(xfailed=2, errors=2)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_xfail_leaks*", "*EI101 open-session*"])


def test_a_fixture_whose_setup_raises_is_judged_and_cleaned(pytester, run):
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
    result = run("--estimator-isolation", "-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_uses_broken*",
            "*RuntimeError: setup failed*",
            "*ERROR at teardown of test_uses_broken*",
            "*fixture 'broken' (module scope, test_a.py) leaked TensorFlow state*EI101 open-session*",
        ]
    )


def test_module_and_class_markers_govern_their_fixtures_and_xunit_setups(pytester, run):
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
    result = run("--estimator-isolation", "-p", "no:randomly")
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


def test_a_leak_left_in_place_is_not_blamed_again_on_the_fixtures_around_it(pytester, run):
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
    result = run("--estimator-isolation=warn", "--estimator-isolation-report=report.json", "-p", "no:randomly")
    result.assert_outcomes(passed=2, warnings=2)
    owners = sorted((leak["owner"].split("::", 1)[-1], leak["code"]) for leak in _report(pytester)["leaks"])
    assert owners == [("TestInClass::test_sets_floatx", "EI301"), ("test_disables_eager", "EI105")]


def test_polluters_are_rechecked_and_only_kinds_that_can_cause_failures_are_named(pytester, run):
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
    result = run("--estimator-isolation=warn", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1, warnings=1)
    result.stdout.no_fnmatch_line("*leaks still in place*")


def test_a_session_used_by_a_live_thread_is_reported_and_left_open(pytester, run):
    pytester.makepyfile(
        """
        import threading
        import tensorflow as tf

        graph = tf.Graph()
        with graph.as_default():
            one = tf.constant(1)
        started, go, box = threading.Event(), threading.Event(), {}

        def work():
            box["session"] = tf.compat.v1.Session(graph=graph)
            started.set()
            go.wait(30)
            box["result"] = box["session"].run(one)
            box["session"].close()

        thread = threading.Thread(target=work, name="tf-worker", daemon=True)

        def test_starts_worker():
            thread.start()
            started.wait(30)

        def test_worker_still_works():
            go.set()
            thread.join(30)
            assert box["result"] == 1
        """
    )
    result = run("--estimator-isolation", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*EI101 open-session: Session is still open*not closed: thread 'tf-worker' that created it is still running*"]
    )


def test_eager_switch_has_a_place_and_warnings_as_errors_name_it(pytester, run):
    pytester.makepyfile(
        """
        import tensorflow as tf

        def test_disables():
            tf.compat.v1.disable_eager_execution()
        """
    )
    result = run("--estimator-isolation=warn", "-W", "error::pytest_estimator_isolation.EstimatorIsolationWarning")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["test_eager_switch_*.py:4: EI105 eager-mode: execution mode is graph*"])
    result.stdout.no_fnmatch_line("*plugin.py*")


def test_global_seed_is_put_back_in_strict_mode_only(pytester, run):
    pytester.makepyfile(
        """
        import tensorflow as tf
        from tensorflow.python.eager import context

        def test_seeds():
            tf.random.set_seed(1)

        def test_sees_no_seed():
            assert context.context()._seed is None
        """
    )
    run("--estimator-isolation", "-p", "no:randomly").assert_outcomes(passed=2)
    run("--estimator-isolation=warn", "-p", "no:randomly").assert_outcomes(passed=1, failed=1)


def test_pytest_randomly_reseeds_tensorflow(pytester, run):
    pytester.makepyfile(
        """
        from tensorflow.python.eager import context

        def test_seeded():
            assert context.context()._seed is not None

        def test_seeds_itself():  # pytest-randomly reseeds after it too: nothing to put back
            import tensorflow as tf
            tf.random.set_seed(1)
        """
    )
    pytester.makeconftest("import tensorflow\n")
    args = ("-p", "randomly", "-p", "no:cacheprovider", "--randomly-seed=7", "--estimator-isolation")
    result = pytester.runpytest_subprocess(*args, "--estimator-isolation-report=report.json")
    result.assert_outcomes(passed=2)
    report = _report(pytester)  # its reseeding is not counted as the tests' EI302 (tidied)
    assert report["leaks"] == []
    assert report["tidied"]["kinds"] == {}, report["tidied"]


@requires_estimator
def test_estimator_fixtures_and_tf_own_sessions(pytester, run):
    pytester.makepyfile(
        """
        import numpy as np
        import pytest
        import tensorflow as tf

        def input_fn():
            return tf.data.Dataset.from_tensors(({"x": np.ones((4, 2), np.float32)}, np.ones((4, 1), np.float32)))

        def model_fn(width, name="w"):
            def fn(features, labels, mode):
                w = tf.compat.v1.get_variable(name, shape=[2, width])
                loss = tf.reduce_mean(tf.matmul(features["x"], w)[:, :1] - labels)
                step = tf.compat.v1.train.get_or_create_global_step()
                train = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
                return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train)
            return fn

        def test_config_is_refused(make_estimator, run_config):
            with pytest.raises(TypeError, match="make_estimator binds the run_config fixture"):
                make_estimator(model_fn(1), config=run_config)

        def test_restore_fails(make_estimator):  # fails: pytest keeps the traceback, and TF's session
            make_estimator(model_fn(1)).train(input_fn, steps=1)
            make_estimator(model_fn(1, name="renamed")).train(input_fn, steps=1)  # a renamed variable

        def test_temp_dir():
            tf.estimator.Estimator(model_fn(1))

        def test_fails():
            assert False
        """
    )
    result = run("--estimator-isolation=warn", "-p", "no:randomly")
    outcomes = result.parseoutcomes()
    assert (outcomes["passed"], outcomes["failed"]) == (2, 2)
    result.stdout.fnmatch_lines(["*NotFoundError*"])
    result.stdout.no_fnmatch_line("*EI101*")
    result.stdout.no_fnmatch_line("*left by*EI204*")  # a temp dir cannot make a later test fail
    result.stdout.fnmatch_lines(["*tidied quietly*EI108 tf-internal-session*"])


# Found on real suites (larq, DeepCTR): the reproducers, reduced.
@requires_keras2
def test_keras_clear_session_in_graph_mode_is_not_a_default_graph_leak(pytester, run):
    pytester.makepyfile(
        KERAS_2
        + """
from tensorflow.python.eager import context


@pytest.fixture
def graph_mode():  # larq's conftest
    with context.graph_mode():
        sess = tf.compat.v1.Session()
        with sess.as_default():
            yield
            tf.keras.backend.clear_session()  # re-adds Keras' learning-phase placeholder
        sess.close()


def test_builds_in_graph_mode(graph_mode):
    assert tf.compat.v1.placeholder(tf.float32, shape=[1]).graph is tf.compat.v1.get_default_graph()
"""
    )
    run("--estimator-isolation").assert_outcomes(passed=1)


def test_in_warn_mode_a_leaked_mode_switch_is_not_blamed_again_on_the_tests_after_it(pytester, run):
    pytester.makepyfile(
        """
        import tensorflow as tf

        def test_a_disables_eager():
            tf.compat.v1.disable_eager_execution()

        def test_b_plain_tf2_code():
            assert tf.constant([1.0, 2.0]).shape == (2,)
        """
    )
    result = run("--estimator-isolation=warn", "-p", "no:randomly")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["1 leak(s) in mode warn: 1 EI105 eager-mode | 1 warned"])


def test_a_setting_put_back_after_a_leak_left_in_place_is_not_blamed_on_who_put_it_back(pytester, run):
    # keras-tuner's tests set the default image_data_format they need; Keras' TestCase.setUp() resets the
    # dtype policy. After a leak left in place (warn mode, an allowed kind), that undoes it: not a leak.
    pytester.makepyfile(
        """
        import keras
        import pytest

        @pytest.mark.allow_leaks("global-config")
        def test_a_leaks_channels_first():
            keras.backend.set_image_data_format("channels_first")

        @pytest.fixture(scope="class")
        def around_b():
            yield

        class TestB:  # the class fixture is judged at its teardown: b's put-back is not its doing either
            def test_b_sets_the_default_it_needs(self, around_b):
                keras.backend.set_image_data_format("channels_last")

        def test_c_leaks_float64():
            keras.backend.set_floatx("float64")

        def test_d_changes_it_again():
            keras.backend.set_floatx("float16")
        """
    )
    result = run("--estimator-isolation=warn", "-p", "no:randomly")
    result.assert_outcomes(passed=4, warnings=2)
    result.stdout.fnmatch_lines(["3 leak(s) in mode warn: 3 EI301 global-config | 1 allowed, 2 warned"])
    assert "test_b_sets_the_default_it_needs" not in result.stdout.str()
    assert "around_b" not in result.stdout.str()
    result = run("--estimator-isolation=strict", "-p", "no:randomly")
    result.assert_outcomes(passed=4, errors=2)  # a's leak is allowed (b undoes it); c's is undone before d's
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_c_leaks_float64*", "*ERROR at teardown of test_d_changes*"]
    )
    assert "ERROR at teardown of test_b" not in result.stdout.str()
