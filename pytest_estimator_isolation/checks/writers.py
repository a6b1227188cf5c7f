"""EI401-EI405: summary writers, threads and open files TF objects keep after a test.

A ``tf.compat.v1.summary.FileWriter`` holds an event file and a running ``EventLoggerThread`` until it is
closed, and ``FileWriterCache`` (used by every ``Estimator.train`` and ``evaluate``) keeps one per
directory for the life of the process: a long Estimator suite runs out of file descriptors ("Too many
open files") and piles up threads.

- EI401: a writer the test opened and left open: its leak, closed in strict mode (unset first if it is the
  default ``tf.summary`` writer). A writer left as the default writer, open or closed, is also EI304
  ``summary-state`` (checks/tf_state.py, which unsets it before this check closes anything).
- EI402: writers TF cached for the test: not its fault, so never a failure; closed after the test in strict
  and warn mode (``info`` severity, counted as ``tidied``).
- EI403: a TF thread (queue runner, coordinator, ...) started by the test and still running after it.
- EI404: files still open inside the test's log dirs or ``tmp_path``, looked up only when the test left a
  thread or made a writer (reading the fd table on every test would cost more than the rest).
- EI405 (opt-in, ``--estimator-isolation-threads=all``): any thread started by the test and still running.

Writers are recorded as they are created, in the scope that creates them, so a wider-scoped fixture's
writer is judged (and closed) at the fixture's teardown, never by the test that used it.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from .. import _sites, _tf, scopes
from ..dispatch import check_hook
from ..leaks import Leak, LeakKind, Site
from ..scopes import Scope
from . import RunInfo

OPEN_WRITER = LeakKind(
    code="EI401",
    name="open-summary-writer",
    meaning="a summary writer the test opened was not closed: it keeps its event file open (and, for "
    "tf.compat.v1.summary.FileWriter, an EventLoggerThread running) for the rest of the process",
    fix="`with tf.compat.v1.summary.FileWriter(logdir) as writer:` or `writer.close()`; for "
    "tf.summary.create_file_writer, `writer.close()` or let the writer go out of scope; for a "
    "tf.compat.v1.train.Supervisor's, `sv.stop()`",
    # A writer left as (or closed while) the default writer: its resource, or the later test's tf.summary calls.
    symptoms=("Too many open files", "SummaryWriterInterface", "tf.summary"),
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
    fix="stop what started it: `coord.request_stop(); coord.join(threads)` for queue runners, `sv.stop()` "
    "for a tf.compat.v1.train.Supervisor, close the writer or session that owns it",
    symptoms=("Too many open files", "can't start new thread"),
    cleanable=False,
    left=(
        "This thread keeps running through every later test: the plugin cannot stop a thread.",
        "These {n} threads keep running through every later test: the plugin cannot stop a thread.",
    ),
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

KINDS = (OPEN_WRITER, CACHED_WRITER, TF_THREAD, OPEN_FILE, THREAD)

_EVENT_FILE = "events.out.tfevents."
# What threading.current_thread() makes for a thread Python did not start (TF's C++ pools calling back into
# Python for py_function or Dataset.from_generator): it is never "started" nor joined, so never a leak.
_DUMMY: type[threading.Thread] = getattr(threading, "_DummyThread", threading.Thread)
_GRACE = 0.1  # seconds new threads may take, together, to finish on their own before they count as left running


@dataclass
class _Writer:
    """One writer a scope created. A v1 writer is held strongly until the scope is judged (its thread
    keeps running, and its file open, even when the writer itself is dropped); a v2 writer weakly (it
    closes its file when it is garbage collected, so only a still-referenced one leaks)."""

    api: str
    logdir: str
    stack: tuple[Site, ...]
    supervisor: bool = False  # a tf.compat.v1.train.Supervisor's summary writer
    strong: Any = None
    weak: weakref.ReferenceType[Any] | None = None

    def get(self) -> Any:
        return self.strong if self.weak is None else self.weak()


_WRITERS = pytest.StashKey[list[_Writer]]()
_THREADS = pytest.StashKey["list[threading.Thread]"]()


class WritersCheck:
    """``all_threads``: report any thread a test leaves running (EI405), not only TensorFlow's."""

    name = "estimator_isolation.writers"

    def __init__(self, all_threads: bool = False) -> None:
        self.all_threads = all_threads
        self._reported_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        self._reported_files: set[str] = set()
        _tf.instrument_writers(self._created)

    def _created(self, writer: Any, api: str) -> None:
        scope = scopes.current()
        if scope is None:
            return
        record = _Writer(api, _tf.writer_logdir(writer, api), _sites.user_stack(3), _tf.made_by_supervisor())
        if api == _tf.V1:
            record.strong = writer
        else:
            record.weak = weakref.ref(writer)
        scope.stash.setdefault(_WRITERS, []).append(record)

    @check_hook()
    def pytest_estimator_isolation_snapshot(self, scope: Scope) -> None:
        scope.stash[_THREADS] = threading.enumerate()

    @check_hook()
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        before = scope.stash.get(_THREADS, None)
        records = scope.stash.get(_WRITERS, None) or []
        if before is None:
            return []
        now = threading.enumerate()
        if not records and now == before:  # a clean test: the same threads, compared by identity
            return []
        reported = self._reported_threads
        new_threads = [t for t in now if t not in before and t not in reported and not isinstance(t, _DUMMY)]
        if not records and not new_threads:
            return []
        scope.stash[_WRITERS] = []  # judged once; drop the strong references
        leaks, owned = _writer_leaks(scope, records)
        # A writer's thread is part of that writer's finding: a wider scope around this one (a setUpClass,
        # a module fixture) must not report it again as a thread when warn mode left the writer open.
        reported.update(owned)
        leaks.extend(self._thread_leaks(scope, [t for t in new_threads if t not in owned]))
        leaks.extend(self._file_leaks(scope, records))
        return leaks

    def _thread_leaks(self, scope: Scope, threads: list[threading.Thread]) -> list[Leak]:
        candidates = [(thread, _tf.thread_origin(thread)) for thread in threads]
        candidates = [(thread, origin) for thread, origin in candidates if origin is not None or self.all_threads]
        # One that is finishing right now (a stopped queue runner, or one whose input ran out) is not left
        # running: one grace period for the test, shared by its threads. A coordinator that has not asked a
        # thread to stop says nothing (tf-slim's queue runners end on their own when an epoch runs out).
        deadline = time.monotonic() + _GRACE
        for thread, _origin in candidates:
            thread.join(max(0.0, deadline - time.monotonic()))
        leaks = []
        for thread, origin in candidates:
            if not thread.is_alive():
                continue
            self._reported_threads.add(thread)
            stack = _tf.thread_site(thread)
            if origin is not None:
                what = f"thread {thread.name!r} ({origin}) is still running"
                if _tf.supervisor_thread(thread):
                    what += "; a tf.compat.v1.train.Supervisor's service: call sv.stop()"
                leaks.append(Leak(TF_THREAD, scope.owner, what, stack[0] if stack else None, stack))
            else:
                what = f"thread {thread.name!r} ({_tf.thread_target(thread)}) is still running"
                leaks.append(Leak(THREAD, scope.owner, what))
        return leaks

    def _file_leaks(self, scope: Scope, records: list[_Writer]) -> list[Leak]:
        roots = {os.path.realpath(record.logdir) for record in records if record.logdir != "?"}
        funcargs: dict[str, Any] = getattr(scope.item, "funcargs", None) or {}
        tmp = funcargs.get("tmp_path")  # the test asked for one (its teardown has not ended yet)
        if tmp is not None:
            roots.add(os.path.realpath(tmp))
        if not roots:
            return []
        prefixes = tuple(root.rstrip(os.sep) + os.sep for root in roots)
        found = self._open_below(prefixes)
        if found:
            # Held only by garbage (a failed call's traceback in a reference cycle, e.g. a Supervisor's
            # coordinator keeping the exception of a restore that failed): the next collection closes it.
            gc.collect()
            found = self._open_below(prefixes)
        if not found:
            return []
        self._reported_files.update(found)
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        return [Leak(OPEN_FILE, scope.owner, f"{len(found)} file(s) still open: {shown}", handle=found)]

    def _open_below(self, prefixes: tuple[str, ...]) -> list[str]:
        files = _tf.open_files()
        if files is None:  # no /proc/self/fd (macOS, Windows): skipped
            return []
        return sorted(
            {
                path
                for path in files
                # Event files are the writers' (EI401/EI402, or a wider fixture's writer).
                if path.startswith(prefixes) and not os.path.basename(path).startswith(_EVENT_FILE)
            }
            - self._reported_files
        )

    @check_hook()
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        for leak in leaks:
            if leak.kind is OPEN_WRITER or leak.kind is CACHED_WRITER:
                freed = _tf.close_writers(leak.handle)
                for key, count in freed.items():
                    leak.freed[key] = leak.freed.get(key, 0) + count

    @check_hook()
    def pytest_estimator_isolation_still_in_place(self, leak: Leak) -> bool | None:
        if leak.kind is not OPEN_WRITER:
            return None
        return any(not _tf.writer_closed(writer) for writer, _api in leak.handle)


def _writer_leaks(scope: Scope, records: list[_Writer]) -> tuple[list[Leak], set[threading.Thread]]:
    """EI401 for each writer the scope left open, one EI402 for the writers TF cached for it; and the
    threads of all its writers (reported through their writers, not as threads)."""
    cached = _tf.cached_writers()
    leaks = []
    owned: set[threading.Thread] = set()
    tidy: list[tuple[Any, str]] = []
    tidy_dirs: list[str] = []
    freed: dict[str, int] = {}
    for record in records:
        writer = record.get()
        if writer is None:  # a v2 writer garbage collected: closed
            continue
        thread = _tf.writer_thread(writer, record.api)
        if thread is not None:
            owned.add(thread)
        by = _tf.tidied_by(writer)
        if by is not None:  # a model_dir fixture's teardown closed it already: count it as tidied
            tidy_dirs.append(record.logdir)
            for key, count in by[1].items():
                freed[key] = freed.get(key, 0) + count
            continue
        if _tf.writer_closed(writer):  # still the default writer: that is EI304's (checks/tf_state.py)
            continue
        if id(writer) in cached:
            tidy.append((writer, record.api))
            tidy_dirs.append(record.logdir)
            continue
        holds = "its event file and an EventLoggerThread" if thread is not None else "its event file"
        what = f"{record.api} on {record.logdir} is still open (it holds {holds})"
        if record.supervisor:
            what += "; it is a tf.compat.v1.train.Supervisor's summary writer: call sv.stop()"
        where = record.stack[0] if record.stack else None
        leaks.append(Leak(OPEN_WRITER, scope.owner, what, where, record.stack, handle=[(writer, record.api)]))
    if tidy_dirs:
        what = f"{len(tidy_dirs)} summary writer(s) TensorFlow cached in FileWriterCache: {', '.join(tidy_dirs)}"
        leaks.append(Leak(CACHED_WRITER, scope.owner, what, handle=tidy, freed=freed))
    return leaks, owned


def make(run: RunInfo) -> WritersCheck:
    return WritersCheck(run.all_threads)
