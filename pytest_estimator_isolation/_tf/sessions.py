"""``tf.compat.v1.Session`` creation and closing (``BaseSession`` patched once per process)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any

from .. import _imports, problems
from ._core import _SESSION, _wrap, emit, listen, patched

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
    init, close, delete = base.__init__, base.close, base.__del__
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

    _wrap(base, "__init__", __init__)
    _wrap(base, "close", close_)
    _wrap(base, "__del__", __del__)


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
