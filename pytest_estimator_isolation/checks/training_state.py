"""EI201-EI208: training state on disk, shared between tests or left for the next run. TensorFlow and Keras
raise nothing when a test starts from state another test left: an Estimator trained on a model_dir that
holds a checkpoint silently warm-starts from it (global_step 3 + 3 = 6), ``tf.train.CheckpointManager`` and
``BackupAndRestore`` resume from it, ``load_weights`` loads it. So a test's result depends on what ran
before it, in this run or in an earlier one.

What is recorded, in the scope (test or wider fixture) that runs it: every Estimator ``__init__``,
``train`` and ``evaluate``; every save and restore of a TF checkpoint, a SavedModel, a Keras model or
weights file (:mod:`.._tf.saving`); every event file a summary writer makes, and every read of event files
back. Who wrote what is kept run-wide: in memory, or under pytest-xdist in a small append-only file in the
run's basetemp root that the workers share.

The rules, the same for every API:

- A *family* is where one training run's state lives: an Estimator's model_dir, a SavedModel's directory,
  a Keras file, a checkpoint prefix without its ``-N`` number (``ckpts/ckpt`` for ``ckpts/ckpt-1``, ...,
  as ``CheckpointManager`` and ``Checkpoint.save`` number them). The first scope to use a family in the
  run *claims* it.
- A save is remembered with the version (mtime, size) of the file that marks it (``<prefix>.index``, the
  Keras file, the model_dir's ``checkpoint`` state file). State is *still there* while that file has that
  version: a checkpoint an earlier test removed (``rmtree`` in its ``tearDown``) or that was rewritten since
  is nobody's.
- A test that restores state another test wrote in this run, that is still there, or that writes or trains
  in a family holding such state, shares it (EI201 for an Estimator's model_dir, EI205 otherwise, EI208 for
  event files read back) -- unless it claimed the family first: of two tests sharing a family, the one
  that came second is named, in any order and on any xdist worker.
- Writing in place state a wider-scoped fixture wrote is EI202 / EI206; reading it is fine.
- State written outside this run's temporary directories (:mod:`.._tempdirs`) and still there when the
  scope ends outlives the run (EI203 / EI207).

Nothing is cleaned up: the plugin never deletes a directory it did not create, nor changes a user's file.
A restore of state another scope wrote adds a line to the running test's report if it fails, and to the
exception if the restore itself raises (:func:`..scopes.note`).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .. import _sites, _tempdirs, _tf, problems, scopes
from ..dispatch import check_hook
from ..leaks import Leak, LeakKind, Site
from ..scopes import Scope
from . import RunInfo

_KEPT = "The plugin never deletes or changes a directory it did not create: the checkpoint stays."
_KEPT_MANY = "The plugin never deletes or changes a directory it did not create: the {n} checkpoints stay."
_STAYS = "The plugin never deletes or changes a file or directory it did not create: the saved state stays."
_STAYS_MANY = "The plugin never deletes or changes a file or directory it did not create: the {n} saved states stay."

_WRONG_CHECKPOINT = ("Restoring from checkpoint failed", "not found in checkpoint", "do not have the same shape")
_WRONG_STATE = (
    *_WRONG_CHECKPOINT,
    "when attempting to restore variable",  # TF 2 checkpoints: a shape mismatch
    "Unresolved object in checkpoint",  # assert_consumed(): missing or renamed objects
    "could not be loaded",  # Keras 3 load_weights / load_model into another architecture
    "expected",  # Keras: "Layer 'dense' expected 2 variables, but received 0 variables during loading"
)

SHARED_MODEL_DIR = LeakKind(
    code="EI201",
    name="shared-model-dir",
    meaning="the test trains a model_dir that holds a checkpoint an earlier test wrote in this run: it "
    "silently warm-starts from that checkpoint, so its result depends on test order and xdist scheduling",
    fix="give each test its own directory: the `model_dir` or `make_estimator` fixture, or `tmp_path`",
    symptoms=_WRONG_CHECKPOINT,
    cleanable=False,
    left=(_KEPT, _KEPT_MANY),
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
    left=(_KEPT, _KEPT_MANY),
)
PERSISTENT_MODEL_DIR = LeakKind(
    code="EI203",
    name="persistent-model-dir",
    meaning="train or evaluate wrote into a model_dir outside this run's temporary directories (a fixed "
    "name under /tmp counts as outside) and left it there: it outlives the run, and the next run warm-starts "
    "from it",
    fix="use the `model_dir` fixture, or a directory under `tmp_path` / `tmp_path_factory`",
    symptoms=_WRONG_CHECKPOINT,
    cleanable=False,
    left=(_KEPT, _KEPT_MANY),
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
SHARED_STATE = LeakKind(
    code="EI205",
    name="shared-training-state",
    meaning="the test restored, loaded or resumed training state that another test wrote in this run (a "
    "tf.train.Checkpoint / CheckpointManager checkpoint, a Keras model or weights file, a BackupAndRestore "
    "backup, a SavedModel), or saved into a place holding it: its result depends on test order and xdist "
    "scheduling",
    fix="give each test its own directory (`tmp_path`); state several tests read goes in a wider-scoped "
    "fixture that writes it once (`tmp_path_factory`)",
    symptoms=_WRONG_STATE,
    cleanable=False,
    left=(_STAYS, _STAYS_MANY),
)
FIXTURE_STATE = LeakKind(
    code="EI206",
    name="changed-fixture-state",
    meaning="the test saved, in place, training state a wider-scoped fixture wrote for other tests to read "
    "(its checkpoint directory, its Keras model or weights file): every later test reads what this one left",
    fix="copy it first (`shutil.copytree` into `tmp_path`) and train the copy, or save to `tmp_path`",
    symptoms=_WRONG_STATE,
    cleanable=False,
    left=(_STAYS, _STAYS_MANY),
)
PERSISTENT_STATE = LeakKind(
    code="EI207",
    name="persistent-training-state",
    meaning="the test saved training state (a checkpoint, a Keras model or weights file, a SavedModel) "
    "outside this run's temporary directories (a fixed name under /tmp counts as outside) and left it "
    "there: it outlives the run, and the next run on this machine (or another xdist worker) starts from what it "
    "finds there",
    fix="save under `tmp_path` / `tmp_path_factory`, or in a `tempfile.TemporaryDirectory()`",
    symptoms=_WRONG_STATE,
    cleanable=False,
    left=(_STAYS, _STAYS_MANY),
)
SHARED_LOG_DIR = LeakKind(
    code="EI208",
    name="shared-log-dir",
    meaning="the test read back event files another test wrote in this run (summary_iterator, TensorBoard's "
    "EventAccumulator on a log dir both wrote into): what it reads depends on which tests ran before it",
    fix="give each test its own log dir (`tmp_path`), and read back only the event files it wrote",
    cleanable=False,
    left=(_STAYS, _STAYS_MANY),
)

KINDS = (
    SHARED_MODEL_DIR,
    STALE_CHECKPOINT,
    PERSISTENT_MODEL_DIR,
    TEMP_MODEL_DIR,
    SHARED_STATE,
    FIXTURE_STATE,
    PERSISTENT_STATE,
    SHARED_LOG_DIR,
)

ESTIMATOR, STATE, EVENTS = "Estimator", "state", "events"  # what a scope used a family for
_EVENT_FILE = "event file"
WARM_START = "Estimator warm start"


@dataclass(frozen=True)
class _Claim:
    """A scope, as the run-wide registry names it: who claimed a family first, who wrote a path."""

    owner: str
    kind: str  # "test" or "fixture"
    worker: str
    token: int  # this scope among the worker's scopes (a test run twice is two scopes)


@dataclass(frozen=True)
class _Write:
    """One save: ``path`` (real) written by ``by``, and the version of ``marker`` right after it."""

    path: str
    family: str
    by: _Claim
    marker: str
    version: tuple[int, int] | None  # (mtime_ns, size); None for an event file (appended to, never compared)
    api: str


@dataclass(frozen=True)
class _Found:
    """Another scope's state, still there when this scope used the family."""

    write: _Write
    how: str  # "restores", "saves into", "trains", "reads"
    path: str  # as this scope gave it
    stack: tuple[Site, ...]
    api: str  # what this scope read or wrote it with


@dataclass
class _Use:
    """One family, as one scope used it (first seen there)."""

    use: str  # ESTIMATOR, STATE or EVENTS
    path: str  # as given
    real: str  # where it is (resolved when first used: a relative path depends on the cwd)
    api: str
    stack: tuple[Site, ...]
    persistent: bool
    first: _Claim  # who claimed the family first in this run
    me: _Claim  # the scope that used it
    wrote: bool = False  # this scope saved or trained here
    written: str = ""  # the real path it last wrote
    version: tuple[int, int] | None = None  # ... and the version of its marker then
    saved_as: str = ""  # ... as it was given
    shared: _Found | None = None  # another test's state
    fixture: _Found | None = None  # a wider fixture's state
    checkpoint: str | None = None  # Estimator: the checkpoint the dir held when this scope first trained it
    from_before_run: bool = False  # ... and it was written before this run started
    before_run: str = ""  # a checkpoint from before this run this scope restored here


_USES = pytest.StashKey[dict[tuple[str, str], _Use]]()
_TEMPS = pytest.StashKey[list[tuple[str, tuple[Site, ...]]]]()
_ME = pytest.StashKey[_Claim]()
_STATE = re.compile(r'^model_checkpoint_path:\s*"(.*)"', re.MULTILINE)
_NUMBERED = re.compile(r"-\d+$")
_KERAS_FILES = (".keras", ".h5", ".hdf5", ".weights.json")
# Directories pytest numbers per run or per worker: left out of a dir's order-independent name.
_RUN_DIRS = re.compile(r"pytest-of-.*|pytest-\d+|pytest-current|popen-gw\d+")


class _Registry:
    """Run-wide: who claimed each family first, and who last wrote each path. Under xdist every record is
    a line appended to one file (O_APPEND, one small write: atomic), and each worker applies the lines in
    file order, reading only what is new, so every worker sees the same first claim."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.claims: dict[str, _Claim] = {}
        self.writes: dict[str, _Write] = {}  # path -> its last write
        self.families: dict[str, dict[str, _Write]] = {}  # family -> path -> its last write
        self._offset = 0
        self._partial = b""
        self._fd: int | None = None

    def claim(self, family: str, mine: _Claim) -> _Claim:
        if self.path is not None and self._append(["c", family, *_claim_fields(mine)]):
            return self.claims.get(family, mine)
        return self.claims.setdefault(family, mine)

    def wrote(self, write: _Write) -> None:
        if self.path is not None:
            line = ["w", write.path, write.family, *_claim_fields(write.by), write.marker, write.version, write.api]
            if self._append(line, sync=False):  # read back with the next question
                return
        self._apply_write(write)

    def writer(self, path: str) -> _Write | None:
        self._sync()
        return self.writes.get(path)

    def written_in(self, family: str) -> list[_Write]:
        self._sync()
        return list(self.families.get(family, {}).values())

    def _apply_write(self, write: _Write) -> None:
        self.writes[write.path] = write
        self.families.setdefault(write.family, {})[write.path] = write

    def _append(self, entry: list[Any], sync: bool = True) -> bool:
        """Append a record to the shared file (and read up to it); False when there is no file (any more)."""
        fd = self._open()
        if fd is None:
            return False
        try:
            os.write(fd, (json.dumps(entry) + "\n").encode())
        except OSError as exc:
            self._give_up(exc)
            return False
        if sync:
            self._sync()
        return self.path is not None

    def _open(self) -> int | None:
        """The shared file, kept open for the run (one write to append, one read for what is new)."""
        if self._fd is None and self.path is not None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                self._give_up(exc)
        return self._fd

    def _sync(self) -> None:
        fd = self._open() if self.path is not None else None
        if fd is None:
            return
        chunks = []
        try:
            while True:  # pread: the file's own offset (appends) is left alone
                chunk = os.pread(fd, 1 << 16, self._offset)
                if not chunk:
                    break
                chunks.append(chunk)
                self._offset += len(chunk)
        except OSError as exc:
            self._give_up(exc)
            return
        if not chunks:
            return
        *lines, self._partial = (self._partial + b"".join(chunks)).split(b"\n")
        try:
            for line in lines:
                if line:
                    self._apply(json.loads(line))
        except (ValueError, TypeError, IndexError) as exc:
            self._give_up(exc)

    def _apply(self, entry: list[Any]) -> None:
        if entry[0] == "c":
            self.claims.setdefault(entry[1], _Claim(*entry[2:6]))
        elif entry[0] == "w":
            version = (int(entry[8][0]), int(entry[8][1])) if entry[8] is not None else None
            self._apply_write(_Write(entry[1], entry[2], _Claim(*entry[3:7]), entry[7], version, entry[9]))

    def _give_up(self, exc: BaseException) -> None:
        problems.report(f"training-state registry {self.path} unusable, checking this worker only: {exc!r}")
        self.path = None
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


def _claim_fields(claim: _Claim) -> list[Any]:
    return [claim.owner, claim.kind, claim.worker, claim.token]


def _local(path: str) -> str | None:
    """The real path TF writes to (TF does not expand ``~``), or None for a URL such as ``gs://``."""
    return None if not path or "://" in path else os.path.realpath(path)


def _version(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _age(path: str) -> float | None:
    """When a file last changed: its mtime, or its ctime if later (a copy keeps the old mtime but is new)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return max(stat.st_mtime, stat.st_ctime)


def _marker(real: str, api: str) -> str:
    """The file whose version tells whether the state saved at ``real`` is still the one saved there."""
    if api == ESTIMATOR:
        return os.path.join(real, "checkpoint")
    if real.endswith(_KERAS_FILES):
        return real
    if api in (_tf.CHECKPOINT, _tf.KERAS_WEIGHTS):
        index = real + ".index"  # a TF checkpoint prefix (Keras 2 writes its TF-format weights so)
        if api == _tf.CHECKPOINT or os.path.exists(index):
            return index
    if os.path.isdir(real):  # a SavedModel (Keras 2 saves its SavedModel format through TF too)
        index = os.path.join(real, "variables", "variables.index")
        return index if os.path.exists(index) else os.path.join(real, "saved_model.pb")
    return real


def _checkpoint(real: str) -> tuple[str, float] | None:
    """The latest checkpoint a model_dir holds, by its state file, and when that file last changed."""
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


def _same(a: _Claim, b: _Claim) -> bool:
    return (a.worker, a.token) == (b.worker, b.token)


class TrainingStateCheck:
    """``temp_roots``: pytest's temporary roots for this run (see :func:`.._tempdirs.pytest_roots`; what
    ``mkdtemp`` makes during the run is temporary too); ``registry``: the file xdist workers share (None:
    this process only); ``worker``: this xdist worker's id ("" without xdist); ``rootdir``: what a path
    outside the temporary directories is named relative to, in baselines."""

    name = "estimator_isolation.training_state"

    def __init__(
        self, temp_roots: Sequence[str], registry: Path | None = None, worker: str = "", rootdir: str = "."
    ) -> None:
        self._started = time.time()
        self._roots = tuple(temp_roots)
        self._rootdir = os.path.realpath(rootdir)
        self._registry = _Registry(registry)
        self._worker = worker
        self._tokens = itertools.count()
        self._dirs: dict[str, str] = {}  # a directory -> its real path
        self._last_where: tuple[Any, tuple[str, str] | None] = (None, None)  # a save's path, read again after it
        _tf.instrument_estimators(self._created, self._training, self._trained, self._evaluated)
        _tf.instrument_saving(self._saving, self._saved, self._restoring, self._events_read)
        _tf.instrument_event_files(self._event_file_opened)

    # ---------------------------------------------------------------- who, and where

    def _me(self, scope: Scope) -> _Claim:
        me = scope.stash.get(_ME, None)
        if me is None:
            me = scope.stash[_ME] = _Claim(scope.owner, scope.kind, self._worker, next(self._tokens))
        return me

    def _use(self, scope: Scope, use: str, family: str, path: str, api: str) -> _Use:
        uses = scope.stash.setdefault(_USES, {})
        found = uses.get((use, family))
        if found is None:
            me = self._me(scope)
            first = self._registry.claim(family, me)
            persistent = use != EVENTS and not _tempdirs.is_temporary(family, self._roots)
            # Where it was first used, for what may be reported on the use itself (a finding about another
            # scope's state has its own stack): only an Estimator's dir, or state outside the temp dirs.
            stack = _sites.user_stack() if use == ESTIMATOR or persistent else ()
            found = uses[(use, family)] = _Use(use, path, family, api, stack, persistent, first, me)
        return found

    def _live(self, family: str, me: _Claim) -> _Write | None:
        """Another scope's state in ``family`` that is still there (the newest such)."""
        live = None
        for write in self._registry.written_in(family):
            if not _same(write.by, me) and write.version is not None and _version(write.marker) == write.version:
                live = write
        return live

    def _found(self, use: _Use, write: _Write | None, how: str, path: str, api: str = "") -> None:
        if write is None:
            return
        found = _Found(write, how, path, _sites.user_stack(), api or use.api)
        if write.by.kind == "fixture":
            use.fixture = use.fixture or found
        else:
            use.shared = use.shared or found

    def _by(self, claim: _Claim) -> str:
        return claim.owner + (f" (xdist worker {claim.worker})" if claim.worker != self._worker else "")

    def _note(self, path: str, write: _Write) -> str:
        text = f"estimator-isolation: {path} was written by {self._by(write.by)}, earlier in this run"
        scopes.note(text)
        return text

    # ---------------------------------------------------------------- Estimators

    def _created(self, estimator: Any, temporary: bool) -> None:
        scope = scopes.current()
        if scope is not None and temporary:
            scope.stash.setdefault(_TEMPS, []).append((str(estimator.model_dir), _sites.user_stack()))

    def _estimator_use(self, estimator: Any) -> tuple[Scope, _Use] | None:
        scope = scopes.current()
        path = str(estimator.model_dir)
        real = None if scope is None else _local(path)
        if scope is None or real is None:
            return None
        return scope, self._use(scope, ESTIMATOR, real, path, ESTIMATOR)

    def _evaluated(self, estimator: Any) -> None:
        self._estimator_use(estimator)

    def _training(self, estimator: Any) -> str | None:
        """As ``train`` starts: what the dir holds, and who wrote it; a note for a failure, if another
        scope wrote what it starts from (its model_dir, or the checkpoint it warm-starts from)."""
        found = self._estimator_use(estimator)
        if found is None:
            return None
        scope, use = found
        me = self._me(scope)
        if not use.wrote:  # its first training here: what the dir held is not its own
            use.wrote = True
            checkpoint = _checkpoint(use.real)
            if checkpoint is not None:
                use.checkpoint = checkpoint[0]
                use.from_before_run = checkpoint[1] < self._started
                self._found(use, self._live(use.real, me), "trains", use.path)
        notes = []
        other = use.shared or use.fixture
        if other is not None:
            notes.append(self._note(f"{use.path} (its checkpoint {use.checkpoint})", other.write))
        source = _tf.warm_start_source(estimator)
        if source is not None:
            notes.append(self._restoring(WARM_START, source) or "")
        return "\n".join(note for note in notes if note) or None

    def _trained(self, estimator: Any) -> None:
        found = self._estimator_use(estimator)
        if found is not None:
            _scope, use = found
            self._record(use, use.real, use.real, ESTIMATOR)

    # ---------------------------------------------------------------- checkpoints, Keras, SavedModels

    def _real(self, path: str) -> str | None:
        """``_local(path)`` for the many saves and restores of a run, at the cost of about one ``lstat``
        per directory not seen before (a symlinked file or prefix at the end is taken as it is)."""
        if not path or "://" in path:
            return None
        head, tail = os.path.split(os.path.abspath(path))
        return os.path.join(self._real_dir(head), tail)

    def _real_dir(self, path: str) -> str:
        real = self._dirs.get(path)
        if real is None:
            parent, name = path.rsplit(os.sep, 1) if os.sep in path else ("", path)
            if not parent or not name:  # the root
                real = os.path.realpath(path)
            else:
                real = self._real_dir(parent)
                real = (real if real.endswith(os.sep) else real + os.sep) + name
                if os.path.islink(real):
                    real = os.path.realpath(real)
            self._dirs[path] = real
        return real

    def _where(self, api: str, path: str) -> tuple[str, str] | None:
        """The real path of what is saved at ``path``, and its family (the last answer is kept: a save
        asks twice)."""
        key = (api, path, "" if os.path.isabs(path) else os.getcwd())
        if self._last_where[0] != key:
            self._last_where = (key, self._where_of(api, path))
        return self._last_where[1]

    def _where_of(self, api: str, path: str) -> tuple[str, str] | None:
        real = self._real(path)
        if real is None:
            return None
        if api in (_tf.CHECKPOINT, _tf.KERAS_WEIGHTS):
            head, tail = os.path.split(real)
            return real, os.path.join(head, _NUMBERED.sub("", tail))
        return real, real

    def _saving(self, api: str, path: str) -> None:
        scope = scopes.current()
        where = None if scope is None else self._where(api, path)
        if scope is None or where is None:
            return
        use = self._use(scope, STATE, where[1], path, api)
        use.saved_as = path
        if not use.wrote:  # its first save here: is another scope's state there?
            use.wrote = True
            self._found(use, self._live(where[1], use.me), "saves into", path)

    def _saved(self, api: str, path: str) -> None:
        scope = scopes.current()
        where = None if scope is None else self._where(api, path)
        if scope is None or where is None:
            return
        self._record(self._use(scope, STATE, where[1], path, api), *where, api)

    def _record(self, use: _Use, real: str, family: str, api: str) -> None:
        marker = _marker(real, api)
        version = _version(marker)
        if version is None:
            return  # nothing was written (a train that failed before its first checkpoint)
        if use.written == real and use.version == version:
            return  # told twice (Keras, then the TF checkpoint it wrote)
        use.written, use.version = real, version
        self._registry.wrote(_Write(real, family, use.me, marker, version, api))

    def _restoring(self, api: str, path: str) -> str | None:
        """A restore starts: if another scope wrote what it reads, a note naming it."""
        scope = scopes.current()
        where = None if scope is None else self._where(api, path)
        if scope is None or where is None:
            return None
        real, family = where
        write = self._registry.writer(real)
        if write is None:  # an Estimator's checkpoint, named by its prefix: the model_dir was written
            write = self._registry.writer(os.path.dirname(real))
            write = write if write is not None and write.api == ESTIMATOR else None
        if write is not None:
            family = write.family
        use = self._use(scope, STATE, family, path, api)
        me = self._me(scope)
        if write is None or _version(write.marker) != write.version:
            age = _age(_marker(real, api))
            if age is not None and age < self._started and not use.before_run:
                use.before_run = path  # told if this scope also writes here, outside the temp dirs
            return None
        if _same(write.by, me):
            return None
        self._found(use, write, "restores", path, api)
        return self._note(path, write)

    # ---------------------------------------------------------------- event files

    def _event_file_opened(self, path: str) -> None:
        scope = scopes.current()
        real = None if scope is None else _local(path)
        if scope is None or real is None:
            return
        logdir = os.path.dirname(real)
        self._use(scope, EVENTS, logdir, os.path.dirname(path), _EVENT_FILE)
        self._registry.wrote(_Write(real, logdir, self._me(scope), real, None, _EVENT_FILE))

    def _events_read(self, api: str, path: str) -> None:
        scope = scopes.current()
        real = None if scope is None else _local(path)
        if scope is None or real is None:
            return
        if os.path.isdir(real):
            logdir, files = real, [os.path.join(real, name) for name in _listdir(real) if ".tfevents." in name]
        else:
            logdir, files = os.path.dirname(real), [real]
        use = self._use(scope, EVENTS, logdir, path, api)
        me = self._me(scope)
        for file in files:
            write = self._registry.writer(file)
            if write is not None and not _same(write.by, me) and write.by.kind == "test":
                self._found(use, write, "reads", path)
                self._note(file, write)
                return

    # ---------------------------------------------------------------- judging

    @check_hook()
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        uses = scope.stash.get(_USES, None)
        temps = scope.stash.get(_TEMPS, None)
        if not uses and not temps:
            return []
        me = scope.stash.get(_ME, None)
        leaks = [leak for use in (uses or {}).values() for leak in self._judge(scope, use, me)]
        for path, stack in temps or ():
            what = f"Estimator created without a model_dir: TensorFlow made {path} and never removes it"
            leaks.append(Leak(TEMP_MODEL_DIR, scope.owner, what, stack[0] if stack else None, stack))
        for records in (uses, temps):
            if records:
                records.clear()
        return leaks

    def _judge(self, scope: Scope, use: _Use, me: _Claim | None) -> list[Leak]:
        def leak(kind: LeakKind, what: str, stack: tuple[Site, ...] = use.stack, **keys: Any) -> Leak:
            return Leak(kind, scope.owner, what, stack[0] if stack else None, stack, **keys)

        leaks = []
        shared = use.shared if use.shared is not None and me is not None and not _same(use.first, me) else None
        if shared is not None:
            by = self._by(shared.write.by)
            # Which of the two is flagged depends on order: the baseline keys it by family and both tests.
            keys: dict[str, Any] = {"subject": self._subject(use.real), "others": (shared.write.by.owner,)}
            if use.use == ESTIMATOR:
                what = f"trains {use.path}, which {by} trained earlier in this run"
                leaks.append(leak(SHARED_MODEL_DIR, what + ": it silently warm-starts from that checkpoint", **keys))
            elif use.use == EVENTS:
                what = f"reads back the event file {os.path.basename(shared.write.path)} in {use.path}, which {by} "
                what += "wrote earlier in this run: what it reads depends on the tests before it"
                leaks.append(leak(SHARED_LOG_DIR, what, shared.stack, **keys))
            elif shared.how == "restores":
                what = f"{self._restored(shared)}, which {by} wrote earlier in this run: it resumes from that state"
                leaks.append(leak(SHARED_STATE, what, shared.stack, **keys))
            else:
                what = f"{self._saved_over(use, shared)}, which {by} wrote earlier in this run: which of the two "
                what += "tests starts from the other's state depends on test order"
                leaks.append(leak(SHARED_STATE, what, shared.stack, **keys))
        fixture = use.fixture if use.wrote else None
        if fixture is not None and use.use == ESTIMATOR:
            what = f"trains {use.path} in place: its checkpoint {use.checkpoint} was written by "
            what += f"{self._by(fixture.write.by)}; training warm-starts from it and changes it for later tests"
            leaks.append(leak(STALE_CHECKPOINT, what))
        elif fixture is not None and use.use == STATE:
            by = self._by(fixture.write.by)
            if fixture.how == "restores":
                what = f"{self._restored(fixture)}, which {by} wrote for other tests to read, then saves "
                what += f"{use.api} {use.saved_as} in place"
            else:
                what = f"{self._saved_over(use, fixture)}, which {by} wrote for other tests to read"
            leaks.append(leak(FIXTURE_STATE, what + ": every later test reads what this one left", fixture.stack))
        elif use.from_before_run and shared is None:
            what = f"trains {use.path}, which already held checkpoint {use.checkpoint} from before this run"
            # A persistent dir's checkpoint from the last run: what its EI203 causes, covered by its baseline.
            cause = PERSISTENT_MODEL_DIR.name if use.persistent else ""
            leaks.append(leak(STALE_CHECKPOINT, what + ": it silently warm-starts from it", covered_by=cause))
        if use.persistent and use.use != EVENTS and (use.use == ESTIMATOR or use.wrote) and self._still_there(use):
            path, real = (use.path, use.real) if use.use == ESTIMATOR else (use.saved_as, use.written)
            shown = path if real == path else f"{path} (= {real})"
            tilde = " (TensorFlow does not expand '~')" if path.startswith("~") else ""
            if use.use == ESTIMATOR:
                what = f"wrote into {shown}{tilde}, outside this run's temporary directories"
                leaks.append(leak(PERSISTENT_MODEL_DIR, what))
            else:
                what = f"saved {use.api} {shown}{tilde} outside this run's temporary directories, and left it: "
                what += "the next run finds it there"
                if use.before_run:
                    what += f"; this test restored {use.before_run}, which an earlier run left"
                leaks.append(leak(PERSISTENT_STATE, what))
        return leaks

    @staticmethod
    def _restored(found: _Found) -> str:
        if found.api == WARM_START:
            return f"warm-starts from {found.path} ({found.write.api})"
        verb = "restores" if found.api in (_tf.CHECKPOINT, ESTIMATOR) else "loads"
        return f"{verb} {found.path} ({found.write.api})"

    @staticmethod
    def _saved_over(use: _Use, found: _Found) -> str:
        if _local(found.path) == found.write.path:
            return f"saves {use.api} {found.path} over the one"
        return f"saves {use.api} {found.path} next to {found.write.api} {found.write.path}"

    @staticmethod
    def _still_there(use: _Use) -> bool:
        """Whether what the scope wrote outlives it (a fixed dir its own teardown removed does not)."""
        return os.path.lexists(use.real) if use.use == ESTIMATOR else os.path.lexists(_marker(use.written, use.api))

    def _subject(self, real: str) -> str:
        """A family's name that is the same in every run, worker and test order: relative to the temporary
        directory it is in (``<tmp>/...``, without pytest's numbered run and worker dirs, or the random name
        of a ``mkdtemp`` dir) or to the rootdir."""
        made = _tempdirs.made_by_mkdtemp(real)
        if made is not None:
            return "/".join(("<tmp>", *Path(os.path.relpath(real, made)).parts))
        roots = [os.path.dirname(root) if root.endswith("*") else root for root in self._roots]
        for root in sorted(roots, key=len, reverse=True):
            if _tempdirs.under(real, (root,)):
                parts = Path(os.path.relpath(real, root)).parts
                while parts and _RUN_DIRS.fullmatch(parts[0]):
                    parts = parts[1:]
                return "/".join(("<tmp>", *parts))
        if _tempdirs.under(real, (self._rootdir,)):
            return Path(os.path.relpath(real, self._rootdir)).as_posix()
        return Path(real).as_posix()


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


REGISTRY_NAME = "estimator-isolation-training-state.jsonl"


def make(run: RunInfo) -> TrainingStateCheck:
    # Under xdist, the workers share one registry file in the run's basetemp root.
    registry = run.basetemp / REGISTRY_NAME if run.worker and run.basetemp is not None else None
    return TrainingStateCheck(_tempdirs.pytest_roots(run.basetemp), registry, run.worker, run.rootdir)
