"""EI101, EI107-EI110: ``tf.compat.v1.Session`` / ``InteractiveSession`` objects the test (or scoped
fixture) created and did not close, or closed while they were still registered. Judged when they are
created and closed, not by a ``gc`` scan. A session still reachable after the test (a global, a fixture,
the default-session stack, a live thread) fails it (EI101); one nothing can reach any more, closed by
garbage collection when the test returned, is a warning (EI109), as Python's ``ResourceWarning`` for an
unclosed file. Sessions Keras caches for itself (EI107) and sessions TF left open when one of its calls
failed (EI108: an Estimator call, or its ``SessionManager`` / ``MonitoredSession``) are not the test's
doing: they are closed after it and counted.

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
from ..dispatch import check_hook
from ..leaks import Leak, LeakKind, Site
from ..scopes import Scope
from . import RunInfo

OPEN_SESSION = LeakKind(
    code="EI101",
    name="open-session",
    meaning="a tf.compat.v1.Session / InteractiveSession created by the test was not closed by it, and is still "
    "reachable after it (held by a global, a fixture, Keras, the default-session stack or a running thread)",
    fix="use `with tf.compat.v1.Session() as sess:` or the `tf_session` fixture, or call `sess.close()`",
    symptoms=("get_default_session", "InteractiveSession", "executing_eagerly", "closed Session"),
)
KERAS_SESSION = LeakKind(
    code="EI107",
    name="keras-session",
    meaning="(tidied) Keras' own cached graph-mode session, left by model.fit/predict; cleared "
    "(keras.backend.clear_session) and closed after the test",
    fix="nothing to fix; `keras_clean` or --estimator-isolation-keras-reset do the same explicitly",
    severity="info",
    pollutes=False,
)
TF_SESSION = LeakKind(
    code="EI108",
    name="tf-internal-session",
    meaning="(tidied) a Session TensorFlow made inside a call that failed (an Estimator train/evaluate, or "
    "its SessionManager / MonitoredSession, e.g. restoring an incompatible checkpoint) and never closed: "
    "TF's own bug, closed after the test",
    fix="fix the failure itself (the test already reports it); the session is not yours to close",
    severity="info",
    pollutes=False,
)
UNCLOSED_SESSION = LeakKind(
    code="EI109",
    name="unclosed-session",
    meaning="a tf.compat.v1.Session the test created was never closed, but nothing could reach it once the "
    "test returned: garbage collection closed it, as Python closes an unclosed file with a ResourceWarning",
    fix=OPEN_SESSION.fix,
    severity="warning",
    cleanable=False,
    pollutes=False,
)

CLOSED_SESSION = LeakKind(
    code="EI110",
    name="closed-session-registered",
    meaning="a Session was closed while still registered: as Keras' session (tf.compat.v1.keras.backend."
    "set_session) or as the default session (as_default() entered, never exited); every later test that "
    "reaches it gets 'RuntimeError: Attempted to use a closed Session.'",
    fix="unregister before closing: `with sess.as_default():` instead of entering it by hand, and "
    "`tf.compat.v1.keras.backend.clear_session()` after a test that gave Keras its session",
    symptoms=("Attempted to use a closed Session",),
)

KINDS = (OPEN_SESSION, KERAS_SESSION, TF_SESSION, UNCLOSED_SESSION, CLOSED_SESSION)


@dataclass
class _Record:
    session: weakref.ReferenceType[Any]
    type_name: str
    stack: tuple[Site, ...]
    thread: threading.Thread
    maker: LeakKind  # OPEN_SESSION: the test's own; KERAS_SESSION, TF_SESSION: made for it
    state: str = "open"  # -> "closed" by code, or "collected" by garbage collection
    abandoned: bool = False  # made by TF's SessionManager / MonitoredSession in a call that raised

    def unreachable(self) -> bool:
        return self.state == "collected" or self.session() is None


_RECORDS = pytest.StashKey[dict[int, _Record]]()
# sessions a scope closed while they were registered, with where it closed them
_CLOSED = pytest.StashKey["list[tuple[weakref.ReferenceType[Any], tuple[Site, ...]]]"]()
_HOW = {
    "keras": "Keras' session (tf.compat.v1.keras.backend.set_session)",
    "default": "the default session (as_default() entered and never exited)",
}


class SessionsCheck:
    name = "estimator_isolation.sessions"

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
        scope = scopes.current()
        if scope is not None and _tf.where_registered(session):  # a `with` block unregisters it first
            scope.stash.setdefault(_CLOSED, []).append((weakref.ref(session), _sites.user_stack(3)))

    def _collected(self, session: Any) -> None:
        record = self._live.pop(id(session), None)
        if record is not None:
            record.state = "collected"

    def _abandoned(self, session: Any) -> None:
        record = self._live.get(id(session))
        if record is not None and record.maker is OPEN_SESSION:
            record.maker = TF_SESSION
            record.abandoned = True

    @check_hook()
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        records = scope.stash.get(_RECORDS, None)
        closed = scope.stash.get(_CLOSED, None)
        if not records and not closed:
            return []
        leaks = []
        if records:
            left = [record for record in records.values() if record.state != "closed"]
            records.clear()
            # No gc.collect() here: a session kept alive only by a reference cycle stays EI101 (a
            # collection costs ~0.5 s with TF loaded, for every test that leaves a session).
            leaks = [self._leak(scope, record) for record in left if record.state != "closed"]
        if closed:
            leaks.extend(_still_registered(scope, closed))
            closed.clear()
        return leaks

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
    @check_hook(tryfirst=True)
    # Each session is unregistered (from Keras, and popped off the default-session stack) before it is
    # closed: closing one still registered would hand the next test a closed session (EI110's symptom).
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        if any(leak.kind is KERAS_SESSION for leak in leaks):
            _tf.keras_clear_session()
        sessions = [session for session in (leak.handle() for leak in leaks) if session is not None]
        _tf.unregister_sessions(sessions)
        for session in sessions:
            _tf.close_session(session)

    @check_hook()
    def pytest_estimator_isolation_still_in_place(self, leak: Leak) -> bool | None:
        if leak.kind not in KINDS:
            return None
        session = leak.handle()
        if session is None:
            return False
        if leak.kind is CLOSED_SESSION:
            return bool(_tf.where_registered(session))
        return not getattr(session, "_closed", True)


def _still_registered(scope: Scope, closed: list[tuple[weakref.ReferenceType[Any], tuple[Site, ...]]]) -> list[Leak]:
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


def make(run: RunInfo) -> SessionsCheck:
    return SessionsCheck()
