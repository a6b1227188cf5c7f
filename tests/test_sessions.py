from __future__ import annotations

import json
import sys

import pytest
from helpers import KERAS_2, requires_estimator, requires_keras2, requires_tf

pytestmark = requires_tf


@pytest.mark.tf_range
def test_unclosed_session_fails_in_strict_and_next_test_is_clean(pytester, run_pytest):
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
    result = run_pytest("--estimator-isolation")
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


FIT_IN_A_PRIVATE_GRAPH = """
def test_fit_in_a_private_graph():
    with tf.Graph().as_default():
        model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
        model.compile("sgd", "mse")
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0)
"""


@pytest.mark.tf_range
@pytest.mark.parametrize("keras_reset", [False, True])
@requires_keras2
def test_keras_cached_session_in_a_graph_mode_suite_is_not_the_tests_fault(pytester, run_pytest, keras_reset):
    pytester.makeconftest("import tensorflow as tf\ntf.compat.v1.disable_eager_execution()\n")
    pytester.makepyfile(KERAS_2 + FIT_IN_A_PRIVATE_GRAPH)
    result = run_pytest("--estimator-isolation", *(["--estimator-isolation-keras-reset"] if keras_reset else []))
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*EI101*")
    if keras_reset:  # cleared before the checks look: nothing left to tidy
        result.stdout.no_fnmatch_line("*EI107*")
    else:
        result.stdout.fnmatch_lines(
            ["tidied quietly after 1 test(s) (TF's own state, not failures): 1 EI107 keras-session"]
        )


def test_a_session_used_by_a_live_thread_is_reported_and_left_open(pytester, run_pytest):
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
    result = run_pytest("--estimator-isolation", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*EI101 open-session: Session is still open*not closed: thread 'tf-worker' that created it is still running*"]
    )


@requires_estimator
def test_estimator_fixtures_and_tf_own_sessions(pytester, run_pytest):
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
    result = run_pytest("--estimator-isolation=warn", "-p", "no:randomly")
    outcomes = result.parseoutcomes()
    assert (outcomes["passed"], outcomes["failed"]) == (2, 2)
    result.stdout.fnmatch_lines(["*NotFoundError*"])
    result.stdout.no_fnmatch_line("*EI101*")
    result.stdout.no_fnmatch_line("*left by*EI204*")  # a temp dir cannot make a later test fail
    result.stdout.fnmatch_lines(["*tidied quietly*EI108 tf-internal-session*"])


def test_a_session_nothing_can_reach_after_the_test_is_a_warning_not_a_failure(pytester, run_pytest):
    """``as_default()`` never closes the session, but it dies with the test's frame: no later test can see
    it (EI109, a warning). One still reachable after the test (a global here) fails it (EI101)."""
    pytester.makepyfile(
        """
        import weakref

        import tensorflow as tf

        REFS = []
        KEPT = []

        def test_a_local_session():
            with tf.compat.v1.Session(graph=tf.Graph()).as_default() as s:
                REFS.append(weakref.ref(s))

        def test_b_no_later_test_sees_it():
            assert REFS[0]() is None

        def test_c_kept_session():
            KEPT.append(tf.compat.v1.Session(graph=tf.Graph()))
        """
    )
    result = run_pytest("--estimator-isolation", "--estimator-isolation-report=report.json", "-p", "no:warnings")
    result.assert_outcomes(passed=3, errors=1)
    leaks = json.loads((pytester.path / "report.json").read_text())["leaks"]
    found = {(leak["owner"].split("::")[-1], leak["code"], leak["outcome"]) for leak in leaks}
    assert found == {("test_a_local_session", "EI109", "warned"), ("test_c_kept_session", "EI101", "failed")}
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_c_kept_session*"])


RESTORE_FAILS = """
import pytest
import tensorflow as tf

def _checkpoint(path, shape):
    with tf.Graph().as_default():
        tf.compat.v1.get_variable("v", shape=shape)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(path / "model.ckpt"))


def test_monitored_session_whose_restore_fails(tmp_path):
    _checkpoint(tmp_path, [2])
    with tf.Graph().as_default():
        tf.compat.v1.get_variable("w", shape=[2])  # not in the checkpoint
        creator = tf.compat.v1.train.ChiefSessionCreator(checkpoint_dir=str(tmp_path))
        with pytest.raises(tf.errors.NotFoundError):
            tf.compat.v1.train.MonitoredSession(session_creator=creator)


def test_supervisor_whose_restore_fails(tmp_path):
    _checkpoint(tmp_path, [2])
    with tf.Graph().as_default():
        tf.compat.v1.get_variable("w", shape=[2])  # not in the checkpoint
        sv = tf.compat.v1.train.Supervisor(logdir=str(tmp_path), save_model_secs=0, save_summaries_secs=0)
        with pytest.raises(tf.errors.NotFoundError):
            with sv.managed_session():
                pass
"""


@pytest.mark.tf_range
def test_a_session_tfs_session_manager_abandons_in_a_failed_call_is_tidied(pytester, run_pytest):
    """EI108 beyond Estimators: ``MonitoredSession`` / ``Supervisor.managed_session`` whose restore fails
    leave the session TF's ``SessionManager`` made open; the test only checks that the call raises."""
    pytester.makepyfile(RESTORE_FAILS)
    result = run_pytest("--estimator-isolation", "--estimator-isolation-report=report.json", "-p", "no:warnings")
    result.assert_outcomes(passed=2)
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["leaks"] == []
    assert report["tidied"]["kinds"] == {"EI108 tf-internal-session": 2}
