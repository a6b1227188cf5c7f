"""EI101, EI107, EI108, EI110: ``tf.compat.v1.Session`` / ``InteractiveSession`` objects the test (or
scoped fixture) created and did not close, or closed while they were still registered. Judged when they
are created and closed, not by a ``gc`` scan: a session that only garbage collection closed counts as
unclosed, as Python's ``ResourceWarning`` treats an unclosed file. Sessions Keras caches for itself
(EI107) and sessions TF's Estimator left open when a call failed (EI108) are not the test's doing: they
are closed after it and counted.

EI110: a session the test closed while it was Keras' session (``set_session``) or on the default-session
stack (``as_default().__enter__()``) and that is still there after the test: every later use raises
``Attempted to use a closed Session``. Only sessions closed while registered are looked at again, so a
clean test pays nothing for it."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from .. import _sites, _tf, scopes
from ..kinds import CLOSED_SESSION, KERAS_SESSION, OPEN_SESSION, TF_SESSION
from ..leaks import Leak, LeakKind
from ..scopes import Scope


@dataclass
class _Record:
    session: weakref.ReferenceType[Any]
    type_name: str
    stack: tuple[str, ...]
    thread: threading.Thread
    maker: LeakKind  # OPEN_SESSION: the test's own; KERAS_SESSION, TF_SESSION: made for it
    state: str = "open"  # -> "closed" by code, or "collected" by garbage collection


_RECORDS = pytest.StashKey[dict[int, _Record]]()
# sessions a scope closed while they were registered, with where it closed them
_CLOSED = pytest.StashKey["list[tuple[weakref.ReferenceType[Any], tuple[str, ...]]]"]()
_HOW = {
    "keras": "Keras' session (tf.compat.v1.keras.backend.set_session)",
    "default": "the default session (as_default() entered and never exited)",
}


class SessionsCheck:
    def __init__(self) -> None:
        self._live: dict[int, _Record] = {}
        _tf.instrument_sessions(self._created, self._closed, self._collected)

    def _created(self, session: Any) -> None:
        scope = scopes.current()
        if scope is None:
            return
        if _tf.made_by_keras():
            maker = KERAS_SESSION
        elif _tf.inside_estimator_call():
            maker = TF_SESSION
        else:
            maker = OPEN_SESSION
        stack = _sites.user_stack(3)
        record = _Record(weakref.ref(session), type(session).__name__, stack, threading.current_thread(), maker)
        scope.stash.setdefault(_RECORDS, {})[id(session)] = record
        self._live[id(session)] = record

    def _closed(self, session: Any) -> None:
        record = self._live.pop(id(session), None)
        if record is not None:
            record.state = "closed"
        scope = scopes.current()
        if scope is not None and _tf.where_registered(session):  # a `with` block unregisters it first
            scope.stash.setdefault(_CLOSED, []).append((weakref.ref(session), _sites.user_stack(3)))

    def _collected(self, session: Any) -> None:
        record = self._live.pop(id(session), None)
        if record is not None:
            record.state = "collected"

    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        records = scope.stash.get(_RECORDS, None)
        closed = scope.stash.get(_CLOSED, None)
        if not records and not closed:
            return []
        leaks = []
        if records:
            leaks = [self._leak(scope, record) for record in records.values() if record.state != "closed"]
            records.clear()
        if closed:
            leaks.extend(_still_registered(scope, closed))
            closed.clear()
        return leaks

    def _leak(self, scope: Scope, record: _Record) -> Leak:
        where = record.stack[0] if record.stack else None
        keep = False
        if record.maker is KERAS_SESSION:
            what = f"Keras' cached {record.type_name}: cleared and closed after the {scope.kind}"
        elif record.maker is TF_SESSION:
            what = (
                f"{record.type_name} TensorFlow opened inside a failed Estimator train/evaluate (its "
                "SessionManager does not close it when restoring a checkpoint fails): closed after the test"
            )
        elif record.state == "collected":
            what = f"{record.type_name} was never closed (garbage collection closed it after the {scope.kind})"
        elif record.type_name == "InteractiveSession":
            what = (
                "InteractiveSession is still open: it stays the default session for every later test "
                "(and, if given a graph, keeps that graph entered so tf.executing_eagerly() is False)"
            )
        else:
            what = f"{record.type_name} is still open (it holds threads and memory)"
        thread = record.thread
        if record.state == "open" and thread is not threading.main_thread() and thread.is_alive():
            keep = True  # closing it under its live thread would only move the failure to a later test
            what += f"; not closed: thread {thread.name!r} that created it is still running"
        return Leak(record.maker, scope.owner, what, where, record.stack, handle=record.session, keep=keep)

    # tryfirst: closing a leaked InteractiveSession exits the graph context it entered, which must
    # happen before the graph check resets the default-graph stack under it.
    @pytest.hookimpl(tryfirst=True)
    # Each session is unregistered (from Keras, and popped off the default-session stack) before it is
    # closed: closing one still registered would hand the next test a closed session (EI110's symptom).
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        if any(leak.kind is KERAS_SESSION for leak in leaks):
            _tf.keras_clear_session()
        sessions = [session for session in (leak.handle() for leak in leaks) if session is not None]
        _tf.unregister_sessions(sessions)
        for session in sessions:
            _tf.close_session(session)

    @pytest.hookimpl
    def pytest_estimator_isolation_still_in_place(self, leak: Leak) -> bool | None:
        if leak.origin is not self:
            return None
        session = leak.handle()
        if session is None:
            return False
        if leak.kind is CLOSED_SESSION:
            return bool(_tf.where_registered(session))
        return not getattr(session, "_closed", True)


def _still_registered(scope: Scope, closed: list[tuple[weakref.ReferenceType[Any], tuple[str, ...]]]) -> list[Leak]:
    leaks = []
    seen: set[int] = set()
    for ref, stack in closed:
        session = ref()
        if session is None or id(session) in seen:
            continue
        seen.add(id(session))
        where = _tf.where_registered(session)
        if not where:  # unregistered after closing (clear_session(), the context exited): fine
            continue
        what = (
            f"{type(session).__name__} was closed but is still {' and '.join(_HOW[w] for w in where)}: "
            "every later use raises 'RuntimeError: Attempted to use a closed Session.'"
        )
        leaks.append(Leak(CLOSED_SESSION, scope.owner, what, stack[0] if stack else None, stack, handle=ref))
    return leaks
