"""The hooks a check implements. Built-in checks live in :mod:`pytest_estimator_isolation.checks`;
a conftest or plugin adds its own by implementing these hooks (``register`` it on the plugin manager).

pluggy calls them with its usual rules (``tryfirst``/``trylast``, ``wrapper=True``). A plain
implementation that raises does not stop the others: the crash becomes an ``EI900`` leak of the scope
being judged (a usage error, for ``kinds``). Every hook is called once per
:class:`~pytest_estimator_isolation.scopes.Scope`: a test, or a fixture of a wider scope. A check must
never import TensorFlow itself; look in ``sys.modules`` for what the suite loaded.
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
    """Return the kinds of leak this check reports (their codes, names, meanings and fixes), so that
    ``allow_leaks`` and baselines can name them."""
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
    """Undo ``leaks``: the ones this check found that the verdict says to undo (strict mode, or
    ``info`` leaks in any checking mode), so the next test starts clean. Must not raise for a resource
    that is already gone."""


@hookspec(firstresult=True)
def pytest_estimator_isolation_still_in_place(leak: Leak) -> bool | None:
    """Whether a leak this check found and left in place (warn mode, an allowed kind) is still there,
    when a later test fails and the plugin names its probable polluters. ``None``: not this check's
    leak (or it cannot tell), ask the next one; a leak nobody answers for counts as still in place."""
