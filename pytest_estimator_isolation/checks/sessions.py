"""EI101: a ``tf.compat.v1.Session`` or ``InteractiveSession`` the test (or scoped fixture) created and
did not close. Judged when it is created and closed, not by a ``gc`` scan: a session that only garbage
collection closed counts as unclosed, as Python's ``ResourceWarning`` treats an unclosed file."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from .. import _sites, _tf, scopes
from ..leaks import Leak, LeakKind
from ..scopes import Scope

OPEN_SESSION = LeakKind(
    code="EI101",
    name="open-session",
    meaning="a tf.compat.v1.Session / InteractiveSession created by the test was not closed by it",
    fix="use `with tf.compat.v1.Session() as sess:` or the `tf_session` fixture, or call `sess.close()`",
    symptoms=("get_default_session", "InteractiveSession", "executing_eagerly"),
)


@dataclass
class _Record:
    session: weakref.ReferenceType[Any]
    type_name: str
    stack: tuple[str, ...]
    state: str = "open"  # -> "closed" by code, or "collected" by garbage collection


_RECORDS = pytest.StashKey[dict[int, _Record]]()


class SessionsCheck:
    def __init__(self) -> None:
        self._live: dict[int, _Record] = {}
        _tf.instrument_sessions(self._created, self._closed, self._collected)

    def _created(self, session: Any) -> None:
        scope = scopes.current()
        if scope is None:
            return
        record = _Record(weakref.ref(session), type(session).__name__, _sites.user_stack(3))
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

    @pytest.hookimpl
    def pytest_estimator_isolation_kinds(self) -> Sequence[LeakKind]:
        return [OPEN_SESSION]

    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        records = scope.stash.get(_RECORDS, None)
        if not records:
            return []
        leaks = []
        for record in records.values():
            if record.state == "closed":
                continue
            if record.state == "collected":
                what = f"{record.type_name} was never closed (garbage collection closed it after the test)"
            elif record.type_name == "InteractiveSession":
                what = (
                    "InteractiveSession is still open: it stays the default session for every later test "
                    "(and, if given a graph, keeps that graph entered so tf.executing_eagerly() is False)"
                )
            else:
                what = f"{record.type_name} is still open (it holds threads and memory)"
            where = record.stack[0] if record.stack else None
            leaks.append(Leak(OPEN_SESSION, scope.owner, what, where, record.stack, handle=record.session))
        records.clear()
        return leaks

    @pytest.hookimpl
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        for leak in leaks:
            if leak.kind is OPEN_SESSION and leak.handle is not None:
                session = leak.handle()
                if session is not None:
                    _tf.close_session(session)
