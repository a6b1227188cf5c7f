"""``tf.compat.v1.Session`` creation and closing (``BaseSession`` patched once per process)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any

from .. import _imports, problems
from ._core import _SESSION, _wrap, emit, listen, patched

SessionHook = Callable[[Any], None]


def instrument_sessions(on_create: SessionHook, on_close: SessionHook, on_collect: SessionHook) -> None:
    """Call ``on_create(session)`` after every ``tf.compat.v1.Session``/``InteractiveSession`` is built,
    ``on_close(session)`` when code closes it, and ``on_collect(session)`` when garbage collection does."""
    listen("session_created", on_create)
    listen("session_closed", on_close)
    listen("session_collected", on_collect)
    _imports.when_imported(_SESSION, _patch)


def _patch(module: ModuleType) -> None:
    base: Any = module.BaseSession
    if patched(base, "__init__"):
        return
    init, close, delete = base.__init__, base.close, base.__del__
    collecting: set[int] = set()

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
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
