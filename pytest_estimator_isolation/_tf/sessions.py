"""``tf.compat.v1.Session`` creation and closing (``BaseSession`` patched once per process), and where a
session stays registered after it is closed: as Keras' session, or on the default-session stack."""

from __future__ import annotations

import inspect
import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from types import FrameType, ModuleType
from typing import Any

from .. import _imports, problems
from ._core import _OPS, _SESSION, _module, _wrap, emit, listen, patched

_SESSION_MANAGER = "tensorflow.python.training.session_manager"
_MONITORED_SESSION = "tensorflow.python.training.monitored_session"

SessionHook = Callable[[Any], None]

# Per thread, one list per TF session-making call in progress (innermost last): the sessions made inside it.
_making = threading.local()


def instrument_sessions(
    on_create: SessionHook, on_close: SessionHook, on_collect: SessionHook, on_abandon: SessionHook
) -> None:
    """Call ``on_create(session)`` after every ``tf.compat.v1.Session``/``InteractiveSession`` is built,
    ``on_close(session)`` when code closes it, ``on_collect(session)`` when garbage collection does, and
    ``on_abandon(session)`` for a session TF's ``SessionManager`` or ``MonitoredSession`` made inside a
    call that then raised (``Supervisor.managed_session``, ``evaluate_once``, ... restoring a checkpoint
    that does not match): TF never hands it to the caller, nor closes it."""
    listen("session_created", on_create)
    listen("session_closed", on_close)
    listen("session_collected", on_collect)
    listen("session_abandoned", on_abandon)
    _imports.when_imported(_SESSION, _patch)
    _imports.when_imported(_SESSION_MANAGER, _patch_session_manager)
    _imports.when_imported(_MONITORED_SESSION, _patch_monitored_session)


def _patch(module: ModuleType) -> None:
    base: Any = module.BaseSession
    if patched(base, "__init__"):
        return
    init, close, delete, as_default = base.__init__, base.close, base.__del__, base.as_default
    collecting: set[int] = set()

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        making = getattr(_making, "calls", None)
        if making:
            making[-1].append(self)
        emit("session_created", self)

    def close_(self: Any) -> None:
        if id(self) not in collecting:
            emit("session_closed", self)
        close(self)

    def __del__(self: Any) -> None:
        collecting.add(id(self))
        try:
            if not getattr(self, "_closed", True):
                emit("session_collected", self)
            delete(self)
        finally:
            collecting.discard(id(self))

    def as_default_(self: Any) -> Any:
        cm = as_default(self)
        try:  # kept weakly: a context manager nobody holds pops its session when collected, as without us
            refs = self.__dict__.setdefault(_DEFAULTS, [])
            if len(refs) > 8:  # a fixture's session entered by every test: keep the live ones only
                refs[:] = [ref for ref in refs if ref() is not None]
            refs.append(weakref.ref(cm))
        except (AttributeError, TypeError):
            pass
        return cm

    _wrap(base, "__init__", __init__)
    _wrap(base, "close", close_)
    _wrap(base, "__del__", __del__)
    _wrap(base, "as_default", as_default_)


# On each session: the context managers its as_default() returned (to exit one left entered, in cleanup).
_DEFAULTS = "_estimator_isolation_defaults"


def _abandoning(cls: Any, name: str) -> None:
    """Wrap ``cls.name`` (a TF call that makes sessions) so that a session it made, when it raises, is
    reported as abandoned. Nested calls hand their sessions to the call around them."""
    if patched(cls, name):
        return
    original = getattr(cls, name)

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls: list[list[Any]] | None = getattr(_making, "calls", None)
        if calls is None:
            calls = _making.calls = []
        made: list[Any] = []
        calls.append(made)
        try:
            return original(self, *args, **kwargs)
        except BaseException:
            for session in made:
                if not getattr(session, "_closed", True):
                    emit("session_abandoned", session)
            raise
        finally:
            calls.pop()
            if calls:
                calls[-1].extend(made)

    _wrap(cls, name, call)


def _patch_session_manager(module: ModuleType) -> None:
    cls = getattr(module, "SessionManager", None)
    if cls is None:
        problems.report("tf.compat.v1.train.SessionManager not found: its abandoned sessions count as the test's")
        return
    for name in ("prepare_session", "recover_session", "wait_for_session"):
        if hasattr(cls, name):
            _abandoning(cls, name)


def _patch_monitored_session(module: ModuleType) -> None:
    cls = getattr(module, "_MonitoredSession", None)
    if cls is not None:  # its hooks' after_create_session may raise once the session exists
        _abandoning(cls, "__init__")


_KERAS_SESSION_MAKERS = {"_get_session", "get_session"}


def made_by_keras(depth: int = 8) -> bool:
    """Whether a session being created is Keras' own cached one (``keras.backend._get_session``):
    a few frames up the stack, cheap enough for every session."""
    frame: FrameType | None = sys._getframe(1)
    for _ in range(depth):
        if frame is None:
            return False
        code = frame.f_code
        if code.co_name in _KERAS_SESSION_MAKERS and _is_keras(code.co_filename):
            return True
        frame = frame.f_back
    return False


def _is_keras(filename: str) -> bool:
    return f"{os.sep}keras{os.sep}" in filename or f"{os.sep}tf_keras{os.sep}" in filename


def close_session(session: Any) -> None:
    try:
        session.close()
    except Exception as exc:
        problems.report(f"could not close a leaked session: {exc!r}")


# ---------------------------------------------------------------- where a closed session stays registered

# Keras 2's module that holds its session (tf.keras up to TF 2.15, tf_keras after); Keras 3 has none.
_KERAS_BACKENDS = ("keras.src.backend", "keras.backend", "tf_keras.src.backend")


def _keras_session_holders() -> list[Any]:
    holders = []
    for name in _KERAS_BACKENDS:
        holder = getattr(_module(name), "_SESSION", None)
        if holder is not None and hasattr(holder, "session") and holder not in holders:
            holders.append(holder)
    return holders


_STACK = "tensorflow.python.framework.stack"  # TF >= 2.13; before, the stack lived in ops


def _default_session_stack() -> list[Any]:
    for name in (_STACK, _OPS):
        stack = getattr(getattr(_module(name), "_default_session_stack", None), "stack", None)
        if isinstance(stack, list):
            return stack
    return []


def where_registered(session: Any) -> list[str]:
    """Where ``session`` is still registered in this thread: ``"keras"`` (Keras 2's own session, given
    with ``tf.compat.v1.keras.backend.set_session``) and ``"default"`` (on the default-session stack)."""
    found = []
    if any(getattr(holder, "session", None) is session for holder in _keras_session_holders()):
        found.append("keras")
    if any(entry is session for entry in _default_session_stack()):
        found.append("default")
    return found


def unregister_sessions(sessions: Iterable[Any]) -> None:
    """Drop these sessions from Keras (it makes a fresh one when next asked) and pop them off the
    default-session stack, last entered first, through the context manager that pushed each (so TF's own
    bookkeeping ends as a ``with`` block's would); by hand where that is gone or no longer on top."""
    ids = {id(session) for session in sessions}
    if not ids:
        return
    for holder in _keras_session_holders():
        if id(getattr(holder, "session", None)) in ids:
            holder.session = None
    stack = _default_session_stack()
    while stack and id(stack[-1]) in ids:
        session = stack[-1]
        cm = _entered_context(session)
        try:
            if cm is not None:
                cm.__exit__(None, None, None)
        except Exception as exc:
            problems.report(f"could not exit a closed session's as_default(): {exc!r}")
        if stack and stack[-1] is session:  # no context manager left, or it failed
            stack.pop()
    if any(id(entry) in ids for entry in stack):  # below a session the test did not leave: out by hand
        stack[:] = [entry for entry in stack if id(entry) not in ids]


def _entered_context(session: Any) -> Any:
    """The innermost context manager from ``session.as_default()`` that is entered and not exited."""
    refs: list[weakref.ReferenceType[Any]] = getattr(session, _DEFAULTS, [])
    for ref in reversed(refs):
        cm = ref()
        gen = getattr(cm, "gen", None)  # contextlib's generator: suspended at its yield while entered
        if gen is not None and inspect.getgeneratorstate(gen) == inspect.GEN_SUSPENDED:
            return cm
    return None
