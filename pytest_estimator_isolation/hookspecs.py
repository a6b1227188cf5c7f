"""The hooks a check implements. Built-in checks live in :mod:`pytest_estimator_isolation.checks`;
a conftest or plugin adds its own by implementing these hooks (``register`` it on the plugin manager).

Every hook is called once per :class:`~pytest_estimator_isolation.scopes.Scope`: a test, or a fixture of
a wider scope. A check must never import TensorFlow itself; :mod:`pytest_estimator_isolation._tf` tells
whether the suite has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .leaks import Leak, LeakKind
    from .scopes import Scope

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_estimator_isolation_kinds() -> Sequence[LeakKind]:
    """Return the kinds of leak this check reports (their codes, names, meanings and fixes)."""
    raise NotImplementedError


@hookspec
def pytest_estimator_isolation_snapshot(scope: Scope) -> None:
    """Record the state this check compares against, in ``scope.stash``.

    Called before a test's setup and again after each wider-scoped fixture it sets up (so that what the
    fixture did is not blamed on the test), and before a scoped fixture's setup.
    """


@hookspec
def pytest_estimator_isolation_find_leaks(scope: Scope) -> Sequence[Leak]:
    """Return what ``scope`` left behind, after its teardown. Must be cheap when nothing leaked."""
    raise NotImplementedError


@hookspec
def pytest_estimator_isolation_cleanup(scope: Scope, leaks: Sequence[Leak]) -> None:
    """Undo the leaks this check found (``leak.check`` is this check's name), in strict mode only,
    so the next test starts clean. Must not raise for a resource that is already gone."""
