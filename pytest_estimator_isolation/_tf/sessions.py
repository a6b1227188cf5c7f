"""``tf.compat.v1.Session`` creation and closing (``BaseSession`` patched)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from .. import _imports
from ._core import _SESSION, _wrap, problem

SessionHook = Callable[[Any], None]


def instrument_sessions(on_create: SessionHook, on_close: SessionHook, on_collect: SessionHook) -> None:
    """Call ``on_create(session)`` after every ``tf.compat.v1.Session``/``InteractiveSession`` is built,
    ``on_close(session)`` when code closes it, and ``on_collect(session)`` when garbage collection does."""

    def patch(module: ModuleType) -> None:
        base: Any = module.BaseSession
        if getattr(base.__init__, "__estimator_isolation__", False):
            return
        init, close, delete = base.__init__, base.close, base.__del__
        collecting: set[int] = set()

        def safe(hook: SessionHook, session: Any) -> None:
            try:
                hook(session)
            except Exception as exc:
                problem(f"session tracking failed: {exc!r}")

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            safe(on_create, self)

        def close_(self: Any) -> None:
            if id(self) not in collecting:
                safe(on_close, self)
            close(self)

        def __del__(self: Any) -> None:
            collecting.add(id(self))
            try:
                if not getattr(self, "_closed", True):
                    safe(on_collect, self)
                delete(self)
            finally:
                collecting.discard(id(self))

        _wrap(base, "__init__", __init__)
        _wrap(base, "close", close_)
        _wrap(base, "__del__", __del__)

    _imports.when_imported(_SESSION, patch)


def close_session(session: Any) -> None:
    try:
        session.close()
    except Exception as exc:
        problem(f"could not close a leaked session: {exc!r}")
