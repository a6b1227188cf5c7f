"""EI401-EI405: summary writers, TF threads and open files a test leaves, and the writers TF's
FileWriterCache keeps for Estimators (closed after the test, counted as tidied, never blamed)."""

from __future__ import annotations

import json
import sys

import pytest
from helpers import requires_estimator, requires_tf

pytestmark = requires_tf

CONFTEST = """
import threading

import pytest
import tensorflow as tf

def tf_threads():
    return sorted(t.name for t in threading.enumerate() if t.name.startswith(("EventLoggerThread", "QueueRunner")))

KEPT = []  # what a test keeps alive on purpose, to leak it

def pytest_sessionfinish(session):
    # A queue runner's threads are not daemons: left running (warn mode), they would keep this run alive.
    for kept in KEPT:
        if isinstance(kept, tuple):
            tf_session, coord, threads = kept
            coord.request_stop()
            tf_session.close()
            try:
                coord.join(threads, stop_grace_period_secs=10, ignore_live_threads=True)
            except tf.errors.CancelledError:  # what the stopped enqueue thread raised
                pass

@pytest.fixture(scope="module")
def module_writer(tmp_path_factory):
    # A wider fixture's writer: the tests that use it must find it open, and it is judged at its teardown.
    with tf.Graph().as_default():
        writer = tf.compat.v1.summary.FileWriter(str(tmp_path_factory.mktemp("module_logs")))
    yield writer
    KEPT.append(writer)  # left open: the fixture's leak
"""

WRITERS = """
import threading

import tensorflow as tf
from conftest import KEPT, tf_threads

def test_v1_writer_left_open(tmp_path):
    with tf.Graph().as_default():
        writer = tf.compat.v1.summary.FileWriter(str(tmp_path / "v1_logs"))
        writer.add_graph(tf.compat.v1.get_default_graph())
    KEPT.append(writer)

def test_v2_writer_left_open(tmp_path):
    KEPT.append(tf.summary.create_file_writer(str(tmp_path / "v2_logs")))

def test_the_leaked_writers_were_closed():
    assert tf_threads() == []
    assert [w.event_writer._closed if hasattr(w, "event_writer") else w._closed for w in KEPT] == [True, True]

def test_closed_and_with_writers(tmp_path):
    with tf.Graph().as_default():
        with tf.compat.v1.summary.FileWriter(str(tmp_path / "a")) as writer:
            writer.add_graph(tf.compat.v1.get_default_graph())
        tf.compat.v1.summary.FileWriter(str(tmp_path / "b")).close()
    with tf.summary.create_file_writer(str(tmp_path / "c")).as_default():
        tf.summary.write("loss", 1.0, step=1)  # not scalar(): TF 2.16+ needs tensorboard for it
    tf.summary.create_file_writer(str(tmp_path / "d")).close()
    unreferenced = tf.summary.create_file_writer(str(tmp_path / "e"))  # closed when the test's frame goes

def test_uses_the_module_writer(module_writer):
    module_writer.add_session_log(tf.compat.v1.SessionLog(status=tf.compat.v1.SessionLog.START), 1)
    module_writer.flush()

def test_the_module_writer_is_still_open(module_writer):
    assert not module_writer.event_writer._closed

def test_queue_runner_left_running():
    with tf.Graph().as_default():
        queue = tf.compat.v1.FIFOQueue(4, tf.float32)
        runner = tf.compat.v1.train.QueueRunner(queue, [queue.enqueue([1.0])])
        session = tf.compat.v1.Session()
        coord = tf.compat.v1.train.Coordinator()
        KEPT.append((session, coord, runner.create_threads(session, coord=coord, start=True)))

def test_queue_runner_stopped():
    with tf.Graph().as_default():
        queue = tf.compat.v1.FIFOQueue(4, tf.float32)
        runner = tf.compat.v1.train.QueueRunner(queue, [queue.enqueue([1.0])])
        with tf.compat.v1.Session() as session:
            coord = tf.compat.v1.train.Coordinator()
            threads = runner.create_threads(session, coord=coord, start=True)
            assert session.run(queue.dequeue()) == 1.0
            coord.request_stop()
            session.run(queue.close(cancel_pending_enqueues=True))
            coord.join(threads)

def test_plain_thread_left_running():
    stop = threading.Event()
    threading.Thread(target=stop.wait, name="plain-waiter", daemon=True).start()
    KEPT.append(stop)

def test_open_file_and_thread_left(tmp_path):
    KEPT.append(open(tmp_path / "data.txt", "w"))
    stop = threading.Event()
    threading.Thread(target=stop.wait, name="file-holder", daemon=True).start()
    KEPT.append(stop)
"""


@pytest.fixture
def writers_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_writers=WRITERS)
    return pytester


@pytest.mark.tf_range
def test_left_open_writers_and_tf_threads_are_flagged_closed_and_named(writers_suite, run_pytest) -> None:
    result = run_pytest("--estimator-isolation", "--estimator-isolation-report=report.json", "-v")
    result.assert_outcomes(passed=10, errors=4)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_v1_writer_left_open*",
            "*EI401 open-summary-writer: tf.compat.v1.summary.FileWriter on */v1_logs is still open "
            "(it holds its event file and an EventLoggerThread); open it as "
            "`with tf.compat.v1.summary.FileWriter(logdir) as writer:`, or call writer.close()",
            "*test_writers.py:8 in test_v1_writer_left_open",
            "*ERROR at teardown of test_v2_writer_left_open*",
            "*EI401 open-summary-writer: tf.summary.create_file_writer on */v2_logs is still open "
            "(it holds its event file); call writer.close() when the test is done with it, or do not keep it "
            "(a global, a cache)",
            "*test_writers.py:13 in test_v2_writer_left_open",
            "*ERROR at teardown of test_queue_runner_left_running*",
            "*EI403 tf-thread: thread 'QueueRunnerThread-fifo_queue-fifo_queue_enqueue' "
            "(tensorflow.python.training.queue_runner_impl.QueueRunner._run) is still running",
            "*test_writers.py:42 in test_queue_runner_left_running",
            "*ERROR at teardown of test_open_file_and_thread_left*",  # the module fixture's teardown
            "*owner: fixture 'module_writer' (module scope, conftest)",
            "*created at conftest.py:* in module_writer",
        ]
    )
    leaks = json.loads((writers_suite.path / "report.json").read_text())["leaks"]
    found = {(leak["owner"].split("::")[-1], leak["code"], leak["outcome"]) for leak in leaks}
    expected = {
        ("test_v1_writer_left_open", "EI401", "failed"),
        ("test_v2_writer_left_open", "EI401", "failed"),
        ("test_queue_runner_left_running", "EI101", "failed"),  # its session too
        ("test_queue_runner_left_running", "EI403", "failed"),
        ("fixture 'module_writer' (module scope, conftest)", "EI401", "failed"),
    }
    if sys.platform == "linux":  # open files are read from /proc/self/fd
        expected.add(("test_open_file_and_thread_left", "EI404", "warned"))
    assert found == expected
    # The wider fixture's writer is its own leak, reported once, at its teardown, not by the tests using it.
    fixture_leak = next(leak for leak in leaks if leak["owner"].startswith("fixture"))
    assert "module_logs" in fixture_leak["what"]


def test_warn_mode_reports_but_closes_nothing_of_the_tests(writers_suite, run_pytest) -> None:
    result = run_pytest("--estimator-isolation=warn", "-p", "no:warnings")
    # test_the_leaked_writers_were_closed fails: in warn mode the writers stay open.
    result.assert_outcomes(passed=9, failed=1)


def test_any_thread_check_is_opt_in(writers_suite, run_pytest) -> None:
    result = run_pytest("--estimator-isolation=warn", "--estimator-isolation-report=report.json")
    codes = {leak["code"] for leak in json.loads((writers_suite.path / "report.json").read_text())["leaks"]}
    assert "EI405" not in codes
    result = run_pytest("--estimator-isolation=warn", "--estimator-isolation-threads=all", "-k", "plain_thread")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*EI405 thread: thread 'plain-waiter' (threading.Event.wait) is still running*"])


def test_a_bad_threads_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--estimator-isolation", "--estimator-isolation-threads=some")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--estimator-isolation-threads: invalid value 'some', expected one of tf, all*"])


ESTIMATOR_CONFTEST = """
import os
import threading

import pytest
import tensorflow as tf

def input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": [[1.0], [2.0]]}, [[2.0], [4.0]])).batch(2).repeat()

def regressor(model_dir):
    return tf.estimator.LinearRegressor([tf.feature_column.numeric_column("x")], model_dir=str(model_dir))

def event_loggers():
    return sum(1 for t in threading.enumerate() if t.name == "EventLoggerThread")

@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("trained") / "model"
    regressor(path).train(input_fn, steps=1)
    return str(path)
"""

ESTIMATORS = """
import tensorflow as tf
from conftest import event_loggers, input_fn, regressor

def test_train_and_evaluate_in_tmp_path(tmp_path, trained_dir):
    before = event_loggers()  # the session fixture's cached writer
    estimator = regressor(tmp_path)
    estimator.train(input_fn, steps=1)
    assert estimator.evaluate(input_fn, steps=1)["global_step"] == 1
    assert event_loggers() == before + 2  # FileWriterCache: one for model_dir, one for model_dir/eval

def test_make_estimator_and_the_session_fixture(make_estimator, trained_dir):
    estimator = make_estimator(tf.estimator.LinearRegressor, feature_columns=[tf.feature_column.numeric_column("x")])
    estimator.train(input_fn, steps=1)
    regressor(trained_dir).evaluate(input_fn, steps=1)  # reads the fixture's dir: caches trained/eval

def test_only_the_session_fixtures_writer_is_left(trained_dir):
    cache = tf.compat.v1.summary.FileWriterCache._cache
    assert list(cache) == [trained_dir]  # the wider fixture's: never closed early
    assert not cache[trained_dir].event_writer._closed
    assert event_loggers() == 1
"""


@pytest.fixture
def estimator_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(ESTIMATOR_CONFTEST)
    pytester.makepyfile(test_estimators=ESTIMATORS)
    return pytester


@requires_estimator
@pytest.mark.parametrize("mode", ["strict", "warn"])
def test_estimators_cached_writers_are_tidied_not_blamed(estimator_suite, run_pytest, mode) -> None:
    result = run_pytest(f"--estimator-isolation={mode}", "--estimator-isolation-report=report.json")
    result.assert_outcomes(passed=3)
    # 2 in the first test; in the second, make_estimator's teardown closes its own and the plugin the
    # fixture dir's eval writer; the session fixture's, at its teardown.
    result.stdout.fnmatch_lines(
        [
            "tidied quietly after 3 test(s) (TF's own state, not failures): 3 EI402 cached-summary-writer*; "
            "freed 5 files, 5 threads, 5 writers"
        ]
    )
    report = json.loads((estimator_suite.path / "report.json").read_text())
    assert report["leaks"] == []
    assert report["counts"] == {}
    assert report["tidied"]["freed"] == {"writers": 5, "threads": 5, "files": 5}
    assert report["tidied"]["tests"] == 3


@requires_estimator
def test_the_fixtures_close_their_cached_writers_with_the_plugin_off(estimator_suite, run_pytest) -> None:
    estimator_suite.makepyfile(
        test_more="""
        import tensorflow as tf
        from conftest import event_loggers, input_fn

        def test_make_estimator(make_estimator):
            x = tf.feature_column.numeric_column("x")
            make_estimator(tf.estimator.LinearRegressor, feature_columns=[x]).train(input_fn, steps=1)
            assert event_loggers() == 1

        def test_closed_by_the_fixture():
            assert event_loggers() == 0
        """
    )
    result = run_pytest("test_more.py")
    result.assert_outcomes(passed=2)


@requires_estimator
@pytest.mark.skipif(sys.platform != "linux", reason="counts descriptors in /proc/self/fd")
def test_a_long_estimator_suite_under_a_low_file_limit(pytester: pytest.Pytester, run_pytest) -> None:
    """The issue's failure: each test leaves two cached writers (two files, two threads); 16 such tests
    under a limit of 16 free descriptors run out, then pytest crashes at session finish."""
    pytester.makeconftest(
        ESTIMATOR_CONFTEST
        + """
import resource

def pytest_sessionstart(session):
    # Room for what one test needs at once, not for what 16 tests leak (32 files).
    limit = len(os.listdir("/proc/self/fd")) + 16
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
"""
    )
    pytester.makepyfile(
        test_many="""
        import pytest
        from conftest import input_fn, regressor

        @pytest.mark.parametrize("i", range(16))
        def test_train_and_evaluate(tmp_path, i):
            estimator = regressor(tmp_path)
            estimator.train(input_fn, steps=1)
            assert estimator.evaluate(input_fn, steps=1)["global_step"] == 1
        """
    )
    without = run_pytest("-p", "no:estimator_isolation")
    assert without.ret != 0
    assert "Too many open files" in without.stdout.str() + without.stderr.str()
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=16)
    result.stdout.fnmatch_lines(["tidied quietly after 16 test(s)*freed 32 files, 32 threads, 32 writers"])


def test_a_writers_thread_is_part_of_its_finding_not_a_second_one(pytester: pytest.Pytester, run_pytest) -> None:
    """Warn mode leaves the writer open: its EventLoggerThread is not reported again (EI403) when the
    enclosing setUpClass or module fixture is torn down."""
    pytester.makepyfile(
        test_class="""
        import tensorflow as tf

        KEPT = []

        class T(tf.test.TestCase):
            def test_w(self):
                with tf.Graph().as_default():
                    self.w = tf.compat.v1.summary.FileWriter(self.get_temp_dir())
                KEPT.append(self.w)
        """,
        test_module_fixture="""
        import pytest
        import tensorflow as tf

        KEPT = []

        @pytest.fixture(scope="module")
        def shared():
            yield

        def test_in_a_module_fixture(shared, tmp_path):
            with tf.Graph().as_default():
                KEPT.append(tf.compat.v1.summary.FileWriter(str(tmp_path)))
        """,
    )
    result = run_pytest("--estimator-isolation=warn", "--estimator-isolation-report=report.json", "-p", "no:warnings")
    result.assert_outcomes(passed=2, skipped=1)  # skipped: TF's test_session placeholder
    leaks = json.loads((pytester.path / "report.json").read_text())["leaks"]
    assert sorted((leak["owner"].split("::")[-1], leak["code"]) for leak in leaks) == [
        ("test_in_a_module_fixture", "EI401"),
        ("test_w", "EI401"),
    ]


def test_an_unstopped_supervisor_is_named_with_its_fix_and_its_threads_sites(
    pytester: pytest.Pytester, run_pytest
) -> None:
    """A Supervisor's writer and service threads: the fix is ``sv.stop()``, the threads have a creation
    site, and the failure says plainly that the threads keep running (the plugin cannot stop them)."""
    pytester.makeconftest("import tensorflow as tf\ntf.compat.v1.disable_eager_execution()\n")
    pytester.makepyfile(
        """
        import tensorflow as tf

        KEPT = []

        def test_supervisor(tmp_path):
            tf.compat.v1.train.get_or_create_global_step()
            tf.compat.v1.summary.scalar("x", tf.constant(1.0))
            sv = tf.compat.v1.train.Supervisor(logdir=str(tmp_path), save_model_secs=0)
            KEPT.append((sv, sv.prepare_or_wait_for_session("")))
            tf.compat.v1.reset_default_graph()
        """
    )
    result = run_pytest("--estimator-isolation", "-p", "no:warnings")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines_random(
        [
            "*EI401 open-summary-writer: tf.compat.v1.summary.FileWriter on * is still open (it holds its event file "
            "and an EventLoggerThread); it is a tf.compat.v1.train.Supervisor's summary writer: call sv.stop()",
            "*These 2 threads keep running through every later test: the plugin cannot stop a thread.*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "EI403 tf-thread: thread * (tensorflow.python.training.supervisor.SVSummaryThread) is still running; "
            "a tf.compat.v1.train.Supervisor's service: call sv.stop()",
            "  created at test_*.py:9 in test_supervisor",
        ]
    )
    result.stdout.no_fnmatch_line("*Cleaned up, so later tests start clean*")
