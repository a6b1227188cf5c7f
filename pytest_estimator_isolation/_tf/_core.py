"""What every part of the TF facade shares: module lookups, patching, and the run's listeners.

TF classes are patched once per process; a patch only calls :func:`emit`, which dispatches to the
callbacks the current run registered with :func:`listen`. A second in-process ``pytest.main`` (pytester
inline runs, IDE runners) therefore never reaches the checks of a finished run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from .. import _imports, problems

_OPS = "tensorflow.python.framework.ops"
_CONTEXT = "tensorflow.python.eager.context"
_SESSION = "tensorflow.python.client.session"
_SUMMARY = "tensorflow.python.ops.summary_ops_v2"
_CONFIG = "tensorflow.python.framework.config"

_listeners: dict[str, Callable[..., Any]] = {}


def listen(event: str, callback: Callable[..., Any]) -> None:
    """Call ``callback(*args)`` on every ``emit(event, *args)`` of this run (replaces an earlier one)."""
    _listeners[event] = callback


def forget_listeners() -> None:
    _listeners.clear()


def emit(event: str, *args: Any) -> None:
    """Tell the current run's listener; never raises into the user's code that triggered it."""
    callback = _listeners.get(event)
    if callback is None:
        return
    try:
        callback(*args)
    except Exception as exc:
        problems.report(f"{event.replace('_', ' ')} tracking failed: {exc!r}")


def ask(event: str, *args: Any) -> Any:
    """Like :func:`emit`, and return what the listener answered (None without one, or if it failed)."""
    callback = _listeners.get(event)
    if callback is None:
        return None
    try:
        return callback(*args)
    except Exception as exc:
        problems.report(f"{event.replace('_', ' ')} tracking failed: {exc!r}")
        return None


def listening(event: str) -> bool:
    """Whether this run listens to ``event`` (a patch can skip work only a listener needs)."""
    return event in _listeners


def add_note(exc: BaseException, note: str | None) -> None:
    """Add ``note`` to an exception on its way to the user (Python 3.11+: shown under its message), once."""
    if note and hasattr(exc, "add_note") and note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)


def version() -> str | None:
    return _imports.loaded_version("tensorflow")


class Unavailable(LookupError):
    """The library is not loaded, or this version lacks the state: skip it silently."""


def _module(name: str) -> Any:
    """A loaded module, or None (nothing here ever imports one)."""
    return sys.modules.get(name)


def _loaded(name: str) -> Any:
    """A loaded module, or :class:`Unavailable`."""
    module = sys.modules.get(name)
    if module is None:
        raise Unavailable(name)
    return module


def equal(old: Any, new: Any) -> bool:
    return bool(old == new)


def context_or_none() -> Any:
    """The eager context, or None while TF has not created it (it is never created here;
    ``_reset_context()`` replaces it: look it up on every read)."""
    return _loaded(_CONTEXT).context_safe()


def summary_state() -> Any:
    """``tf.summary``'s per-thread state (its default writer, step and ``record_if``), or None before TF
    loaded it."""
    return getattr(_module(_SUMMARY), "_summary_state", None)


def context() -> Any:
    """The eager context, created if need be: for an undo (the context exists by then)."""
    return _loaded(_CONTEXT).context()


def _wrap(cls: Any, name: str, func: Any) -> None:
    original = getattr(cls, name)
    func.__estimator_isolation__ = True
    func.__wrapped__ = original
    func.__doc__ = original.__doc__
    func.__name__ = original.__name__
    setattr(cls, name, func)


def patched(cls: Any, name: str) -> bool:
    return bool(getattr(getattr(cls, name, None), "__estimator_isolation__", False))
