"""What every part of the TF facade shares: module lookups, problems, patching."""

from __future__ import annotations

import sys
from typing import Any

_OPS = "tensorflow.python.framework.ops"
_CONTEXT = "tensorflow.python.eager.context"
_SESSION = "tensorflow.python.client.session"

_problems: list[str] = []


def problem(message: str) -> None:
    """Note that part of the instrumentation is unavailable on this TF (reported once, never raised)."""
    if message not in _problems:
        _problems.append(message)


def take_problems() -> list[str]:
    out = _problems[:]
    _problems.clear()
    return out


def loaded() -> bool:
    return _OPS in sys.modules


def version() -> str | None:
    tf = sys.modules.get("tensorflow")
    found = getattr(tf, "__version__", None)
    return found if isinstance(found, str) else None


def _module(name: str) -> Any:
    return sys.modules.get(name)


def _wrap(cls: Any, name: str, func: Any) -> None:
    original = getattr(cls, name)
    func.__estimator_isolation__ = True
    func.__wrapped__ = original
    func.__doc__ = original.__doc__
    func.__name__ = original.__name__
    setattr(cls, name, func)
