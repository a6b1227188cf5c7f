"""Diagnostics about the plugin itself (a TF internal it reads was renamed, an instrumentation or a
cleanup failed): collected from anywhere, shown once each as a warning on the test that was running."""

from __future__ import annotations

_seen: set[str] = set()
_pending: list[str] = []


def report(message: str) -> None:
    """Note a problem; the same message is delivered once per run, however often it is reported."""
    if message not in _seen:
        _seen.add(message)
        _pending.append(message)


def take() -> list[str]:
    """The problems reported since the last call."""
    if not _pending:
        return []
    out = _pending[:]
    _pending.clear()
    return out


def reset() -> None:
    """Forget everything (at the end of a run: a second in-process run reports afresh)."""
    _seen.clear()
    _pending.clear()
