"""Summary writers and the threads TF starts: ``EventFileWriter`` (behind ``tf.compat.v1.summary.FileWriter``
and ``FileWriterCache``) and ``tf.summary.create_file_writer``'s resource writer are patched to report
their creation; ``QueueRunner.create_threads`` to tell where its threads were started.

A v1 writer holds an event file and a running ``EventLoggerThread`` until it is closed; ``FileWriterCache``
(which every ``Estimator.train``/``evaluate`` uses) keeps one per directory for the life of the process.
An eager v2 writer holds its event file until it is closed or garbage collected (no Python thread). One
still TF's default writer (``summary_ops_v2._summary_state.writer``, per thread, the same on TF 2.12-2.21)
is unset before it is closed: every later ``tf.summary`` call would write to the closed resource and fail
with ``NotFoundError: Resource .../SummaryWriterInterface does not exist``. The default writer it replaced
is remembered in one place, the EI304 entry (:mod:`.summary`), whose undo runs first and puts it back;
a writer still the default when it is closed here (its EI304 allowed) is unset to no default writer.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from types import FrameType, ModuleType
from typing import Any

from .. import _imports, _sites, problems
from ..leaks import Site
from ._core import _CONTEXT, _SUMMARY, _module, _wrap, emit, listen, listening, patched, summary_state

_EVENT_FILE_WRITER = "tensorflow.python.summary.writer.event_file_writer"
_WRITER_CACHE = "tensorflow.python.summary.writer.writer_cache"
_QUEUE_RUNNER = "tensorflow.python.training.queue_runner_impl"
_COORDINATOR = "tensorflow.python.training.coordinator"
_SUPERVISOR_FILE = os.path.join("training", "supervisor.py")

V1 = "tf.compat.v1.summary.FileWriter"
V2 = "tf.summary.create_file_writer"

WriterHook = Callable[[Any, str], None]  # (writer, V1 or V2)
EVENT_FILE_OPENED = "event_file_opened"

# Threads TF (or Keras, TensorBoard) runs Python code in: by class or target module, or by name.
_TF_MODULES = ("tensorflow", "tensorflow_estimator", "keras", "tf_keras", "tensorboard")
_TF_THREAD_NAMES = ("EventLoggerThread", "QueueRunnerThread-")

_thread_sites: weakref.WeakKeyDictionary[threading.Thread, tuple[Site, ...]] = weakref.WeakKeyDictionary()
# writer -> who closed it for a test, and what that freed
_tidied: weakref.WeakKeyDictionary[Any, tuple[str, dict[str, int]]] = weakref.WeakKeyDictionary()


def _event_files(logdir: str) -> set[str]:
    try:
        return {name for name in os.listdir(logdir) if ".tfevents." in name}
    except OSError:
        return set()


def instrument_event_files(on_open: Callable[[str], None]) -> None:
    """Call ``on_open(path)`` with the event file every summary writer makes as it is built (the v1
    ``EventFileWriter``, an eager ``tf.summary`` file writer)."""
    listen(EVENT_FILE_OPENED, on_open)
    _imports.when_imported(_EVENT_FILE_WRITER, _patch_v1)
    _imports.when_imported(_SUMMARY, _patch_v2)


def instrument_writers(on_create: WriterHook) -> None:
    """Call ``on_create(writer, api)`` after every v1 ``EventFileWriter`` is built (``api`` is :data:`V1`)
    and after every ``tf.summary`` file writer built in eager mode (:data:`V2`; a graph-mode writer lives
    in its session). Never changes what the writers do."""
    listen("writer_created", on_create)
    _imports.when_imported(_EVENT_FILE_WRITER, _patch_v1)
    _imports.when_imported(_SUMMARY, _patch_v2)
    _imports.when_imported(_QUEUE_RUNNER, _patch_queue_runner)
    _imports.when_imported(_COORDINATOR, _patch_looper_thread)


def _patch_v1(module: ModuleType) -> None:
    cls: Any = module.EventFileWriter
    if patched(cls, "__init__"):
        return
    init = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        emit("writer_created", self, V1)
        if listening(EVENT_FILE_OPENED):  # the event file it made (told to whoever reads event files back)
            try:
                name = self._ev_writer.FileName()
                emit(EVENT_FILE_OPENED, name.decode() if isinstance(name, bytes) else str(name))
            except Exception as exc:
                problems.report(f"which event file a FileWriter made is not known: {exc!r}")

    _wrap(cls, "__init__", __init__)


def _patch_v2(module: ModuleType) -> None:
    cls: Any = module._ResourceSummaryWriter
    if patched(cls, "__init__"):
        return
    init = cls.__init__
    context = _module(_CONTEXT)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        eager = context is not None and context.executing_eagerly()
        logdir = None
        if eager:
            try:
                init_op_fn = kwargs.get("init_op_fn", args[1] if len(args) > 1 else None)
                logdir = init_op_fn.keywords["logdir"].numpy().decode()  # type: ignore[union-attr]
            except Exception:
                pass  # the message then says "?" for the log dir
        before = _event_files(logdir) if logdir is not None and listening(EVENT_FILE_OPENED) else None
        init(self, *args, **kwargs)
        if eager:
            if logdir is not None:
                self._estimator_isolation_logdir = logdir
            emit("writer_created", self, V2)
        if before is not None and logdir is not None:  # the event file its init made
            for name in sorted(_event_files(logdir) - before):
                emit(EVENT_FILE_OPENED, os.path.join(logdir, name))

    _wrap(cls, "__init__", __init__)


def _patch_queue_runner(module: ModuleType) -> None:
    cls: Any = module.QueueRunner
    if patched(cls, "create_threads"):
        return
    create = cls.create_threads

    def create_threads(self: Any, *args: Any, **kwargs: Any) -> Any:
        threads = create(self, *args, **kwargs)
        try:
            site = _sites.user_stack(2)
            for thread in threads:
                _thread_sites[thread] = site
        except Exception as exc:
            problems.report(f"queue-runner tracking failed: {exc!r}")
        return threads

    _wrap(cls, "create_threads", create_threads)


def _patch_looper_thread(module: ModuleType) -> None:
    """``LooperThread`` (a ``Supervisor``'s summary, step-counter and checkpoint threads): where it was made."""
    cls: Any = getattr(module, "LooperThread", None)
    if cls is None or patched(cls, "__init__"):
        return
    init = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        try:
            _thread_sites[self] = _sites.user_stack(2)
        except Exception as exc:
            problems.report(f"looper-thread tracking failed: {exc!r}")

    _wrap(cls, "__init__", __init__)


def made_by_supervisor(depth: int = 12) -> bool:
    """Whether a writer being created is a ``tf.compat.v1.train.Supervisor``'s (a few frames up)."""
    frame: FrameType | None = sys._getframe(1)
    for _ in range(depth):
        if frame is None:
            return False
        if frame.f_code.co_filename.endswith(_SUPERVISOR_FILE):
            return True
        frame = frame.f_back
    return False


def supervisor_thread(thread: threading.Thread) -> bool:
    """Whether a thread is one of a ``Supervisor``'s services (they keep their Supervisor as ``_sv``)."""
    return getattr(thread, "_sv", None) is not None


# ---------------------------------------------------------------- one writer


def writer_logdir(writer: Any, api: str) -> str:
    if api == V1:
        return str(writer.get_logdir())
    # The v2 writer keeps the log dir only as an op input: read from its init op when it was built.
    logdir = getattr(writer, "_estimator_isolation_logdir", None)
    return str(logdir) if logdir is not None else "?"


def writer_closed(writer: Any) -> bool:
    return bool(getattr(writer, "_closed", True))


def unset_default_writers(writers: Iterable[Any]) -> None:
    """If the default ``tf.summary`` writer is one of ``writers``, unset it (the writer it replaced is
    the EI304 entry's to put back, see the module docstring)."""
    state = summary_state()
    ids = {id(writer) for writer in writers}
    if state is not None and id(getattr(state, "writer", None)) in ids:
        state.writer = None


def writer_thread(writer: Any, api: str) -> threading.Thread | None:
    thread = getattr(writer, "_worker", None) if api == V1 else None
    return thread if isinstance(thread, threading.Thread) else None


def cached_writers() -> dict[int, str]:
    """The ``EventFileWriter`` behind every ``FileWriterCache`` entry, by ``id``, with its key."""
    cache = _module(_WRITER_CACHE)
    if cache is None:
        return {}
    try:
        entries = dict(cache.FileWriterCache._cache)
    except AttributeError as exc:
        problems.report(f"FileWriterCache not readable on this TF: {exc!r}")
        return {}
    return {id(getattr(file_writer, "event_writer", None)): str(logdir) for logdir, file_writer in entries.items()}


def tidied_by(writer: Any) -> tuple[str, dict[str, int]] | None:
    """Who closed this writer for the test (a fixture's teardown), and what that freed, if the plugin did."""
    return _tidied.get(writer)


def close_writers(writers: Iterable[tuple[Any, str]], by: str = "") -> dict[str, int]:
    """Close these writers (a cached one is also dropped from ``FileWriterCache``, so that a later
    ``get()`` makes a fresh one instead of returning a closed writer). Returns what that freed:
    ``{"writers": n, "threads": n, "files": n}`` (no ``files`` where ``/proc/self/fd`` is missing)."""
    writers = list(writers)
    unset_default_writers(w for w, api in writers if api == V2)  # before closing: see the module docstring
    writers = [(w, api) for w, api in writers if not writer_closed(w)]
    if not writers:
        return {}
    _drop_from_cache({id(w) for w, api in writers if api == V1})
    total: dict[str, int] = {}
    for writer, api in writers:
        thread = writer_thread(writer, api)
        running = thread is not None and thread.is_alive()
        files_before = fd_count()
        try:
            if api == V1:
                writer.close()
            else:
                _close_v2(writer)
        except Exception as exc:
            problems.report(f"could not close a summary writer on {writer_logdir(writer, api)}: {exc!r}")
            continue
        freed = {"writers": 1, "threads": int(running and thread is not None and not thread.is_alive())}
        files_after = fd_count()
        if files_before is not None and files_after is not None:
            freed["files"] = max(0, files_before - files_after)
        for key, count in freed.items():
            total[key] = total.get(key, 0) + count
        if by:
            try:
                _tidied[writer] = (by, freed)
            except TypeError:
                pass
    return total


def _drop_from_cache(ids: set[int]) -> None:
    cache = _module(_WRITER_CACHE)
    if cache is None or not ids:
        return
    try:
        owner = cache.FileWriterCache
        with owner._lock:
            for logdir, file_writer in list(owner._cache.items()):
                if id(getattr(file_writer, "event_writer", None)) in ids:
                    del owner._cache[logdir]
                    file_writer._closed = True  # FileWriter's own flag: later use warns instead of writing nowhere
    except AttributeError as exc:  # the writers are still closed; a later get() may return a closed one
        problems.report(f"FileWriterCache not readable on this TF: {exc!r}")


def _close_v2(writer: Any) -> None:
    context = _module(_CONTEXT)
    if context is not None and not context.executing_eagerly():
        with context.eager_mode():  # the test switched to graph mode: close() would only build an op
            writer.close()
    else:
        writer.close()


def close_cached_writers(under: Iterable[str], keep: set[int], by: str) -> dict[str, int]:
    """Close the ``FileWriterCache`` writers on directories below ``under`` that are not in ``keep``
    (ids from :func:`cached_writers` taken earlier): what the ``model_dir`` fixtures do at teardown."""
    roots = [os.path.realpath(path) for path in under]
    cache = _module(_WRITER_CACHE)
    if cache is None or not roots:
        return {}
    try:
        entries = list(cache.FileWriterCache._cache.items())
    except AttributeError as exc:
        problems.report(f"FileWriterCache not readable on this TF: {exc!r}")
        return {}
    found = []
    for logdir, file_writer in entries:
        writer = getattr(file_writer, "event_writer", None)
        if writer is None or id(writer) in keep:
            continue
        real = os.path.realpath(str(logdir))
        if any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
            found.append((writer, V1))
    return close_writers(found, by)


# ---------------------------------------------------------------- threads and files


def thread_origin(thread: threading.Thread) -> str | None:
    """What a thread runs, if it is TF's (or Keras', TensorBoard's): ``module.function``; else None."""
    target = getattr(thread, "_target", None)
    cls = type(thread)
    if cls is not threading.Thread and cls.__module__.split(".")[0] in _TF_MODULES:
        return f"{cls.__module__}.{cls.__qualname__}"
    if target is not None:
        module = getattr(target, "__module__", None) or ""
        if module.split(".")[0] in _TF_MODULES:
            return f"{module}.{getattr(target, '__qualname__', repr(target))}"
    if thread.name.startswith(_TF_THREAD_NAMES):
        return thread.name
    return None


def thread_target(thread: threading.Thread) -> str:
    """What any thread runs, for a message: its class's ``run`` or its target."""
    target = getattr(thread, "_target", None)
    if target is None:
        cls = type(thread)
        return f"{cls.__module__}.{cls.__qualname__}.run"
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def thread_site(thread: threading.Thread) -> tuple[Site, ...]:
    return _thread_sites.get(thread, ())


def fd_count() -> int | None:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def open_files() -> list[str] | None:
    """Every file this process has open (Linux, from ``/proc/self/fd``); None elsewhere."""
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return None
    out = []
    for fd in fds:
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if path.startswith(os.sep):
            out.append(path)
    return out
