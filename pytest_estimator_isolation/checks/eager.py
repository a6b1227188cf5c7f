"""EI105: the process-wide execution mode changed (``tf.compat.v1.disable_eager_execution()`` in a test
turns every later test into graph mode)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from .. import _tf
from ..kinds import EAGER_MODE
from ..leaks import Leak
from ..scopes import Scope

_BEFORE = pytest.StashKey["bool | None"]()


def _name(eager: bool | None) -> str:
    return "eager" if eager else "graph (eager execution disabled)"


class EagerCheck:
    def __init__(self) -> None:
        _tf.track_mode_switches()

    @pytest.hookimpl
    def pytest_estimator_isolation_snapshot(self, scope: Scope) -> None:
        scope.stash[_BEFORE] = _tf.eager_default()

    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        after = _tf.eager_default()
        if after is None:
            return []
        before = scope.stash.get(_BEFORE, None)
        if before is None:  # TF was first imported during this scope
            before = _tf.eager_at_import()
        if after == before:
            return []
        what = f"execution mode is {_name(after)}, was {_name(before)} before the {scope.kind}"
        stack = _tf.mode_switch_site()
        return [Leak(EAGER_MODE, scope.owner, what, stack[0] if stack else None, stack, handle=before)]

    @pytest.hookimpl
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        for leak in leaks:
            _tf.set_eager_default(bool(leak.handle))

    @pytest.hookimpl
    def pytest_estimator_isolation_still_in_place(self, leak: Leak) -> bool | None:
        if leak.origin is not self:
            return None
        return bool(_tf.eager_default() != leak.handle)
