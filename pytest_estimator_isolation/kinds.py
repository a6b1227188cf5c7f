"""Every built-in kind of leak, one entry each: its code, name, meaning, fix, and the errors it causes
later. The README's leak table is this module, row for row. The checks import their kinds from here,
so a marker can name a kind before TensorFlow (and with it the checks) is loaded."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from .leaks import LeakKind

OPEN_SESSION = LeakKind(
    code="EI101",
    name="open-session",
    meaning="a tf.compat.v1.Session / InteractiveSession created by the test was not closed by it",
    fix="use `with tf.compat.v1.Session() as sess:` or the `tf_session` fixture, or call `sess.close()`",
    symptoms=("get_default_session", "InteractiveSession", "executing_eagerly", "closed Session"),
)
GRAPH_OPS = LeakKind(
    code="EI102",
    name="default-graph-ops",
    meaning="ops or variables were added to the global default graph (a later test sees them)",
    fix="build in a private graph: the `tf_graph` fixture or `with tf.Graph().as_default():`",
    symptoms=("already exists, disallowed", "Tensor must be from the same graph"),
    compared=True,
)
GRAPH_FINALIZED = LeakKind(
    code="EI103",
    name="finalized-default-graph",
    meaning="the global default graph was finalized (later tests cannot add ops to it)",
    fix="finalize only a private graph (`tf_graph` fixture), never tf.compat.v1.get_default_graph()",
    symptoms=("Graph is finalized and cannot be modified",),
    compared=True,
)
GRAPH_CONTEXT = LeakKind(
    code="EI104",
    name="graph-context",
    meaning="a graph.as_default() context was entered and never exited (later tests build in that graph)",
    fix="use `with graph.as_default():` so the context is always exited, or the `tf_graph` fixture",
    symptoms=("to clear nested graphs", "executing_eagerly", "must be from the same graph"),
    compared=True,
)
EAGER_MODE = LeakKind(
    code="EI105",
    name="eager-mode",
    meaning="the test switched TensorFlow's process-wide execution mode and left it switched",
    fix="build graph-mode code in a private graph (`tf_graph` fixture, `with tf.Graph().as_default():`); "
    "a graph-mode suite calls disable_eager_execution() once, in conftest.py",
    symptoms=("executing_eagerly", "eager execution", "numpy() is only available", "has no attribute 'numpy'"),
    compared=True,
)
TESTCASE_GRAPH = LeakKind(
    code="EI106",
    name="testcase-default-graph",
    meaning="(tidied) a tf.test.TestCase built in, or finalized, the default graph TF gives it; TF resets it "
    "at the next TestCase's setUp, the plugin right after the test, so a plain test that follows starts clean",
    fix="nothing to fix: this is TensorFlow's own contract",
    severity="info",
    pollutes=False,
)
KERAS_SESSION = LeakKind(
    code="EI107",
    name="keras-session",
    meaning="(tidied) Keras' own cached graph-mode session, left by model.fit/predict; cleared "
    "(keras.backend.clear_session) and closed after the test",
    fix="nothing to fix; `keras_clean` or --estimator-isolation-keras-reset do the same explicitly",
    severity="info",
    pollutes=False,
)
TF_SESSION = LeakKind(
    code="EI108",
    name="tf-internal-session",
    meaning="(tidied) a Session TensorFlow made inside an Estimator call that failed (e.g. restoring an "
    "incompatible checkpoint) and never closed: TF's own bug, closed after the test",
    fix="fix the failure itself (the test already reports it); the session is not yours to close",
    severity="info",
    pollutes=False,
)

_WRONG_CHECKPOINT = ("Restoring from checkpoint failed", "not found in checkpoint", "do not have the same shape")

SHARED_MODEL_DIR = LeakKind(
    code="EI201",
    name="shared-model-dir",
    meaning="the test trains a model_dir that an earlier test trained in this run: it silently warm-starts "
    "from that checkpoint, so its result depends on test order and xdist scheduling",
    fix="give each test its own directory: the `model_dir` or `make_estimator` fixture, or `tmp_path`",
    symptoms=_WRONG_CHECKPOINT,
    cleanable=False,
)
STALE_CHECKPOINT = LeakKind(
    code="EI202",
    name="stale-checkpoint",
    meaning="the test trains in place a checkpoint it did not write (a wider-scoped fixture's, or one left "
    "by an earlier run): training silently warm-starts from it and changes it for whoever reads it next",
    fix="fine-tune a copy (`copy_model_dir` fixture), or warm-start a fresh `model_dir` with "
    "tf.estimator.WarmStartSettings",
    symptoms=_WRONG_CHECKPOINT,
    cleanable=False,
)
PERSISTENT_MODEL_DIR = LeakKind(
    code="EI203",
    name="persistent-model-dir",
    meaning="train or evaluate wrote into a model_dir outside pytest's temporary directories: it outlives "
    "the run, and the next run warm-starts from it",
    fix="use the `model_dir` fixture, or a directory under `tmp_path` / `tmp_path_factory`",
    symptoms=_WRONG_CHECKPOINT,
    cleanable=False,
)
TEMP_MODEL_DIR = LeakKind(
    code="EI204",
    name="temp-model-dir",
    meaning="an Estimator was created without a model_dir: TensorFlow made a tempfile.mkdtemp() directory "
    "that nobody removes",
    fix="pass a model_dir: the `model_dir`, `run_config` or `make_estimator` fixture",
    severity="warning",
    cleanable=False,
    pollutes=False,
)
OPEN_WRITER = LeakKind(
    code="EI401",
    name="open-summary-writer",
    meaning="a summary writer the test opened was not closed: it keeps its event file open (and, for "
    "tf.compat.v1.summary.FileWriter, an EventLoggerThread running) for the rest of the process",
    fix="`with tf.compat.v1.summary.FileWriter(logdir) as writer:` or `writer.close()`; for "
    "tf.summary.create_file_writer, `writer.close()` or let the writer go out of scope",
    symptoms=("Too many open files",),
)
CACHED_WRITER = LeakKind(
    code="EI402",
    name="cached-summary-writer",
    meaning="(tidied) TensorFlow's FileWriterCache kept summary writers the test's Estimator calls made (one open "
    "event file and one thread each, for the life of the process); not the test's fault",
    fix="nothing to do: the plugin closes them after the test (the `model_dir` / `make_estimator` fixtures "
    "do too); without the plugin call tf.compat.v1.summary.FileWriterCache.clear() in a fixture teardown",
    severity="info",
)
TF_THREAD = LeakKind(
    code="EI403",
    name="tf-thread",
    meaning="a TensorFlow thread (queue runner, coordinator, event logger, ...) started by the test is still "
    "running after it",
    fix="stop what started it: `coord.request_stop(); coord.join(threads)` for queue runners, close the "
    "writer or session that owns it",
    symptoms=("Too many open files", "can't start new thread"),
    cleanable=False,
)
OPEN_FILE = LeakKind(
    code="EI404",
    name="open-file",
    meaning="a file inside the test's log or tmp_path directories is still open after the test",
    fix="close it (a `with` block), or close the TF object that holds it (writer, session, dataset iterator)",
    severity="warning",
    symptoms=("Too many open files",),
    cleanable=False,
)
THREAD = LeakKind(
    code="EI405",
    name="thread",
    meaning="(opt-in: --estimator-isolation-threads=all) a thread started by the test is still running after it",
    fix="join the thread (or shut down the executor that runs it) before the test returns",
    severity="warning",
    cleanable=False,
)
GLOBAL_CONFIG = LeakKind(
    code="EI301",
    name="global-config",
    meaning="a global TensorFlow/Keras setting was changed and not restored (later tests run with it)",
    fix="save the old value and set it back in a try/finally or in a fixture's teardown (as monkeypatch "
    "does), or set it once for the whole suite in conftest.py",
    symptoms=("float16", "float64"),
    compared=True,
)
GLOBAL_SEED = LeakKind(
    code="EI302",
    name="global-seed",
    meaning="(tidied, strict mode) tf.random.set_seed() left set: later tests would be deterministic only in "
    "this order; the previous global seed is put back after the test",
    fix="nothing to fix: seed at the start of each test that needs it (pytest-randomly reseeds TF for you)",
    severity="info",
    pollutes=False,
    tidy_in_warn=False,
)
ENVIRONMENT = LeakKind(
    code="EI303",
    name="environment",
    meaning="an environment variable TensorFlow reads at call time (TF_CONFIG) was set or changed and not "
    "restored: every later RunConfig() / cluster resolver reads it (an Estimator becomes a worker in a cluster)",
    fix="`monkeypatch.setenv('TF_CONFIG', ...)` (or `monkeypatch.delenv`), which puts it back after the test",
    symptoms=("TF_CONFIG", "cluster", "task_type", "worker"),
    compared=True,
)
SUMMARY_STATE = LeakKind(
    code="EI304",
    name="summary-state",
    meaning="tf.summary state was left set: a default writer (writer.set_as_default()), the default step "
    "(tf.summary.experimental.set_step) or tf.summary.record_if(...) left entered; later summaries go there",
    fix="`with writer.as_default(step):` and `with tf.summary.record_if(...):`, or set_step(None) in a try/finally",
    symptoms=("summary", "Resource", "does not exist", "step"),
    compared=True,
)
OPEN_SCOPE = LeakKind(
    code="EI305",
    name="open-scope",
    meaning="a scope was entered and never exited (tf.name_scope, tf.device, a tf.distribute strategy's "
    "scope(), tf.distribute.experimental_set_strategy): later tests build inside it",
    fix="use a `with` block so the scope is always exited; experimental_set_strategy(None) in a finally",
    symptoms=("name_scope", "device", "strategy", "Mixing different tf.distribute.Strategy objects"),
    compared=True,
)
BEHAVIOUR_SWITCH = LeakKind(
    code="EI306",
    name="behaviour-switch",
    meaning="a TF1/TF2 behaviour switch was flipped and left so (disable_v2_behavior, disable_tensor_equality, "
    "disable_v2_tensorshape, disable_control_flow_v2, disable_resource_variables, NumPy behaviour, "
    "asynchronous execution, log_device_placement): every later test runs with it",
    fix="flip it once for the whole suite in conftest.py, or put it back in a try/finally or a fixture's teardown",
    symptoms=("Tensor is unhashable", "TensorShape", "Dimension", "RefVariable", "has no attribute 'T'", "cond"),
    compared=True,
)
REGISTRY = LeakKind(
    code="EI307",
    name="registry",
    meaning="a process-wide registry was changed and not restored: Keras custom objects (get_custom_objects(), "
    "a custom_object_scope left entered) or absl / tf.compat.v1.flags flag values",
    fix="`with keras.utils.custom_object_scope(...):`; for flags, absl.testing.flagsaver "
    "(`@flagsaver.flagsaver` or `with flagsaver.flagsaver(name=value):`) or monkeypatch.setattr(FLAGS, ...)",
    symptoms=("Unknown layer", "Unknown object", "custom_objects", "flag"),
    compared=True,
)
IRREVERSIBLE = LeakKind(
    code="EI308",
    name="irreversible-state",
    meaning="the test changed process-wide state TensorFlow cannot undo in-process (tf.data debug mode, a "
    "started tf.distribute.Server, visible devices, memory growth, thread pools): every later test in this "
    "process runs with it",
    fix="run that test in a process of its own: a separate pytest invocation (`pytest path::test`), or "
    "pytest-forked's @pytest.mark.forked on pytest 8 (pytest-forked 1.7.5 fails every test on pytest 9.2)",
    cleanable=False,
    compared=True,
)
CHECK_ERROR = LeakKind(
    code="EI900",
    name="check-error",
    meaning="a check crashed (usually: this TensorFlow version changed an internal the check reads); the "
    "test is not silently passed",
    fix="report it to pytest-estimator-isolation with the TF version; opt the test out meanwhile",
    cleanable=False,
    pollutes=False,
)

BUILTIN: tuple[LeakKind, ...] = (
    OPEN_SESSION,
    GRAPH_OPS,
    GRAPH_FINALIZED,
    GRAPH_CONTEXT,
    EAGER_MODE,
    TESTCASE_GRAPH,
    KERAS_SESSION,
    TF_SESSION,
    SHARED_MODEL_DIR,
    STALE_CHECKPOINT,
    PERSISTENT_MODEL_DIR,
    TEMP_MODEL_DIR,
    GLOBAL_CONFIG,
    GLOBAL_SEED,
    ENVIRONMENT,
    SUMMARY_STATE,
    OPEN_SCOPE,
    BEHAVIOUR_SWITCH,
    REGISTRY,
    IRREVERSIBLE,
    OPEN_WRITER,
    CACHED_WRITER,
    TF_THREAD,
    OPEN_FILE,
    THREAD,
    CHECK_ERROR,
)


class BuiltinKinds:
    """Declares the built-in kinds from the start, before the checks themselves are loaded."""

    @pytest.hookimpl
    def pytest_estimator_isolation_kinds(self) -> Sequence[LeakKind]:
        return BUILTIN
