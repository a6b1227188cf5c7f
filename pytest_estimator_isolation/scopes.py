"""Who owns what a test run creates: the running test, or a scoped fixture while it is set up.

Checks that record resources as they are created (sessions, Estimator calls) file them under
:func:`current`; checks that compare global state keep their baseline in :attr:`Scope.stash`.
"""

from __future__ import annotations

from typing import Literal, TypeVar

import pytest

_T = TypeVar("_T")
_D = TypeVar("_D")

ENVIRON = pytest.StashKey[dict]()  # type: ignore[type-arg]
"""On the scope of a test that was running when checking began (the suite imported TensorFlow inside it):
``os.environ`` as it was when that test started, as ``os.environ`` stores it (encoded keys and values)."""


class _Stash(pytest.Stash):
    """A :class:`pytest.Stash` whose ``get`` looks before it reads: pytest's raises and catches a
    ``KeyError`` for a missing key, and the checks ask around every test for keys a clean test never set."""

    __slots__ = ()

    def get(self, key: pytest.StashKey[_T], default: _D) -> _T | _D:
        return self[key] if key in self else default


class Scope:
    """A test, or a fixture of a wider scope than ``function``, from its setup to its teardown.

    ``owner``: the test's nodeid, or ``fixture 'name' (module scope)``: leaks are reported against it.
    ``stash``: where checks keep what they compare against. ``item``: the test (``None`` for a fixture)."""

    __slots__ = ("_cls", "_looked_up", "item", "kind", "notes", "owner", "stash")

    def __init__(
        self, owner: str, kind: Literal["test", "fixture"], cls: type | None = None, item: pytest.Item | None = None
    ) -> None:
        self.owner = owner
        self.kind = kind
        self.stash: pytest.Stash = _Stash()
        self.item = item
        self.notes: list[str] = []  # lines for this test's report if it fails (see note())
        self._cls = cls
        self._looked_up = item is None  # the test's class is looked up only if asked (pytest walks its parents)

    @property
    def cls(self) -> type | None:
        """The test's class, if any (a ``tf.test.TestCase`` has contracts of its own)."""
        if not self._looked_up:
            self._cls, self._looked_up = getattr(self.item, "cls", None), True
        return self._cls

    def __repr__(self) -> str:
        return f"Scope({self.owner!r}, {self.kind!r})"


_active: list[Scope] = []


def current() -> Scope | None:
    """The innermost active scope, or ``None`` outside tests (collection, plugin code)."""
    return _active[-1] if _active else None


def push(scope: Scope, bottom: bool = False) -> None:
    """Make ``scope`` the owner of what is created from now on; ``bottom``: only once the scopes
    active now (fixtures being set up inside it) are done."""
    if bottom:
        _active.insert(0, scope)
    else:
        _active.append(scope)


def pop(scope: Scope) -> None:
    if scope in _active:
        _active.remove(scope)


def note(text: str) -> None:
    """Add a line to the running test's report, shown only if the test fails (e.g. which test wrote the
    checkpoint a failed restore read); the same line is kept once."""
    scope = current()
    if scope is not None and text not in scope.notes:
        scope.notes.append(text)


def notes() -> list[str]:
    """Every active scope's notes, outermost first."""
    return [text for scope in _active for text in scope.notes]


def clear() -> None:
    """The run is over (a second in-process run starts with no scope)."""
    _active.clear()
