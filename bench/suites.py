"""The synthetic suites the benchmark times: a TF suite (graph-building, session and a few Estimator tests),
a suite that never imports TensorFlow, and a memory suite of graph-building tests. Each gets a conftest that
measures the test loop (and RSS) and writes it to $BENCH_OUT."""

from __future__ import annotations

from pathlib import Path

TF_HEAD = """\
import tensorflow as tf


def input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": [[1.0], [2.0]]}, [[2.0], [4.0]])).batch(2).repeat()
"""
TESTS = {
    "graph": """
def test_graph_{i}():
    with tf.Graph().as_default() as graph:
        x = tf.compat.v1.placeholder(tf.float32, [None, 4])
        w = tf.compat.v1.get_variable("w", [4, 2])
        y = tf.nn.relu(tf.matmul(x, w) + {i}.0)
        assert y.shape.as_list() == [None, 2]
        assert len(graph.get_operations()) > 5
""",
    "session": """
def test_session_{i}():
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None])
        y = x * 2.0 + {i}.0
        with tf.compat.v1.Session() as sess:
            assert sess.run(y, {{x: [1.0]}})[0] == 2.0 + {i}.0
""",
    "estimator": """
def test_estimator_{i}(make_estimator):
    estimator = make_estimator(tf.estimator.LinearRegressor, feature_columns=[tf.feature_column.numeric_column("x")])
    estimator.train(input_fn, steps=1)
    assert estimator.get_variable_value("global_step") == 1
""",
}
COMMON_CONFTEST = """\
import json, os, sys, time

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
measured = {}  # written to $BENCH_OUT at the end of the session
at_finish = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session):
    # The test loop alone: no interpreter start, TF import or collection, the noisiest parts of a run.
    start = time.perf_counter()
    yield
    measured["loop"] = time.perf_counter() - start


def pytest_sessionfinish(session):
    for check in at_finish:
        check(session)
    if os.environ.get("BENCH_OUT"):
        with open(os.environ["BENCH_OUT"], "w") as file:
            json.dump(measured, file)
"""
TF_CONFTEST = (
    COMMON_CONFTEST
    + """

def pytest_configure(config):
    # The Estimator tests use the plugin's fixtures: without the plugin (-p no:...), load them alone.
    if not config.pluginmanager.has_plugin("estimator_isolation"):
        from pytest_estimator_isolation import fixtures
        config.pluginmanager.register(fixtures, "bench-fixtures")
    elif os.environ.get("BENCH_ENTRIES") == "settings":
        # The watched-state row: only the EI301 settings watched (before the tests import TF).
        from pytest_estimator_isolation._tf import entries
        entries.ENTRIES = tuple(e for e in entries.ENTRIES if e.kind == "global-config" and e.container is None)
    elif os.environ.get("BENCH_ENTRIES") == "no-containers":
        # The containers' rows: the table without its containers (issue 29).
        from pytest_estimator_isolation._tf import entries
        entries.ENTRIES = tuple(entry for entry in entries.ENTRIES if entry.container is None)
    elif os.environ.get("BENCH_CONTAINER_ITEMS"):
        # ... and with one more container of N items (a module of N globals, each with its setter).
        import types
        from pytest_estimator_isolation._tf import containers, entries
        module = types.ModuleType("bench_settings")
        n = int(os.environ["BENCH_CONTAINER_ITEMS"])
        source = "".join(f"_S{i} = {i}\\ndef set_s{i}(v):\\n    global _S{i}\\n    _S{i} = v\\n" for i in range(n))
        exec(source, vars(module))
        sys.modules[module.__name__] = module
        entries.ENTRIES += (containers.ModuleGlobals("bench settings", module.__name__).entry,)


def rss_mb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pytest_runtest_logfinish(nodeid):
    if "rss_first" not in measured:  # after the first test: TF is imported and its runtime is up
        measured["rss_first"] = rss_mb("VmRSS")


at_finish.append(lambda session: measured.update(rss_final=rss_mb("VmRSS"), rss_peak=rss_mb("VmHWM")))


class NoOpCheck:
    # BENCH_CHECKS=noop: a check that keeps one value per scope and finds nothing (the floor rows).
    KEY = pytest.StashKey()

    @pytest.hookimpl
    def pytest_estimator_isolation_snapshot(self, scope):
        scope.stash[self.KEY] = None

    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope):
        scope.stash.get(self.KEY, None)
        return []


def pytest_collection_finish(session):
    # The floor rows: the built-in checks (registered when the tests imported TF) swapped for as many
    # no-op checks, or for none; the plugin's hooks and pluggy's calls stay.
    wanted = os.environ.get("BENCH_CHECKS")
    manager = session.config.pluginmanager
    if wanted is None or not manager.has_plugin("estimator_isolation.graphs"):
        return
    from pytest_estimator_isolation.checks import MODULES

    builtin = [name for name in (f"estimator_isolation.{module}" for module in MODULES) if manager.has_plugin(name)]
    for name in builtin:
        manager.unregister(name=name)
    for i in range(len(builtin) if wanted == "noop" else 0):
        manager.register(NoOpCheck(), f"bench-noop-{i}")
"""
)
NO_TF_CONFTEST = (
    COMMON_CONFTEST
    + """

def tf_stayed_out(session):
    loaded = sorted(name for name in sys.modules if name.split(".")[0] == "tensorflow")
    if loaded:
        print("BENCH: TensorFlow was imported:", loaded[:3])
        session.exitstatus = 99


at_finish.append(tf_stayed_out)
"""
)
MEMORY_TEST = """
import pytest
import tensorflow as tf


@pytest.mark.parametrize("i", range({n}))
def test_build_graph(i):
    with tf.Graph().as_default() as graph:
        x = tf.compat.v1.placeholder(tf.float32, [None, 8])
        w = tf.compat.v1.get_variable("w", [8, 8])
        y = tf.reduce_sum(tf.nn.relu(tf.matmul(x, w) + float(i)))
        assert len(graph.get_operations()) > 5 and y.dtype == tf.float32
"""


def write_tf_suite(path: Path, n: int, estimators: bool) -> dict[str, list[str]]:
    """n tests, 25 a file: graph-building and session tests alternate, ~2% Estimator tests."""
    n_est = max(1, round(n * 0.02)) if estimators else 0
    every = n // n_est if n_est else 0
    ids: dict[str, list[str]] = {kind: [] for kind in TESTS}
    path.mkdir(parents=True)
    (path / "pytest.ini").write_text("[pytest]\n")
    (path / "conftest.py").write_text(TF_CONFTEST)
    for start in range(0, n, 25):
        name = f"test_tf_{start // 25:03d}.py"
        body = [TF_HEAD]
        for i in range(start, min(start + 25, n)):
            kind = "estimator" if every and i % every == every // 2 else ("graph" if i % 2 else "session")
            body.append(TESTS[kind].format(i=i))
            ids[kind].append(f"{name}::test_{kind}_{i}")
        (path / name).write_text("".join(body))
    return ids


def write_no_tf_suite(path: Path, n: int) -> None:
    path.mkdir(parents=True)
    (path / "pytest.ini").write_text("[pytest]\n")
    (path / "conftest.py").write_text(NO_TF_CONFTEST)
    for start in range(0, n, 25):
        tests = [f"def test_{i}():\n    assert {i} + 1 == {i + 1}\n\n" for i in range(start, min(start + 25, n))]
        (path / f"test_plain_{start // 25:03d}.py").write_text("\n".join(tests))


def write_memory_suite(path: Path, n: int) -> None:
    path.mkdir(parents=True)
    (path / "pytest.ini").write_text("[pytest]\n")
    (path / "conftest.py").write_text(TF_CONFTEST)
    (path / "test_memory.py").write_text(MEMORY_TEST.format(n=n))
