"""EI101, EI107-EI109: ``tf.compat.v1.Session`` / ``InteractiveSession`` objects the test (or scoped
fixture) created and did not close. Judged when they are created and closed, not by a ``gc`` scan. A
session still reachable after the test (a global, a fixture, the default-session stack, a live thread)
fails it (EI101); one nothing can reach any more, closed by garbage collection when the test returned,
is a warning (EI109), as Python's ``ResourceWarning`` for an unclosed file. Sessions Keras caches for itself
(EI107) and sessions TF left open when one of its calls failed (EI108: an Estimator call, or its
``SessionManager`` / ``MonitoredSession``) are not the test's doing: they are closed after it and counted."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from .. import _sites, _tf, scopes
from ..kinds import KERAS_SESSION, OPEN_SESSION, TF_SESSION, UNCLOSED_SESSION
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
    abandoned: bool = False  # made by TF's SessionManager / MonitoredSession in a call that raised

    def unreachable(self) -> bool:
        return self.state == "collected" or self.session() is None


_RECORDS = pytest.StashKey[dict[int, _Record]]()


class SessionsCheck:
    def __init__(self) -> None:
        self._live: dict[int, _Record] = {}
        _tf.instrument_sessions(self._created, self._closed, self._collected, self._abandoned)

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

    def _collected(self, session: Any) -> None:
        record = self._live.pop(id(session), None)
        if record is not None:
            record.state = "collected"

    def _abandoned(self, session: Any) -> None:
        record = self._live.get(id(session))
        if record is not None and record.maker is OPEN_SESSION:
            record.maker = TF_SESSION
            record.abandoned = True

    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        records = scope.stash.get(_RECORDS, None)
        if not records:
            return []
        left = [record for record in records.values() if record.state != "closed"]
        records.clear()
        # No gc.collect() here: a session kept alive only by a reference cycle stays EI101 (a collection
        # costs ~0.5 s with TF loaded, for every test that leaves a session).
        return [self._leak(scope, record) for record in left if record.state != "closed"]

    def _leak(self, scope: Scope, record: _Record) -> Leak:
        where = record.stack[0] if record.stack else None
        keep = False
        maker = record.maker
        if maker is KERAS_SESSION:
            what = f"Keras' cached {record.type_name}: cleared and closed after the {scope.kind}"
        elif maker is TF_SESSION and record.abandoned:
            what = (
                f"{record.type_name} TensorFlow's SessionManager / MonitoredSession opened inside a call that "
                "raised (e.g. restoring a checkpoint that does not match), never handed over nor closed: "
                f"closed after the {scope.kind}"
            )
        elif maker is TF_SESSION:
            what = (
                f"{record.type_name} TensorFlow opened inside a failed Estimator train/evaluate (its "
                "SessionManager does not close it when restoring a checkpoint fails): closed after the test"
            )
        elif record.unreachable():
            maker = UNCLOSED_SESSION
            what = (
                f"{record.type_name} was never closed; nothing could reach it after the {scope.kind}, so garbage "
                "collection closed it"
            )
        elif record.type_name == "InteractiveSession":
            what = (
                "InteractiveSession is still open: it stays the default session for every later test "
                "(and, if given a graph, keeps that graph entered so tf.executing_eagerly() is False)"
            )
        else:
            what = f"{record.type_name} is still open (it holds threads and memory)"
        thread = record.thread
        if maker is OPEN_SESSION and thread is not threading.main_thread() and thread.is_alive():
            keep = True  # closing it under its live thread would only move the failure to a later test
            what += f"; not closed: thread {thread.name!r} that created it is still running"
        return Leak(maker, scope.owner, what, where, record.stack, handle=record.session, keep=keep)

    # tryfirst: closing a leaked InteractiveSession exits the graph context it entered, which must
    # happen before the graph check resets the default-graph stack under it.
    @pytest.hookimpl(tryfirst=True)
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        if any(leak.kind is KERAS_SESSION for leak in leaks):
            _tf.keras_clear_session()
        for leak in leaks:
            session = leak.handle()
            if session is not None:
                _tf.close_session(session)

    @pytest.hookimpl
    def pytest_estimator_isolation_still_in_place(self, leak: Leak) -> bool | None:
        if leak.origin is not self:
            return None
        session = leak.handle()
        return session is not None and not getattr(session, "_closed", True)
