"""EI201-EI204: Estimator model_dirs shared between tests, fine-tuned in place, written outside pytest's
temporary directories, or made by TensorFlow with mkdtemp. Each inner run holds many scenarios: importing
TF costs seconds."""

from __future__ import annotations

import pytest
from helpers import requires_estimator, requires_xdist

CONFTEST = """
import pytest
import tensorflow as tf

def input_fn():
    return tf.data.Dataset.from_tensors(({"x": [[1.0], [2.0]]}, [[2.0], [4.0]])).repeat()

def model_fn(features, labels, mode):
    w = tf.compat.v1.get_variable("w", shape=[1, 1])
    predictions = tf.matmul(features["x"], w)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions=predictions)
    loss = tf.compat.v1.losses.mean_squared_error(labels, predictions)
    step = tf.compat.v1.train.get_or_create_global_step()
    train_op = tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(loss, global_step=step)
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)

def train(model_dir, steps=1):
    estimator = tf.estimator.Estimator(model_fn, model_dir=model_dir)
    estimator.train(input_fn, steps=steps)
    return estimator

@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory):
    return train(str(tmp_path_factory.mktemp("trained") / "model"), steps=3).model_dir
"""

CLEAN = """
import tensorflow as tf
from conftest import input_fn, model_fn, train

def test_fresh_dir_per_test(make_estimator):
    estimator = make_estimator(model_fn)
    estimator.train(input_fn, steps=2)
    assert estimator.evaluate(input_fn, steps=1)["global_step"] == 2
    predictions = estimator.predict(input_fn)  # its session stays open until the test returns
    assert next(predictions).shape == (1,)

def test_canned_estimator_and_train_and_evaluate(make_estimator):
    x = tf.feature_column.numeric_column("x")
    estimator = make_estimator(tf.estimator.LinearRegressor, feature_columns=[x])
    train_spec = tf.estimator.TrainSpec(input_fn, max_steps=2)
    tf.estimator.train_and_evaluate(estimator, train_spec, tf.estimator.EvalSpec(input_fn, steps=1))
    assert estimator.get_variable_value("global_step") == 2

def test_recreates_an_estimator_on_its_own_dir(model_dir):
    train(model_dir, steps=2)
    assert train(model_dir, steps=1).get_variable_value("global_step") == 3

def test_only_reads_the_session_fixture(trained_dir):
    estimator = tf.estimator.Estimator(model_fn, model_dir=trained_dir)
    next(estimator.predict(input_fn))
    estimator.get_variable_value("w")
    assert estimator.latest_checkpoint().endswith("model.ckpt-3")
    assert estimator.evaluate(input_fn, steps=1)["global_step"] == 3

def test_fine_tunes_a_copy_of_the_session_fixture(trained_dir, copy_model_dir):
    assert train(copy_model_dir(trained_dir)).get_variable_value("global_step") == 4
"""

LEAKS = """
import os
from pathlib import Path

import pytest
from conftest import input_fn, model_fn, train
import tensorflow as tf

@pytest.fixture(scope="module")
def module_model():
    return train("module_model")

def test_fine_tunes_the_session_fixture_in_place(trained_dir):
    train(trained_dir)

def test_shared_first(tmp_path_factory):
    train(str(tmp_path_factory.getbasetemp() / "shared_model"), steps=3)

def test_shared_second(tmp_path_factory):
    estimator = train(str(tmp_path_factory.getbasetemp() / "shared_model"), steps=3)
    assert estimator.get_variable_value("global_step") == 6  # the silent warm start

def test_no_model_dir():
    train(None)

def test_relative_dir():
    train("relative_model")

def test_tilde_dir():
    train("~/tilde_model")

def test_absolute_dir():
    train(os.path.abspath("absolute_model"))

def test_pathlib_dir():
    train(Path("pathlib_model").absolute())

def test_symlink_from_tmp_path_to_cwd(tmp_path):
    Path("linked_model").mkdir(exist_ok=True)
    (tmp_path / "link").symlink_to(Path("linked_model").absolute(), target_is_directory=True)
    train(str(tmp_path / "link"))

def test_symlink_from_cwd_to_tmp_path(tmp_path):
    link = Path(f"link_to_tmp_{os.getpid()}")
    link.symlink_to(tmp_path, target_is_directory=True)
    train(str(link))

def test_evaluates_only():
    tf.estimator.Estimator(model_fn, model_dir="evaluated_model").evaluate(input_fn, steps=1)

def test_fixed_dir_under_the_system_temp_dir():
    import tempfile

    train(os.path.join(tempfile.gettempdir(), "fixed_model"))  # not pytest's: it outlives the run

def test_a_mkdtemp_dir():
    import tempfile

    train(os.path.join(tempfile.mkdtemp(), "model"))  # made by this run: temporary

def test_uses_module_model(module_model):
    assert module_model.model_dir == "module_model"

def test_uses_module_model_too(module_model):
    pass
"""

# (test, code, message) in the order they run; every other test must pass clean.
FLAGGED = [
    (
        "test_fine_tunes_the_session_fixture_in_place",
        "EI202 stale-checkpoint",
        "trains */trained0/model in place: its checkpoint model.ckpt-3 was written by "
        "fixture 'trained_dir' (session scope, conftest)*",
    ),
    (
        "test_shared_second",
        "EI201 shared-model-dir",
        "trains */shared_model, which test_2_leaks.py::test_shared_first trained earlier in this run*",
    ),
    ("test_relative_dir", "EI203 persistent-model-dir", "wrote into relative_model (= */relative_model), outside*"),
    (
        "test_tilde_dir",
        "EI203 persistent-model-dir",
        "wrote into ~/tilde_model (= */~/tilde_model) (TensorFlow does not expand '~')*",
    ),
    ("test_absolute_dir", "EI203 persistent-model-dir", "wrote into */absolute_model, outside*"),
    ("test_pathlib_dir", "EI203 persistent-model-dir", "wrote into */pathlib_model, outside*"),
    (
        "test_symlink_from_tmp_path_to_cwd",
        "EI203 persistent-model-dir",
        "wrote into */link (= */linked_model), outside*",
    ),
    ("test_evaluates_only", "EI203 persistent-model-dir", "wrote into evaluated_model (= */evaluated_model), outside*"),
    (
        "test_fixed_dir_under_the_system_temp_dir",
        "EI203 persistent-model-dir",
        "wrote into */systmp/fixed_model, outside*",
    ),
    (
        "test_uses_module_model_too",
        "EI203 persistent-model-dir",
        "wrote into module_model (= */module_model), outside*",
    ),
]


@pytest.fixture
def estimator_suite(pytester, monkeypatch):
    """The suite above, run from a directory outside the inner run's temporary directories (pytester's
    own directory is under the system temp dir, so the inner run gets a TMPDIR of its own)."""
    systmp = pytester.mkdir("systmp")
    monkeypatch.setenv("TMPDIR", str(systmp))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_1_clean=CLEAN, test_2_leaks=LEAKS)
    return pytester


@requires_estimator
def test_model_dir_leaks_fail_in_strict_and_warn_in_warn_mode(estimator_suite, run_pytest):
    result = run_pytest("--estimator-isolation", "-p", "no:xdist")
    result.assert_outcomes(passed=20, errors=len(FLAGGED))
    lines = []
    for test, code, what in FLAGGED:
        lines += [f"*ERROR at teardown of {test} *", f"{code}: {what}"]
    result.stdout.fnmatch_lines(lines)
    result.stdout.fnmatch_lines(["  owner: fixture 'module_model' (module scope, test_2_leaks.py)"])
    result.stdout.fnmatch_lines(
        [
            "*EstimatorIsolationWarning: EI204 temp-model-dir: Estimator created without a model_dir: "
            "TensorFlow made */systmp/tmp* and never removes it",
            "*created at conftest.py:* in train",
        ]
    )
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_uses_module_model *")
    result.stdout.no_fnmatch_line("*EI101*")  # Estimator's own sessions are closed by it
    assert result.ret == 1

    # Again, warning only; the dirs left in the working directory now hold checkpoints from the first run.
    result = run_pytest("--estimator-isolation=warn", "-p", "no:xdist")
    result.assert_outcomes(passed=20)
    result.stdout.fnmatch_lines_random(
        [f"*EstimatorIsolationWarning: {code}: {what}" for _, code, what in FLAGGED]
        + [
            "*EstimatorIsolationWarning: EI204 temp-model-dir:*",
            "*EstimatorIsolationWarning: EI202 stale-checkpoint: trains relative_model, which already held "
            "checkpoint model.ckpt-1 from before this run: it silently warm-starts from it",
        ]
    )
    assert result.ret == 0


@requires_estimator
@requires_xdist
def test_a_dir_shared_across_xdist_workers_flags_exactly_the_later_test(pytester, run_pytest):
    """Two files on two workers train one dir under the run's basetemp root; a file barrier makes sure
    they run on different workers and in a known order."""
    pytester.makeconftest(
        CONFTEST
        + """
import time

def shared(tmp_path_factory):
    return tmp_path_factory.getbasetemp().parent  # under xdist: the root above popen-gwN

def wait_for(path):
    deadline = time.time() + 120
    while not path.exists():
        assert time.time() < deadline, f"{path} never appeared: both tests ran on one worker?"
        time.sleep(0.05)
"""
    )
    pytester.makepyfile(
        test_a="""
        from conftest import shared, train, wait_for

        def test_a(tmp_path_factory):
            wait_for(shared(tmp_path_factory) / "b.started")
            train(str(shared(tmp_path_factory) / "shared_model"), steps=3)
            (shared(tmp_path_factory) / "a.trained").touch()
        """,
        test_b="""
        from conftest import shared, train, wait_for

        def test_b(tmp_path_factory):
            (shared(tmp_path_factory) / "b.started").touch()
            wait_for(shared(tmp_path_factory) / "a.trained")
            estimator = train(str(shared(tmp_path_factory) / "shared_model"), steps=3)
            assert estimator.get_variable_value("global_step") == 6
        """,
    )
    result = run_pytest("--estimator-isolation", "-n", "2", "--dist", "loadfile", "-rE")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_b *",
            "EI201 shared-model-dir: trains */shared_model, which test_a.py::test_a (xdist worker gw*) "
            "trained earlier in this run*",
        ]
    )
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_a *")


@requires_estimator
def test_half_read_predict_generator_kept_alive_does_not_cascade(pytester, run_pytest):
    """Estimator.predict() runs inside TF's graph_mode(): a suspended generator kept past the test
    leaves a graph context and the thread's graph mode; cleanup must undo both."""
    pytester.makepyfile(
        """
        import tensorflow as tf

        kept = []

        def input_fn():
            return tf.data.Dataset.from_tensor_slices(({"x": [[1.0], [2.0]]}, [[2.0], [4.0]])).batch(2)

        def test_keeps_generator(model_dir):
            est = tf.estimator.LinearRegressor([tf.feature_column.numeric_column("x")], model_dir=model_dir)
            est.train(input_fn, steps=1)
            predictions = est.predict(input_fn)
            next(predictions)
            kept.append(predictions)

        def test_victim():
            assert tf.executing_eagerly()
        """
    )
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*EI104 graph-context*"])


@requires_estimator
def test_the_plugins_estimator_wrappers_stay_out_of_the_users_traceback_and_logs(pytester, run_pytest):
    """A failing ``train`` shows the user's call then TF's frames, not the plugin's wrappers; and TF's
    deprecation log names the user's line as the caller of ``Estimator.__init__``."""
    pytester.makepyfile(
        """
        import tensorflow as tf

        def model_fn(features, labels, mode):
            raise ValueError("model_fn says no")

        def input_fn():
            return tf.data.Dataset.from_tensors(({"x": [1.0]}, [1.0]))

        def test_train_fails(tmp_path):
            estimator = tf.estimator.Estimator(model_fn=model_fn, model_dir=str(tmp_path))
            estimator.train(input_fn, steps=1)
        """
    )
    result = run_pytest("--estimator-isolation", "--tb=long", "-o", "log_level=WARNING")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ValueError: model_fn says no", "*From *test_*.py:10: Estimator.__init__ *"])
    result.stdout.no_fnmatch_line("*pytest_estimator_isolation*")


RANKING = """
import os
import shutil
import tempfile

import tensorflow as tf
from absl.testing import parameterized
from conftest import input_fn, model_fn, train


class PipelineTest(tf.test.TestCase, parameterized.TestCase):
    \"\"\"tensorflow/ranking's pipeline_test: one fixed dir under the system temp dir, removed after each case.\"\"\"

    def setUp(self):
        super().setUp()
        self._model_dir = os.path.join(tempfile.gettempdir(), "pipeline_model")
        os.makedirs(self._model_dir, exist_ok=True)

    def tearDown(self):
        shutil.rmtree(self._model_dir, ignore_errors=True)
        super().tearDown()

    @parameterized.named_parameters(("one", 1), ("two", 2), ("three", 3))
    def test_train(self, steps):
        self.assertEqual(train(self._model_dir, steps).get_variable_value("global_step"), steps)


def wide_model_fn(features, labels, mode):
    w = tf.compat.v1.get_variable("w", shape=[1, 3])  # another architecture than model_fn's [1, 1]
    loss = tf.reduce_mean(tf.matmul(features["x"], w))
    step = tf.compat.v1.train.get_or_create_global_step()
    train_op = tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(loss, global_step=step)
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def test_trains_a_model(tmp_path_factory):
    train(str(tmp_path_factory.getbasetemp() / "trained_model"))


def test_warm_starts_another_architecture_from_it(tmp_path, tmp_path_factory):
    settings = tf.estimator.WarmStartSettings(str(tmp_path_factory.getbasetemp() / "trained_model"))
    estimator = tf.estimator.Estimator(wide_model_fn, model_dir=str(tmp_path), warm_start_from=settings)
    estimator.train(input_fn, steps=1)


def test_trains_another_architecture_in_its_dir(tmp_path_factory):
    estimator = tf.estimator.Estimator(wide_model_fn, model_dir=str(tmp_path_factory.getbasetemp() / "trained_model"))
    estimator.train(input_fn, steps=1)
"""


@requires_estimator
def test_a_removed_checkpoint_is_nobodys_and_a_failed_restore_names_who_wrote_it(pytester, run_pytest, monkeypatch):
    """Issue 30 item 8 (tensorflow/ranking's pipeline_test gave 5 false EI201s), and issue 28 item 4."""
    monkeypatch.setenv("TMPDIR", str(pytester.mkdir("systmp")))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_ranking=RANKING)
    result = run_pytest("--estimator-isolation", "-rA")
    result.assert_outcomes(passed=4, failed=2, errors=2, skipped=1)  # skipped: TestCase.test_session
    result.stdout.fnmatch_lines_random(
        [
            "PASSED test_ranking.py::PipelineTest::test_train_one",
            "PASSED test_ranking.py::PipelineTest::test_train_two",
            "PASSED test_ranking.py::PipelineTest::test_train_three",
        ]
    )
    written = "estimator-isolation: */trained_model* was written by test_ranking.py::test_trains_a_model, earlier in this run"
    result.stdout.fnmatch_lines(
        [
            "*_ test_warm_starts_another_architecture_from_it _*",
            "E  *ValueError: Shape of variable w:0 ((1, 3)) doesn't match with shape of tensor w (*",
            f"E  *{written}",  # in the exception itself (Python 3.11+)
        ]
    )
    result.stdout.fnmatch_lines(["*_ test_trains_another_architecture_in_its_dir _*", "*- estimator isolation -*", written])
    result.stdout.fnmatch_lines(
        [
            "EI205 shared-training-state: warm-starts from */trained_model (Estimator), which "
            "test_ranking.py::test_trains_a_model wrote earlier in this run: it resumes from that state",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "EI201 shared-model-dir: trains */trained_model, which test_ranking.py::test_trains_a_model trained "
            "earlier in this run: it silently warm-starts from that checkpoint",
        ]
    )
    result.stdout.no_fnmatch_line("*EI203*")
