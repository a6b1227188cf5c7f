"""EI205-EI208: training state on disk in today's TensorFlow (tf.train.Checkpoint and CheckpointManager,
Keras models, weights, ModelCheckpoint and BackupAndRestore, SavedModels, event files read back), on TF 2.15
(Keras 2) and TF 2.21 (Keras 3). Each inner run holds many scenarios: importing TF costs seconds.

The pairs below are symmetric (each test resumes from what is there, then saves), so whichever runs second
shares the other's state: exactly one of the two is flagged in any order and on any xdist worker."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest
from helpers import requires_randomly, requires_tf, requires_xdist

pytestmark = requires_tf

CONFTEST = """
import os
import time

import numpy as np
import pytest
import tensorflow as tf

keras = tf.keras
X = np.ones((4, 2), "float32")
Y = np.ones((4, 1), "float32")


def shared(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base  # one dir for every xdist worker


def ckpt_train(directory, steps=1):
    v = tf.Variable(0.0)
    ckpt = tf.train.Checkpoint(v=v)
    manager = tf.train.CheckpointManager(ckpt, directory, max_to_keep=2)
    ckpt.restore(manager.latest_checkpoint)  # resume if there is one
    v.assign_add(float(steps))
    manager.save()
    return float(v)


def model(units=1):
    m = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(units)])
    m.compile("sgd", "mse")
    return m


@pytest.fixture(scope="session")
def trained_ckpts(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("trained") / "ckpts")
    ckpt_train(directory, steps=3)
    return directory


@pytest.fixture(scope="module")
def trained_weights(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("weights") / "model.weights.h5")
    model().save_weights(path)
    return path


@pytest.fixture(autouse=True)
def pair_barrier(request, tmp_path_factory):
    # Under PAIRS_BARRIER, test_<x>_b starts only once test_<x>_a is done (they run on two workers).
    name = request.node.name
    if not os.environ.get("PAIRS_BARRIER") or not name.endswith(("_a", "_b")):
        yield
        return
    done = shared(tmp_path_factory) / f"{name[:-2]}.a.done"
    deadline = time.time() + 300
    while name.endswith("_b") and not done.exists():
        assert time.time() < deadline, f"{done} never appeared"
        time.sleep(0.05)
    yield
    if name.endswith("_a"):
        done.touch()
"""

# Symmetric pairs: test_<api>_a and test_<api>_b each start from what is there, then save.
PAIRS = """
import os

import pytest
import tensorflow as tf
from conftest import X, Y, ckpt_train, keras, model, shared


def test_manager_a(tmp_path_factory):
    ckpt_train(str(shared(tmp_path_factory) / "ckpts"))

def test_manager_b(tmp_path_factory):
    ckpt_train(str(shared(tmp_path_factory) / "ckpts"))


def write_or_read(path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    if os.path.exists(path + ".index"):
        ckpt.read(path).assert_consumed()
    ckpt.write(path)

def test_write_a(tmp_path_factory):
    write_or_read(str(shared(tmp_path_factory) / "written"))

def test_write_b(tmp_path_factory):
    write_or_read(str(shared(tmp_path_factory) / "written"))


def checkpointed(path):
    m = model()
    if os.path.exists(path):
        m.load_weights(path)
    m.fit(X, Y, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(path, save_weights_only=True)])

def test_weights_a(tmp_path_factory):
    checkpointed(str(shared(tmp_path_factory) / "cp.weights.h5"))

def test_weights_b(tmp_path_factory):
    checkpointed(str(shared(tmp_path_factory) / "cp.weights.h5"))


def saved(path):
    m = keras.models.load_model(path) if os.path.exists(path) else model()
    m.fit(X, Y, epochs=1, verbose=0)
    m.save(path)

def test_model_a(tmp_path_factory):
    saved(str(shared(tmp_path_factory) / "model.keras"))

def test_model_b(tmp_path_factory):
    saved(str(shared(tmp_path_factory) / "model.keras"))


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise RuntimeError("interrupted")

def backed_up(path):
    callbacks = [keras.callbacks.BackupAndRestore(path), Interrupt()]
    if os.path.exists(path):  # a backup an interrupted fit left: this fit resumes at epoch 1
        model().fit(X, Y, epochs=2, verbose=0, callbacks=callbacks)
    else:
        with pytest.raises(RuntimeError):
            model().fit(X, Y, epochs=2, verbose=0, callbacks=callbacks)

def test_backup_a(tmp_path_factory):
    backed_up(str(shared(tmp_path_factory) / "backup"))

def test_backup_b(tmp_path_factory):
    backed_up(str(shared(tmp_path_factory) / "backup"))


class Counter(tf.Module):
    def __init__(self):
        self.v = tf.Variable(1.0)

def exported(path):
    module = tf.saved_model.load(path) if os.path.exists(path) else Counter()
    module.v.assign_add(1.0)
    tf.saved_model.save(module, path)

def test_saved_model_a(tmp_path_factory):
    exported(str(shared(tmp_path_factory) / "exported"))

def test_saved_model_b(tmp_path_factory):
    exported(str(shared(tmp_path_factory) / "exported"))


def logged(logdir):
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default(step=0):
        tf.summary.write("loss", tf.constant(1.0))  # tf.summary.scalar needs TensorBoard, not installed with TF 2.21
    writer.close()
    files = [os.path.join(logdir, name) for name in sorted(os.listdir(logdir))]
    return sum(1 for path in files for _ in tf.compat.v1.train.summary_iterator(path))

def test_events_a(tmp_path_factory):
    logged(str(shared(tmp_path_factory) / "logs"))

def test_events_b(tmp_path_factory):
    logged(str(shared(tmp_path_factory) / "logs"))


def test_own_state_across_calls(tmp_path):
    assert ckpt_train(str(tmp_path / "ckpts")) == 1.0
    assert ckpt_train(str(tmp_path / "ckpts")) == 2.0
    m = model()
    m.save(str(tmp_path / "m.keras"))
    keras.models.load_model(str(tmp_path / "m.keras"))
    m.save_weights(str(tmp_path / "w.weights.h5"))
    m.load_weights(str(tmp_path / "w.weights.h5"))
    assert logged(str(tmp_path / "logs")) == 2  # TF's file_version event, and ours
    assert logged(str(tmp_path / "logs")) == 4

def test_temporary_directory():
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        assert ckpt_train(os.path.join(directory, "ckpts")) == 1.0
        assert ckpt_train(os.path.join(directory, "ckpts")) == 2.0
"""

PAIR_NAMES = ("manager", "write", "weights", "model", "backup", "saved_model", "events")

# In file order, the second of each pair is flagged, naming the first: (test, code, message).
SECOND = [
    ("test_manager_b", "EI205", "restores */ckpts/ckpt-1 (checkpoint), which test_pairs.py::test_manager_a wrote *"),
    ("test_write_b", "EI205", "restores */written (checkpoint), which test_pairs.py::test_write_a wrote *"),
    ("test_weights_b", "EI205", "loads */cp.weights.h5 (Keras weights), which test_pairs.py::test_weights_a wrote *"),
    ("test_model_b", "EI205", "loads */model.keras (Keras model), which test_pairs.py::test_model_a wrote *"),
    # Keras 2: a CheckpointManager in backup/chief; Keras 3: backup/latest.weights.h5
    ("test_backup_b", "EI205", "* */backup/*, which test_pairs.py::test_backup_a wrote earlier in this run*"),
    ("test_saved_model_b", "EI205", "loads */exported (SavedModel), which test_pairs.py::test_saved_model_a wrote *"),
    ("test_events_b", "EI208", "reads back the event file events.out.tfevents.* in */logs, which test_pairs.py::test_events_a wrote *"),
]


def _shared_findings(report: dict) -> Counter[tuple[str, str]]:
    """(pair, code) -> how many tests of the pair were flagged; every finding must be on a pair."""
    found: Counter[tuple[str, str]] = Counter()
    for leak in report["leaks"]:
        test = leak["owner"].split("::")[-1]
        assert test.endswith(("_a", "_b")), leak
        found[(test[len("test_") : -2], leak["code"])] += 1
    return found


EXACTLY_ONE = Counter({(pair, "EI208" if pair == "events" else "EI205"): 1 for pair in PAIR_NAMES})


@pytest.fixture
def pairs(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_pairs=PAIRS)
    return pytester


def test_each_api_shared_by_two_tests_flags_the_second_and_names_the_first(pairs, run_pytest):
    result = run_pytest("--estimator-isolation", "--estimator-isolation-report=report.json", "-p", "no:xdist")
    result.assert_outcomes(passed=len(PAIR_NAMES) * 2 + 2, errors=len(PAIR_NAMES))
    lines = []
    for test, code, what in SECOND:
        lines += [f"*ERROR at teardown of {test} *", f"{code} *: {what}"]
    result.stdout.fnmatch_lines(lines)
    assert _shared_findings(json.loads((pairs.path / "report.json").read_text())) == EXACTLY_ONE


@requires_randomly
@pytest.mark.parametrize("seed", [1, 2])
def test_in_random_order_exactly_one_of_each_pair_is_flagged(pairs, run_pytest, seed):
    args = ("-p", "randomly", f"--randomly-seed={seed}", "-p", "no:xdist")
    result = run_pytest(*args, "--estimator-isolation=warn", "--estimator-isolation-report=report.json")
    result.assert_outcomes(passed=len(PAIR_NAMES) * 2 + 2)
    assert _shared_findings(json.loads((pairs.path / "report.json").read_text())) == EXACTLY_ONE


@requires_xdist
@requires_randomly
def test_across_two_xdist_workers_the_second_of_each_pair_is_flagged(pytester, run_pytest, monkeypatch):
    """The _a tests on one worker, the _b tests on the other (one file each, --dist loadfile), each _b test
    starting once its _a test is done: the workers share who wrote what through the registry file."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(pairs_impl=PAIRS)  # not collected itself: the two files below import its tests
    for side in "ab":
        names = ", ".join(f"test_{pair}_{side}" for pair in PAIR_NAMES)
        pytester.makepyfile(**{f"test_pairs_{side}": f"from pairs_impl import {names}  # noqa: F401"})
    monkeypatch.setenv("PAIRS_BARRIER", "1")
    args = ("-n", "2", "--dist", "loadfile", "-p", "randomly", "--randomly-seed=3")
    result = run_pytest(*args, "--estimator-isolation=warn", "--estimator-isolation-report=report.json")
    result.assert_outcomes(passed=len(PAIR_NAMES) * 2)
    report = json.loads((pytester.path / "report.json").read_text())
    assert _shared_findings(report) == EXACTLY_ONE
    assert {leak["owner"].split("::")[0] for leak in report["leaks"]} == {"test_pairs_b.py"}
    assert all("(xdist worker gw" in leak["what"] for leak in report["leaks"])


# The issue's reproduction: a fixed directory under the system temp dir, as many older suites have.
REPRODUCTION = """
import os
import tempfile

from conftest import ckpt_train

CKPT = os.path.join(tempfile.gettempdir(), "ckpts")

def test_three_steps():
    assert ckpt_train(CKPT, steps=3) == 3.0

def test_two_steps():
    assert ckpt_train(CKPT, steps=2) == 2.0  # fails after the first one: 5.0 == 2.0
"""


def test_the_issues_reproduction_names_the_test_that_wrote_the_checkpoint(pytester, run_pytest, monkeypatch):
    systmp = pytester.mkdir("systmp")
    monkeypatch.setenv("TMPDIR", str(systmp))  # the inner run's own system temp dir
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_reproduction=REPRODUCTION)

    result = run_pytest("-p", "no:estimator_isolation")  # without the plugin: a bare assert
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["E  *assert 5.0 == 2.0"])
    result.stdout.no_fnmatch_line("*test_three_steps wrote*")

    shutil.rmtree(systmp / "ckpts")  # what that run left (the hazard itself)
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=1, failed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_three_steps *",
            "EI207 persistent-training-state: saved checkpoint */systmp/ckpts/ckpt-1 outside this run's temporary "
            "directories, and left it: the next run finds it there",
            "*ERROR at teardown of test_two_steps *",
            "EI205 shared-training-state: restores */systmp/ckpts/ckpt-1 (checkpoint), which "
            "test_reproduction.py::test_three_steps wrote earlier in this run: it resumes from that state",
            "*_ test_two_steps _*",
            "E  *assert 5.0 == 2.0",
            "*- estimator isolation -*",
            "estimator-isolation: */systmp/ckpts/ckpt-1 was written by test_reproduction.py::test_three_steps, "
            "earlier in this run",
        ]
    )

    # The next run resumes from what this one left, and says so.
    result = run_pytest("--estimator-isolation=warn", "-k", "three")
    result.stdout.fnmatch_lines(
        [
            "*EI207 persistent-training-state: saved checkpoint */systmp/ckpts/ckpt-3 outside *: the next run finds it "
            "there; this test restored */systmp/ckpts/ckpt-2, which an earlier run left"
        ]
    )


SINGLES = """
import os
import shutil
import sys
import tempfile

import pytest
import tensorflow as tf
from conftest import X, Y, ckpt_train, keras, model


def test_reads_the_fixture_checkpoint(trained_ckpts):
    v = tf.Variable(0.0)
    tf.train.Checkpoint(v=v).restore(tf.train.latest_checkpoint(trained_ckpts)).assert_consumed()
    assert float(v) == 3.0

def test_trains_a_copy_of_it(trained_ckpts, tmp_path):
    shutil.copytree(trained_ckpts, tmp_path / "copy")
    assert ckpt_train(str(tmp_path / "copy")) == 4.0

def test_trains_it_in_place(trained_ckpts):
    ckpt_train(trained_ckpts)

def test_loads_the_fixture_weights(trained_weights):
    model().load_weights(trained_weights)

def test_overwrites_the_fixture_weights(trained_weights):
    model().save_weights(trained_weights)


def test_writes_a_vector(tmp_path_factory):
    tf.train.Checkpoint(v=tf.Variable([1.0, 2.0])).write(str(tmp_path_factory.getbasetemp() / "vector"))

def test_reads_it_into_another_shape(tmp_path_factory):
    tf.train.Checkpoint(v=tf.Variable([1.0, 2.0, 3.0])).read(str(tmp_path_factory.getbasetemp() / "vector"))

def test_reads_it_under_another_name(tmp_path_factory):
    status = tf.train.Checkpoint(w=tf.Variable([1.0, 2.0])).read(str(tmp_path_factory.getbasetemp() / "vector"))
    status.assert_consumed()  # raises later than the read: the report still names the writer

def test_saves_a_keras_model(tmp_path_factory):
    model(1).save_weights(str(tmp_path_factory.getbasetemp() / "arch.weights.h5"))

def test_loads_it_into_another_architecture(tmp_path_factory):
    model(3).load_weights(str(tmp_path_factory.getbasetemp() / "arch.weights.h5"))


def test_fixed_dir_left_for_the_next_run():
    ckpt_train(os.path.join(tempfile.gettempdir(), "left"))

def test_fixed_dir_removed_by_the_test():
    directory = os.path.join(tempfile.gettempdir(), "removed")
    try:
        assert ckpt_train(directory) == 1.0
    finally:
        shutil.rmtree(directory)

def test_the_same_fixed_dir_removed_again():
    directory = os.path.join(tempfile.gettempdir(), "removed")
    try:
        assert ckpt_train(directory) == 1.0
    finally:
        shutil.rmtree(directory)

def test_tf_test_get_temp_dir_a():
    ckpt_train(os.path.join(tf.compat.v1.test.get_temp_dir(), "shared"))

@pytest.mark.allow_leaks("shared-training-state")
def test_tf_test_get_temp_dir_b():
    ckpt_train(os.path.join(tf.compat.v1.test.get_temp_dir(), "shared"))


class TestCase(tf.test.TestCase):
    def test_its_own_temp_dir(self):
        self.assertEqual(ckpt_train(os.path.join(self.get_temp_dir(), "ckpts")), 1.0)
"""

NOTE = "estimator-isolation: */{} was written by test_singles.py::{}, earlier in this run"


def test_fixture_state_failures_and_temporary_dirs(pytester, run_pytest, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(pytester.mkdir("systmp")))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_singles=SINGLES)
    result = run_pytest("--estimator-isolation", "--estimator-isolation-report=report.json", "-rA")
    result.assert_outcomes(passed=13, failed=3, errors=6, skipped=1)  # skipped: TestCase.test_session
    flagged = {
        leak["owner"].split("::")[-1]: (leak["code"], leak["what"], leak["outcome"])
        for leak in json.loads((pytester.path / "report.json").read_text())["leaks"]
    }
    assert {test: code for test, (code, _, _) in flagged.items()} == {
        "test_trains_it_in_place": "EI206",
        "test_overwrites_the_fixture_weights": "EI206",
        "test_reads_it_into_another_shape": "EI205",
        "test_reads_it_under_another_name": "EI205",
        "test_loads_it_into_another_architecture": "EI205",
        "test_fixed_dir_left_for_the_next_run": "EI207",
        "test_tf_test_get_temp_dir_b": "EI205",
    }
    assert flagged["test_tf_test_get_temp_dir_b"][2] == "allowed"
    result.stdout.fnmatch_lines(
        [
            "EI206 changed-fixture-state: restores */trained0/ckpts/ckpt-1 (checkpoint), which fixture 'trained_ckpts' "
            "(session scope, conftest) wrote for other tests to read, then saves checkpoint */trained0/ckpts/ckpt-2 "
            "in place: every later test reads what this one left",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "EI206 changed-fixture-state: saves Keras weights */weights0/model.weights.h5 over the one, which fixture "
            "'trained_weights' (module scope, conftest) wrote for other tests to read: *",
        ]
    )
    # Named at the point of failure: in the exception (Python 3.11+), else in the test's report.
    for test, wrote, writer, error in [
        ("test_reads_it_into_another_shape", "vector", "test_writes_a_vector", "when attempting to restore variable"),
        ("test_reads_it_under_another_name", "vector", "test_writes_a_vector", "Found 1 Python objects that were not"),
        ("test_loads_it_into_another_architecture", "arch.weights.h5", "test_saves_a_keras_model", "*"),
    ]:
        result.stdout.fnmatch_lines(
            [f"*_ {test} _*", f"E  * {error}*", "*- estimator isolation -*", NOTE.format(wrote, writer)]
        )
    result.stdout.fnmatch_lines(
        ["*ValueError: *", f"E  * {NOTE.format('vector', 'test_writes_a_vector')}"]
    )  # the exception's own note
    result.stdout.fnmatch_lines(
        ["EI207 persistent-training-state: saved checkpoint */systmp/left/ckpt-1 outside this run's temporary*"]
    )


EVENT_ACCUMULATOR = """
import os

import pytest
import tensorflow as tf

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def log_and_count(logdir, suffix):
    with tf.Graph().as_default():  # a v1 FileWriter, in graph mode (named by the second: a suffix of its own)
        writer = tf.compat.v1.summary.FileWriter(logdir, filename_suffix=suffix)
        value = tf.compat.v1.Summary.Value(tag="loss", simple_value=1.0)
        writer.add_summary(tf.compat.v1.Summary(value=[value]), global_step=1)
        writer.close()
    accumulator = event_accumulator.EventAccumulator(logdir)
    accumulator.Reload()
    return len(accumulator.Scalars("loss"))

def test_logs_a(tmp_path_factory):
    log_and_count(str(tmp_path_factory.getbasetemp() / "logs"), ".a")

def test_logs_b(tmp_path_factory):
    log_and_count(str(tmp_path_factory.getbasetemp() / "logs"), ".b")  # reads test_logs_a's file too

def test_logs_alone(tmp_path):
    assert log_and_count(str(tmp_path / "logs"), ".c") == 1
"""


def test_tensorboards_event_accumulator_on_a_shared_log_dir(pytester, run_pytest):
    """TensorBoard is installed with TF 2.15, not with tensorflow-cpu 2.21 (the inner tests skip there)."""
    pytester.makepyfile(test_events=EVENT_ACCUMULATOR)
    result = run_pytest("--estimator-isolation", "-rs")
    if "tensorboard" in result.stdout.str() and "SKIPPED" in result.stdout.str():
        result.assert_outcomes(skipped=1)
        return
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_logs_b *",
            "EI208 shared-log-dir: reads back the event file events.out.tfevents.* in */logs, which "
            "test_events.py::test_logs_a wrote earlier in this run: *",
        ]
    )
