"""EI201-EI204: Estimator model_dirs. Two Estimators on one model_dir raise nothing: training on a dir
that already holds a checkpoint silently warm-starts from it (global_step 3 + 3 = 6), so a test's result
depends on what ran before it, in this run (EI201, EI202) or in an earlier one (EI202, EI203).

Every ``Estimator.__init__``, ``train`` and ``evaluate`` is recorded in the scope that runs it. Who
trained a dir first is kept run-wide: in memory, or under pytest-xdist in a small append-only file in the
run's basetemp root, shared by the workers. Nothing is cleaned up: the plugin never deletes a directory
it did not create."""

from __future__ import annotations

import itertools
import json
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .. import _sites, _tf, problems, scopes
from ..calls import check_hook
from ..leaks import Leak, LeakKind, Site
from ..scopes import Scope
from . import RunInfo

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

KINDS = (SHARED_MODEL_DIR, STALE_CHECKPOINT, PERSISTENT_MODEL_DIR, TEMP_MODEL_DIR)



@dataclass(frozen=True)
class _Claim:
    """One scope's first training of a dir, as the run-wide registry lists it."""

    owner: str
    kind: str
    worker: str
    token: int


@dataclass
class _Use:
    """A dir that one scope trained or evaluated, as first seen there."""

    path: str  # as the Estimator was given it
    real: str  # where TF writes it (resolved when first used: a relative path depends on the cwd)
    stack: tuple[Site, ...]
    persistent: bool
    first: _Claim | None = None  # who trained it first in this run, once this scope trains it
    checkpoint: str | None = None  # the checkpoint it held when this scope first trained it
    from_before_run: bool = False  # ... and that checkpoint was written before this run started


_USES = pytest.StashKey[dict[str, _Use]]()
_TEMPS = pytest.StashKey[list[tuple[str, tuple[Site, ...]]]]()
_TOKEN = pytest.StashKey[int]()
_STATE = re.compile(r'^model_checkpoint_path:\s*"(.*)"', re.MULTILINE)
# Directories pytest numbers per run or per worker: left out of a dir's order-independent name.
_RUN_DIRS = re.compile(r"pytest-of-.*|pytest-\d+|pytest-current|popen-gw\d+")


class _Registry:
    """Run-wide: which scope trained each dir first. Appends are atomic (O_APPEND, one small write), so
    the first line for a dir is the first claim in every worker's eyes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.memory: dict[str, _Claim] = {}

    def claim(self, key: str, mine: _Claim) -> _Claim:
        if self.path is not None:
            try:
                return self._claim_in_file(self.path, key, mine)
            except (OSError, ValueError) as exc:
                problems.report(f"model_dir registry {self.path} unusable, checking this worker only: {exc!r}")
                self.path = None
        return self.memory.setdefault(key, mine)

    @staticmethod
    def _claim_in_file(path: Path, key: str, mine: _Claim) -> _Claim:
        line = json.dumps([key, mine.owner, mine.kind, mine.worker, mine.token]) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        with open(path, encoding="utf-8") as lines:
            for text in lines:  # lines up to ours are complete: stop at the first one for this dir
                entry = json.loads(text)
                if entry[0] == key:
                    return _Claim(*entry[1:])
        return mine


def _local(path: str) -> str | None:
    """The real path TF writes to (TF does not expand ``~``), or None for a URL such as ``gs://``."""
    return None if not path or "://" in path else os.path.realpath(path)


def _under(real: str, roots: Sequence[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _checkpoint(real: str) -> tuple[str, float] | None:
    """The latest checkpoint a dir holds, by its state file, and when that file last changed."""
    state = os.path.join(real, "checkpoint")
    try:
        stat = os.stat(state)
        with open(state, encoding="utf-8", errors="replace") as file:
            found = _STATE.search(file.read())
    except OSError:
        return None
    name = os.path.basename(found.group(1)) if found else "checkpoint"
    # ctime: a copy (copy_model_dir) keeps the old mtime but is new; on Windows ctime is creation time.
    return name, max(stat.st_mtime, stat.st_ctime)


class ModelDirsCheck:
    """``temp_roots``: where pytest and the system keep temporary directories (a dir outside them
    persists); ``registry``: the file xdist workers share to know who trained a dir first (None: this
    process only); ``worker``: this xdist worker's id ("" without xdist); ``rootdir``: what a dir outside
    the temp roots is named relative to, in baselines."""

    name = "estimator_isolation.model_dirs"

    def __init__(
        self, temp_roots: Sequence[str], registry: Path | None = None, worker: str = "", rootdir: str = "."
    ) -> None:
        self._started = time.time()
        self._roots = tuple(os.path.realpath(root) for root in temp_roots)
        self._rootdir = os.path.realpath(rootdir)
        self._registry = _Registry(registry)
        self._worker = worker
        self._tokens = itertools.count()
        _tf.instrument_estimators(self._created, self._trained, self._evaluated)

    # ---------------------------------------------------------------- recording (inside Estimator calls)

    def _created(self, estimator: Any, temporary: bool) -> None:
        scope = scopes.current()
        if scope is not None and temporary:
            scope.stash.setdefault(_TEMPS, []).append((str(estimator.model_dir), _sites.user_stack()))

    def _use(self, estimator: Any) -> tuple[Scope, _Use] | None:
        scope = scopes.current()
        path = str(estimator.model_dir)
        real = None if scope is None else _local(path)
        if scope is None or real is None:
            return None
        uses = scope.stash.setdefault(_USES, {})
        use = uses.get(real)
        if use is None:
            use = uses[real] = _Use(path, real, _sites.user_stack(), persistent=not _under(real, self._roots))
        return scope, use

    def _evaluated(self, estimator: Any) -> None:
        self._use(estimator)

    def _trained(self, estimator: Any) -> None:
        found = self._use(estimator)
        if found is None or found[1].first is not None:
            return  # not in a scope, or this scope trained the dir already: its own checkpoint
        scope, use = found
        checkpoint = _checkpoint(use.real)
        if checkpoint is not None:
            use.checkpoint = checkpoint[0]
            use.from_before_run = checkpoint[1] < self._started
        token = scope.stash.setdefault(_TOKEN, next(self._tokens))
        use.first = self._registry.claim(use.real, _Claim(scope.owner, scope.kind, self._worker, token))

    def _subject(self, real: str) -> str:
        """A dir's name that is the same in every run, worker and test order: relative to the temp root
        it is under (``<tmp>/...``, without pytest's numbered run and worker dirs) or to the rootdir."""
        for root in sorted(self._roots, key=len, reverse=True):
            if _under(real, (root,)):
                parts = Path(os.path.relpath(real, root)).parts
                while parts and _RUN_DIRS.fullmatch(parts[0]):
                    parts = parts[1:]
                return "/".join(("<tmp>", *parts))
        if _under(real, (self._rootdir,)):
            return Path(os.path.relpath(real, self._rootdir)).as_posix()
        return Path(real).as_posix()

    # ---------------------------------------------------------------- judging

    @check_hook()
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        uses = scope.stash.get(_USES, None)
        temps = scope.stash.get(_TEMPS, None)
        if not uses and not temps:
            return []
        leaks = [leak for use in (uses or {}).values() for leak in self._judge(scope, use)]
        for path, stack in temps or ():
            what = f"Estimator created without a model_dir: TensorFlow made {path} and never removes it"
            leaks.append(Leak(TEMP_MODEL_DIR, scope.owner, what, stack[0] if stack else None, stack))
        for records in (uses, temps):
            if records:
                records.clear()
        return leaks

    def _judge(self, scope: Scope, use: _Use) -> list[Leak]:
        def leak(kind: LeakKind, what: str, **keys: Any) -> Leak:
            return Leak(kind, scope.owner, what, use.stack[0] if use.stack else None, use.stack, **keys)

        leaks = []
        first, token = use.first, scope.stash.get(_TOKEN, None)
        if first is not None and (first.worker, first.token) != (self._worker, token):
            by = first.owner + (f" (xdist worker {first.worker})" if first.worker != self._worker else "")
            if first.kind == "fixture" and use.checkpoint is not None:
                what = f"trains {use.path} in place: its checkpoint {use.checkpoint} was written by {by}"
                what += "; training warm-starts from it and changes it for later tests"
                leaks.append(leak(STALE_CHECKPOINT, what))
            else:
                what = f"trains {use.path}, which {by} trained earlier in this run"
                # Which of the two is flagged depends on order: the baseline keys it by dir and both tests.
                keys = {"subject": self._subject(use.real), "others": (first.owner,)}
                leaks.append(leak(SHARED_MODEL_DIR, what + ": it silently warm-starts from that checkpoint", **keys))
        elif use.from_before_run:
            what = f"trains {use.path}, which already held checkpoint {use.checkpoint} from before this run"
            # A persistent dir's checkpoint from the last run: what its EI203 causes, covered by its baseline.
            cause = PERSISTENT_MODEL_DIR.name if use.persistent else ""
            leaks.append(leak(STALE_CHECKPOINT, what + ": it silently warm-starts from it", covered_by=cause))
        if use.persistent:
            shown = use.path if use.real == use.path else f"{use.path} (= {use.real})"
            tilde = " (TensorFlow does not expand '~')" if use.path.startswith("~") else ""
            what = f"wrote into {shown}{tilde}, outside pytest's temporary directories"
            leaks.append(leak(PERSISTENT_MODEL_DIR, what))
        return leaks


REGISTRY_NAME = "estimator-isolation-model-dirs.jsonl"


def temp_roots(run: RunInfo) -> list[str]:
    """Where this run's temporary directories live: the system's, pytest's debug root, the basetemp."""
    roots = (tempfile.gettempdir(), os.environ.get("PYTEST_DEBUG_TEMPROOT"), run.basetemp)
    return [str(root) for root in roots if root]


def make(run: RunInfo) -> ModelDirsCheck:
    # Under xdist, the workers share one registry file in the run's basetemp root.
    registry = run.basetemp / REGISTRY_NAME if run.worker and run.basetemp is not None else None
    return ModelDirsCheck(temp_roots(run), registry, run.worker, run.rootdir)
