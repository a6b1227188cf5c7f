"""Benchmarks for pytest-estimator-isolation (stdlib only). From the repo root:

    .venv/bin/python bench/run.py            # the full run (11-16 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick    # a smoke run (2-4 minutes)

It generates synthetic suites in a temp dir and times them side by side, interleaving the
configurations within every repeat, then prints a markdown table of medians and ratios. Only numbers
from one invocation compare: the absolute times depend on the machine and on what else runs on it.
The fork-isolation rows need bench/.venv-fork (see bench/README.md); rows whose tools are missing are
skipped with a note.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FORK_PYTHON = ROOT / "bench" / ".venv-fork" / "bin" / "python"
PYTEST = ("-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider")
NO_PLUGIN = ("-p", "no:estimator_isolation")
# The strict rows also write the JSON report: its check_seconds give each check's own cost.
REPORT = "bench-report.json"
HOOKS = "all per-test hooks, checks included (JSON hook_seconds)"
STRICT = ("--estimator-isolation=strict", f"--estimator-isolation-report={REPORT}")
FORK_TOOLS = (("pytest_forked", "forked", "--forked"), ("pytest_isolate", "isolate", "--isolate"))
SKIPPABLE = ("no-tf", "tf", "fresh", "fork", "memory", "floor")
# The floor rows: strict with the built-in checks swapped for as many no-op checks, or for none (the
# suite's conftest does it, BENCH_CHECKS): what the per-test hooks cost before any check does any work.
FLOORS = (("strict, no-op checks", "noop", "as many no-op checks"), ("strict, no checks", "none", "no checks"))
PLAIN_RUNS = 5  # runs of each no-TF row per repeat

# --------------------------------------------------------------------------- the synthetic suites

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
    builtin = [name for name, _ in manager.list_name_plugin() if name.startswith("estimator_isolation.")]
    builtin = [name for name in builtin if name != "estimator_isolation.kinds"]
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


# The bench suite's graph and session test bodies, timed with and without the plugin's TF patches (what
# runs inside TF calls: graph contexts, sessions, mode switches), with its checks listening and each body
# in a test scope of its own. One process; each body runs twice in a row, with and without the patches in
# random order (each patch keeps the original as __wrapped__), and the median of those paired differences
# is the patches' cost. Timing rounds of bodies instead resolved only about +-50 us. The own clock (JSON
# hook_seconds) does not see this part.
PATCH_ROUNDS = 1500
PATCH_PROBE = """
import json, random, statistics, sys, time
ROUNDS = int(sys.argv[1])
import tensorflow as tf
from pytest_estimator_isolation import _tf, scopes
from pytest_estimator_isolation.checks import builtin

def graph(i):
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 4])
        w = tf.compat.v1.get_variable("w", [4, 2])
        y = tf.nn.relu(tf.matmul(x, w) + float(i))
        assert y.shape.as_list() == [None, 2]

def session(i):
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None])
        y = x * 2.0 + float(i)
        with tf.compat.v1.Session() as sess:
            sess.run(y, {x: [1.0]})

def timed(body, i):
    scope = scopes.Scope(f"bench::test_{i}", "test")
    scopes.push(scope)
    start = time.perf_counter()
    body(i)
    spent = time.perf_counter() - start
    scopes.pop(scope)
    return spent

_tf.install()
checks = builtin(temp_roots=["/tmp"], registry=None, worker="", rootdir=".", all_threads=False)
patches = []
for module in list(sys.modules.values()):
    names = getattr(module, "__dict__", None)
    if not isinstance(names, dict) or not str(names.get("__name__", "")).startswith("tensorflow"):
        continue
    for owner in [module, *(v for v in names.values() if isinstance(v, type))]:
        for name, value in list(vars(owner).items()):
            if getattr(value, "__estimator_isolation__", False) and (owner, name, value) not in patches:
                patches.append((owner, name, value))

def swap(on):
    for owner, name, value in patches:
        setattr(owner, name, value if on else value.__wrapped__)

rng = random.Random(0)
for i in range(20):  # warm-up
    timed(graph, i), timed(session, i)
diffs = {"graph": [], "session": []}
plain = {"graph": [], "session": []}
for r in range(ROUNDS):  # each body twice in a row, with and without the patches, in random order
    for kind, body in (("graph", graph), ("session", session)):
        first = rng.random() < 0.5
        spent = {}
        for on in (first, not first):
            swap(on)
            spent[on] = timed(body, r)
        diffs[kind].append(spent[True] - spent[False])
        plain[kind].append(spent[False])
swap(True)

def se(values):  # standard error of a median, from the interquartile range (robust to outliers)
    q = statistics.quantiles(values, n=4)
    return 1.2533 * (q[2] - q[0]) / 1.349 / len(values) ** 0.5

# Per body: the mean of the two kinds' medians (the bench suite alternates graph and session tests).
extra = statistics.mean(statistics.median(d) for d in diffs.values())
error = sum(se(d) ** 2 for d in diffs.values()) ** 0.5 / len(diffs)
base = statistics.mean(statistics.median(p) for p in plain.values())
print(json.dumps([extra, error, base, len(patches)]))
"""


def patch_overhead(python: Path) -> tuple[float, float, float] | None:
    """Seconds the plugin's TF patches add to a graph or session test body (median of paired
    differences), its standard error, and the body's median time without them."""
    command = [str(python), "-c", PATCH_PROBE, str(PATCH_ROUNDS)]
    proc = subprocess.run(command, capture_output=True, text=True, env=environment())
    if proc.returncode != 0:
        return None
    extra, error, plain, _count = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(extra), float(error), float(plain)


# --------------------------------------------------------------------------- running

METRICS = ("wall", "cpu", "loop")  # wall and CPU seconds of the run; seconds in pytest's test loop


@dataclass
class Row:
    suite: str
    label: str
    env: str
    python: Path
    args: tuple[str, ...] = ()
    nodeids: dict[str, list[str]] | None = None  # "fresh interpreter" rows: kind -> sampled test ids
    counts: dict[str, int] | None = None  # ... and how many tests of each kind the suite has
    memory: bool = False
    runs: dict[str, list[float]] = field(default_factory=lambda: {metric: [] for metric in METRICS})
    rss: list[dict[str, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    checks: list[dict[str, float]] = field(default_factory=list)  # seconds per check, per run
    extra_env: dict[str, str] = field(default_factory=dict)  # added to the run's environment


def environment() -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE would make every run compile the plugin (and pytest) from source, which an
    # installed package never does: ~10 ms of the plugin's start-up that no user pays.
    dropped = ("PYTEST_ADDOPTS", "PYTEST_ESTIMATOR_ISOLATION", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pytest_run(
    python: Path, cwd: Path, args: tuple[str, ...], env: dict[str, str]
) -> tuple[dict[str, Any], str | None]:
    """One pytest run: its wall and CPU seconds (CPU suffers less from other load on the machine), and
    what the suite's conftest measured: the seconds of the test loop alone (no interpreter start, TF
    import or collection: the least noisy view of a per-test overhead) and RSS."""
    out = cwd / "bench-out.json"
    out.unlink(missing_ok=True)
    (cwd / REPORT).unlink(missing_ok=True)
    cpu, start = cpu_of_children(), time.perf_counter()
    command = [str(python), *PYTEST, *args]
    proc = subprocess.run(command, cwd=cwd, env={**env, "BENCH_OUT": str(out)}, capture_output=True, text=True)
    measured = {"wall": time.perf_counter() - start, "cpu": cpu_of_children() - cpu}
    measured.update(json.loads(out.read_text()) if out.exists() else {"loop": NAN})
    if (cwd / REPORT).exists():
        data = json.loads((cwd / REPORT).read_text())
        measured["checks"] = {**data.get("check_seconds", {}), HOOKS: data.get("hook_seconds", NAN)}
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        return measured, f"exit {proc.returncode}: " + " | ".join(tail)
    return measured, None


def run_row(row: Row, cwd: Path, env: dict[str, str]) -> None:
    if row.nodeids is not None and row.counts is not None:
        # One fresh interpreter per test on a sample of each kind, scaled to the whole suite.
        total = dict.fromkeys(METRICS, 0.0)
        for kind, ids in row.nodeids.items():
            sample = []
            for nodeid in ids:
                measured, error = pytest_run(row.python, cwd, (*row.args, nodeid), env)
                sample.append(measured)
                if error:
                    row.failures.append(f"{nodeid}: {error}")
            for metric in METRICS:
                total[metric] += statistics.mean(m[metric] for m in sample) * row.counts[kind]
        for metric in METRICS:
            row.runs[metric].append(total[metric])
        return
    measured, error = pytest_run(row.python, cwd, row.args, {**env, **row.extra_env})
    for metric in METRICS:
        row.runs[metric].append(measured[metric])
    if error:
        row.failures.append(error)
    if row.memory and "rss_final" in measured:
        row.rss.append(measured)
    if "checks" in measured and not row.memory:
        row.checks.append(measured["checks"])


def probe(python: Path, modules: list[str]) -> dict[str, str | None]:
    """Which of these modules the interpreter can import (without importing them), and versions."""
    code = textwrap.dedent(
        """
        import importlib.util, importlib.metadata, json, sys
        out = {"python": sys.version.split()[0]}
        for name in sys.argv[1:]:
            try:
                out[name] = importlib.util.find_spec(name) and "yes"
            except Exception:
                out[name] = None
        for dist in ("pytest", "tensorflow", "tensorflow-cpu", "tensorflow-estimator"):
            try:
                out["v:" + dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                out["v:" + dist] = None
        print(json.dumps(out))
        """
    )
    if not python.exists():
        return {}
    proc = subprocess.run([str(python), "-c", code, *modules], capture_output=True, text=True)
    return json.loads(proc.stdout) if proc.returncode == 0 else {}


def plugin_revision() -> str:
    """The repo's commit, and whether the plugin's files differ from it (read-only git calls)."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "pytest_estimator_isolation")
    return commit + (" + uncommitted changes" if dirty else "")


def plugin_fingerprint() -> str:
    """A hash of the plugin's sources: other work in the same tree must not change them mid-run."""
    digest = hashlib.sha1()
    for path in sorted((ROOT / "pytest_estimator_isolation").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def tf_version(info: dict[str, str | None]) -> str | None:
    return info.get("v:tensorflow") or info.get("v:tensorflow-cpu")


# --------------------------------------------------------------------------- the report


NAN = float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else NAN


def own_clock(
    by: dict[tuple[str, str, str], Row], n_tf: int, n_plain: int, patches: tuple[float, float, float] | None
) -> list[str]:
    """The targets read from the plugin's own clock (JSON ``hook_seconds``: its time in every per-test
    hook, the checks included), which resolves what wall differences of a few % cannot. Not on it:
    pluggy calling those hooks, and the TF calls the plugin wraps (session creation, Estimator calls)."""
    lines = []
    for suite, n, label in (("tf", n_tf, "TF suite"), ("no-tf", n_plain, "no-TF suite")):
        row = by.get((suite, "strict", "main"))
        if row is None or not row.checks or row.failures:
            continue
        spent = median([run.get(HOOKS, NAN) for run in row.checks])
        loop = median(row.runs["loop"])
        lines.append(_budget_row(f"{label}: the plugin's hooks (own clock), strict row", spent / n, n, loop))
        if suite == "tf" and patches is not None:
            extra = patches[0]
            lines.append(_budget_row("TF suite: the plugin's TF patches (graph/session bodies)", extra, n, loop))
            lines.append(_budget_row("TF suite: hooks + patches", spent / n + extra, n, loop))
        for label, _, what in FLOORS if suite == "tf" else ():
            floor = by.get((suite, label, "main"))
            if floor is not None and floor.checks and not floor.failures:
                spent = median([run.get(HOOKS, NAN) for run in floor.checks])
                name = f"floor: the hooks with the built-in checks swapped for {what} (own clock)"
                lines.append(_budget_row(name, spent / n, n, median(floor.runs["loop"])))
    if lines:
        head = "| target: <= 100 us per test and <= 1 % of the test loop | per test | whole suite | share | met |"
        lines = ["", head, "| --- | --- | --- | --- | --- |", *lines]
    return lines


def _budget_row(name: str, per_test: float, n: int, loop: float) -> str:
    met = "yes" if per_test <= 100e-6 and per_test * n <= loop / 100 else "**no**"
    return (
        f"| {name} | {per_test * 1e6:.1f} us per test | {per_test * n * 1000:.1f} ms in all "
        f"| {per_test * n / loop * 100:.2f} % of the test loop | {met} |"
    )


def report(
    rows: list[Row],
    sizes: dict[str, int],
    notes: list[str],
    machine: list[str],
    patches: tuple[float, float, float] | None = None,
) -> str:
    by = {(row.suite, row.label, row.env): row for row in rows}

    def med(suite: str, label: str, env: str = "main", metric: str = "wall") -> float:
        row = by.get((suite, label, env))
        return NAN if row is None or row.failures else median(row.runs[metric])

    lines = ["Machine:", "", *(f"- {line}" for line in machine), ""]
    lines.append("| suite | configuration | env | wall | wall range | wall vs no plugin | CPU | test loop | runs |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if row.memory:
            continue
        wall, cpu, loop = (median(row.runs[metric]) for metric in METRICS)
        low, high = min(row.runs["wall"]), max(row.runs["wall"])
        note = (" (extrapolated)" if row.nodeids else "") + (f" ({len(row.failures)} failed)" if row.failures else "")
        ratio = wall / med(row.suite, "no plugin")
        lines.append(
            f"| {row.suite} | {row.label} | {row.env} | {wall:.2f} s{note} | {low:.2f}-{high:.2f} | {ratio:.3f}x "
            f"| {cpu:.2f} s | {loop:.3f} s | {len(row.runs['wall'])} |"
        )

    n_tf, n_plain = sizes["tf"], sizes["no-tf"]

    def over(suite: str, label: str, base: str, scale: float) -> Callable[[str], float]:
        return lambda metric: (med(suite, label, metric=metric) - med(suite, base, metric=metric)) * scale

    def paired(suite: str, label: str, base: str, scale: float) -> Callable[[str], float]:
        """The median of run-by-run differences: the two rows run back to back, so a slow spell of the
        machine hits both runs of a pair (medians of each row apart move by +-15 ms here)."""

        def value(metric: str) -> float:
            row, other = by.get((suite, label, "main")), by.get((suite, base, "main"))
            if row is None or other is None or row.failures or other.failures:
                return NAN
            return median([a - b for a, b in zip(row.runs[metric], other.runs[metric])]) * scale

        return value

    targets = [  # name, format, limit, f(metric) -> value (NaN when a row did not run)
        (
            "TF suite: strict vs off <= +1 %",
            "{:+.1f} %",
            1,
            lambda metric: (med("tf", "strict", metric=metric) / med("tf", "off", metric=metric) - 1) * 100,
        ),
        (
            "TF suite: (strict - off) / N <= 100 us per test",
            "{:+.0f} us",
            100,
            over("tf", "strict", "off", 1_000_000 / n_tf),
        ),
        (
            f"no-TF suite ({n_plain} tests): plugin on - no plugin <= 20 ms (median of paired runs)",
            "{:+.0f} ms",
            20,
            paired("no-tf", "strict", "no plugin", 1000),
        ),
    ]
    for tool in ("forked", "isolate"):
        targets += [
            (
                f"strict (main env) <= 0.9x {tool} (fork env)",
                "{:.3f}x",
                0.9,
                lambda metric, tool=tool: med("tf", "strict", metric=metric) / med("tf", tool, "fork", metric),
            ),
            (
                f"strict <= 0.9x {tool}, both in the fork env",
                "{:.3f}x",
                0.9,
                lambda metric, tool=tool: med("tf", "strict", "fork", metric) / med("tf", tool, "fork", metric),
            ),
        ]
    lines += ["", "| target | wall | CPU | test loop | met (wall) |", "| --- | --- | --- | --- | --- |"]
    for name, fmt, limit, value in targets:
        wall = value("wall")
        if wall == wall:  # not NaN: the rows ran
            met = "yes" if wall <= limit else "**no**"
            lines.append(f"| {name} | {' | '.join(fmt.format(value(m)) for m in METRICS)} | {met} |")
    lines += own_clock(by, n_tf, n_plain, patches)
    plain = [row for row in rows if row.suite == "no-tf"]
    if plain:
        kept_out = "yes" if all(row.runs["wall"] and not row.failures for row in plain) else "**no**"
        lines.append(f"| no-TF suite: TensorFlow never imported (checked at sessionfinish) | | | | {kept_out} |")

    for row in rows:
        if row.checks and row.suite == "tf" and row.env == "main" and not row.extra_env:
            names = sorted({name for run in row.checks for name in run})
            head = f"| check ({row.label} row, JSON check_seconds) | per test | whole suite |"
            lines += ["", head, "| --- | --- | --- |"]
            for name in names:
                spent = median([run.get(name, 0.0) for run in row.checks])
                lines.append(f"| {name} | {spent / n_tf * 1e6:.1f} us | {spent * 1000:.1f} ms |")

    memory = [row for row in rows if row.memory and row.rss]
    if memory:
        lines += [
            "",
            f"| memory, {sizes['memory']} graph-building tests | RSS after test 1 | at the end | growth | peak "
            "| met (growth <= 50 MB) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
    for row in memory:
        first, final = median([r["rss_first"] for r in row.rss]), median([r["rss_final"] for r in row.rss])
        growth = median([r["rss_final"] - r["rss_first"] for r in row.rss])
        peak = median([r["rss_peak"] for r in row.rss])
        met = "yes" if growth <= 50 else "**no**"
        lines.append(f"| {row.label} | {first:.0f} MB | {final:.0f} MB | {growth:+.1f} MB | {peak:.0f} MB | {met} |")
    failures = [f"{row.suite}/{row.label}/{row.env} failed: {msg}" for row in rows for msg in row.failures[:2]]
    if notes or failures:
        lines += ["", "Notes:", "", *(f"- {note}" for note in notes + failures)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats: a smoke run")
    parser.add_argument("--tests", type=int, help="tests in the TF suite (300; quick 60)")
    parser.add_argument("--plain-tests", type=int, help="tests in the no-TF suite (300)")
    parser.add_argument("--fresh-tests", type=int, help="tests run in a fresh interpreter each (20; quick 4)")
    parser.add_argument("--memory-tests", type=int, help="graph-building tests for RSS (2000; quick 300)")
    parser.add_argument("--repeats", type=int, help="repeats of every row (3; quick 2); no-TF rows 5x this")
    parser.add_argument("--skip", action="append", default=[], choices=SKIPPABLE, help="leave out these rows")
    parser.add_argument("--keep", action="store_true", help="keep the generated suites")
    parser.add_argument("--python", type=Path, default=Path(sys.executable), help="env with TF and the plugin")
    parser.add_argument("--fork-python", type=Path, default=FORK_PYTHON, help="env with pytest 8.4 + fork tools")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.md")
    args = parser.parse_args()
    quick = args.quick
    n_tf = args.tests or (60 if quick else 300)
    n_plain = args.plain_tests or 300
    n_fresh = args.fresh_tests or (4 if quick else 20)
    n_memory = args.memory_tests or (300 if quick else 2000)
    repeats = args.repeats or (2 if quick else 3)

    tools = ["tensorflow", "tensorflow_estimator", "pytest_estimator_isolation", "pytest_forked", "pytest_isolate"]
    main_info, fork_info = probe(args.python, tools), probe(args.fork_python, tools)
    notes: list[str] = []
    has_tf = bool(main_info.get("tensorflow") and main_info.get("pytest_estimator_isolation"))
    has_est = bool(main_info.get("tensorflow_estimator"))
    if not main_info.get("pytest_estimator_isolation"):
        print(f"{args.python} cannot import pytest_estimator_isolation: install the repo there", file=sys.stderr)
        return 2
    machine = [
        f"CPUs: {os.cpu_count()}, {platform.machine()}, {platform.system()} {platform.release()}",
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"main env: {args.python} — Python {main_info.get('python')}, pytest {main_info.get('v:pytest')}, "
        f"TensorFlow {tf_version(main_info)}, tf.estimator {main_info.get('v:tensorflow-estimator')}",
        f"fork env: {args.fork_python} — "
        + (
            f"Python {fork_info.get('python')}, pytest {fork_info.get('v:pytest')}, TensorFlow {tf_version(fork_info)}"
            if fork_info
            else "missing"
        ),
        f"plugin: commit {plugin_revision()}",
        f"sizes: TF suite {n_tf} tests, no-TF suite {n_plain}, fresh-interpreter sample {n_fresh}, "
        f"memory suite {n_memory}; repeats {repeats} (no-TF rows {PLAIN_RUNS * repeats})",
    ]
    print("\n".join(machine), flush=True)

    work = Path(tempfile.mkdtemp(prefix="ei-bench-"))
    tf_dir, plain_dir, mem_dir = work / "tf", work / "plain", work / "memory"
    write_no_tf_suite(plain_dir, n_plain)
    py, fork_py = args.python, args.fork_python
    rows = [
        Row("no-tf", "no plugin", "main", py, NO_PLUGIN),
        Row("no-tf", "strict", "main", py, STRICT),
    ]
    if not has_tf:
        notes.append(f"TF rows skipped: {py} has no TensorFlow")
    else:
        if not has_est:
            notes.append("no tf.estimator in the main env: the TF suite has no Estimator tests")
        ids = write_tf_suite(tf_dir, n_tf, has_est)
        write_memory_suite(mem_dir, n_memory)
        counts = {kind: len(found) for kind, found in ids.items() if found}
        share = {k: max(1, round(n_fresh * c / n_tf)) for k, c in counts.items()}
        sample = {k: ids[k][:: max(1, counts[k] // share[k])][: share[k]] for k in counts}
        rows += [
            Row("tf", "no plugin", "main", py, NO_PLUGIN),
            Row("tf", "off", "main", py),
            Row("tf", "warn", "main", py, ("--estimator-isolation=warn",)),
            Row("tf", "strict", "main", py, STRICT),
            Row(
                "tf",
                f"fresh interpreter per test (sample of {sum(map(len, sample.values()))})",
                "main",
                py,
                nodeids=sample,
                counts=counts,
            ),
            *(Row("tf", label, "main", py, STRICT, extra_env={"BENCH_CHECKS": value}) for label, value, _ in FLOORS),
            Row("memory", "off", "main", py, memory=True),
            Row("memory", "strict", "main", py, STRICT, memory=True),
        ]
        fork_ok = bool(fork_info.get("tensorflow") and fork_info.get("pytest_estimator_isolation"))
        if not fork_ok:
            notes.append(f"fork-isolation rows skipped: no {args.fork_python} with TF + the plugin (bench/README.md)")
        else:
            rows += [Row("tf", "off", "fork", fork_py), Row("tf", "strict", "fork", fork_py, STRICT)]
            for module, label, flag in FORK_TOOLS:
                if fork_info.get(module):
                    rows.append(Row("tf", label, "fork", fork_py, (flag,)))
                else:
                    notes.append(f"{label} row skipped: {module} is not installed in {args.fork_python}")

    def group(row: Row) -> str:
        if row.extra_env:
            return "floor"
        return "fresh" if row.nodeids else "fork" if row.env == "fork" else row.suite

    rows = [row for row in rows if group(row) not in args.skip]
    notes.extend(f"{name} rows skipped (--skip)" for name in args.skip)
    notes.append(
        "env main = the interpreter running this script; env fork = bench/.venv-fork (pytest 8.4, since "
        "pytest-forked and pytest-isolate do not work on pytest 9.2)"
    )
    env = environment()
    cwd = {"tf": tf_dir, "no-tf": plain_dir, "memory": mem_dir}

    # Warm-up (untimed): fills the OS file cache and, in each env, anything compiled on first use.
    for row in rows:
        if row.nodeids is None and row.label in ("no plugin", "off"):
            run_row(Row(row.suite, "warm-up", row.env, row.python, row.args, memory=row.memory), cwd[row.suite], env)

    started, fingerprint = time.perf_counter(), plugin_fingerprint()
    for r in range(repeats):
        batch = [row for row in rows if row.suite != "no-tf"]
        shift = r % len(batch) if batch else 0
        batch = batch[shift:] + batch[:shift]  # a different order in every repeat
        for row in batch:
            print(f"[{r + 1}/{repeats}] {row.suite:6} {row.env:4} {row.label}", flush=True)
            run_row(row, cwd[row.suite], env)
        for k in range(PLAIN_RUNS):  # the no-TF rows are short and noisy: more runs
            plain = [row for row in rows if row.suite == "no-tf"]
            for row in plain if (r + k) % 2 else plain[::-1]:
                run_row(row, cwd[row.suite], env)
    if plugin_fingerprint() != fingerprint:
        notes.append("**the plugin's sources changed during the run: these rows mix two versions; run again**")
    notes.append(
        f"benchmark took {time.perf_counter() - started:.0f} s; "
        f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    notes.append(
        "fresh interpreter per test: a stratified sample run one `python -m pytest NODEID` each, "
        f"scaled to all {n_tf} tests per kind"
    )
    patches = None
    if has_tf and "tf" not in args.skip:
        print("TF patches: test bodies timed with and without them", flush=True)
        patches = patch_overhead(args.python)
        if patches is not None:
            notes.append(
                f"TF patches: +{patches[0] * 1e6:.1f} us (standard error {patches[1] * 1e6:.1f} us) per "
                f"graph/session test body of {patches[2] * 1e3:.3f} ms (median of {PATCH_ROUNDS} paired "
                "differences per kind, one process)"
            )
    text = report(rows, {"tf": n_tf, "no-tf": n_plain, "memory": n_memory}, notes, machine, patches)
    print("\n" + text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    if args.keep:
        print(f"suites kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
