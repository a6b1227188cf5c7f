"""EI105: the process-wide execution mode changed (``tf.compat.v1.disable_eager_execution()`` in a test
turns every later test into graph mode)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from .. import _tf
from ..dispatch import check_hook
from ..leaks import Leak, LeakKind
from ..scopes import Scope
from . import RunInfo

EAGER_MODE = LeakKind(
    code="EI105",
    name="eager-mode",
    meaning="the test switched TensorFlow's process-wide execution mode and left it switched",
    fix="build graph-mode code in a private graph (`tf_graph` fixture, `with tf.Graph().as_default():`); "
    "a graph-mode suite calls disable_eager_execution() once, in conftest.py",
    symptoms=("executing_eagerly", "eager execution", "numpy() is only available", "has no attribute 'numpy'"),
    compared=True,
)

KINDS = (EAGER_MODE,)

_BEFORE = pytest.StashKey["bool | None"]()


def _name(eager: bool | None) -> str:
    return "eager" if eager else "graph (eager execution disabled)"


class EagerCheck:
    name = "estimator_isolation.eager"

    def __init__(self) -> None:
        _tf.track_mode_switches()

    @check_hook()
    def pytest_estimator_isolation_snapshot(self, scope: Scope) -> None:
        scope.stash[_BEFORE] = _tf.eager_default()

    @check_hook()
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

    @check_hook()
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        for leak in leaks:
            _tf.set_eager_default(bool(leak.handle))

    @check_hook()
    def pytest_estimator_isolation_still_in_place(self, leak: Leak) -> bool | None:
        if leak.kind not in KINDS:
            return None
        return bool(_tf.eager_default() != leak.handle)


def make(run: RunInfo) -> EagerCheck:
    return EagerCheck()
