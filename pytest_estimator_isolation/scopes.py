"""Who owns what a test run creates: the running test, or a scoped fixture while it is set up.

Checks that record resources as they are created (sessions, Estimator calls) file them under
:func:`current`; checks that compare global state keep their baseline in :attr:`Scope.stash`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest


@dataclass(eq=False)
class Scope:
    """A test, or a fixture of a wider scope than ``function``, from its setup to its teardown."""

    owner: str
    """The test's nodeid, or ``fixture 'name' (module scope)``: leaks are reported against it."""
    kind: Literal["test", "fixture"]
    cls: type | None = None
    """The test's class, if any (a ``tf.test.TestCase`` has contracts of its own)."""
    stash: pytest.Stash = field(default_factory=pytest.Stash)


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


def clear() -> None:
    """The run is over (a second in-process run starts with no scope)."""
    _active.clear()
