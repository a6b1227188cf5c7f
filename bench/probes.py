"""What the benchmark measures outside the pytest runs: the cost of the plugin's TF patches on test bodies
(one process, paired differences), what an interpreter can import and which versions, and which plugin
sources the rows ran."""

from __future__ import annotations

import hashlib
import json
import subprocess
import textwrap
from pathlib import Path

from runner import environment

ROOT = Path(__file__).resolve().parent.parent

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
from pytest_estimator_isolation.checks import RunInfo, builtin

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
checks = builtin(RunInfo(rootdir="."))
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


# A save or restore of training state: what the training-state room's patches add to TF's own call. TF's
# calls take 1-20 ms and vary by more than 100 us from call to call, so the added part is timed by itself:
# what the wrappers do around the original call (read the path, call the room's listeners), on files a save
# left, each test in a scope of its own with a fresh directory (as tmp_path gives it) and judged after it,
# against the same loop without the calls. CPU time (process_time): the machine's other load inflates wall
# time. Run twice: the registry in memory (no xdist), and in the file xdist workers share. Also timed: one
# os.stat, to scale these to another machine (the first save in a test costs about 3 syscalls).
SAVE_ROUNDS = 3000
SAVE_PROBE = """
import itertools, json, os, statistics, sys, tempfile, time
from pathlib import Path
ROUNDS, SHARED = int(sys.argv[1]), sys.argv[2] == "xdist"
from pytest_estimator_isolation import scopes
from pytest_estimator_isolation._tf import saving
from pytest_estimator_isolation._tf._core import ask, emit
from pytest_estimator_isolation.checks import RunInfo
from pytest_estimator_isolation.checks.training_state import make

work = Path(tempfile.mkdtemp())
check = make(RunInfo(rootdir=".", basetemp=work, worker="gw0" if SHARED else ""))
find = type(check).pytest_estimator_isolation_find_leaks.__wrapped__
clock = time.process_time
loops = itertools.count()

def save(api, path):
    path = saving.local_path(path)
    emit("state_saving", api, path)
    emit("state_saved", api, path)

def restore(api, path):
    ask("state_restoring", api, saving.local_path(path))

def loop(call, api, per_test):
    tests = []  # a fresh dir per test, holding what a save left there
    for i in range(ROUNDS // per_test):
        directory = work / f"loop{next(loops)}" / "ckpts"
        directory.mkdir(parents=True)
        names = [f"ckpt-{n}" if api == saving.CHECKPOINT else f"w{n}.weights.h5" for n in range(per_test)]
        for name in names:
            (directory / (name + ".index" if api == saving.CHECKPOINT else name)).write_bytes(b"x")
        tests.append([str(directory / name) for name in names])
    start = clock()
    for i, paths in enumerate(tests):
        scope = scopes.Scope(f"bench::test_{i}", "test")
        scopes.push(scope)
        if call is not None:
            for path in paths:
                call(api, path)
        scopes.pop(scope)
        find(check, scope)
    return (clock() - start) / ROUNDS

out = {}
for label, call, api in (
    ("a checkpoint save (Checkpoint.save/write, CheckpointManager)", save, saving.CHECKPOINT),
    ("a checkpoint restore", restore, saving.CHECKPOINT),
    ("a Keras save_weights / ModelCheckpoint", save, saving.KERAS_WEIGHTS),
    ("a Keras load_weights", restore, saving.KERAS_WEIGHTS),
):
    for per_test in (1, 10):
        loop(call, api, per_test)  # warm-up
        runs = [loop(call, api, per_test) - loop(None, api, per_test) for _ in range(3)]
        which = "the first in a test" if per_test == 1 else "one of 10 in a test"
        out[f"{label}: {which}"] = statistics.median(runs)
start = clock()
for _ in range(ROUNDS):
    os.stat(work)
out["one os.stat, for scale"] = (clock() - start) / ROUNDS
print(json.dumps(out))
"""


def save_overhead(python: Path, registry: str) -> dict[str, float] | None:
    """Seconds the training-state patches add to one save or restore, per kind of call (the first in a
    test, and one of ten); ``registry``: "memory" (no xdist) or "xdist" (the file the workers share)."""
    command = [str(python), "-c", SAVE_PROBE, str(SAVE_ROUNDS), registry]
    proc = subprocess.run(command, capture_output=True, text=True, env=environment())
    if proc.returncode != 0:
        return None
    return {label: float(value) for label, value in json.loads(proc.stdout.strip().splitlines()[-1]).items()}


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
