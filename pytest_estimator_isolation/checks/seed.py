"""EI302: TensorFlow's global random seed, put back after a test that set it.

``tf.random.set_seed(...)`` in one test makes later tests deterministic by accident, so they pass only
in that order. Most tests seed at their start, which is right, so this is tidied, never flagged (and
only in strict mode: warn mode changes nothing). With pytest-randomly, TF is also reseeded before every
test (:mod:`pytest_estimator_isolation.seeding`), and a seed it set is not a test's doing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from .. import _tf, seeding
from ..dispatch import check_hook
from ..leaks import Leak, LeakKind
from ..scopes import Scope
from . import RunInfo

GLOBAL_SEED = LeakKind(
    code="EI302",
    name="global-seed",
    meaning="(tidied, strict mode) tf.random.set_seed() left set: later tests would be deterministic only in "
    "this order; the previous global seed is put back after the test",
    fix="nothing to fix: seed at the start of each test that needs it (pytest-randomly reseeds TF for you)",
    severity="info",
    pollutes=False,
    tidy_in_warn=False,
)

KINDS = (GLOBAL_SEED,)

_BEFORE = pytest.StashKey[Any]()


class SeedCheck:
    name = "estimator_isolation.seed"

    @check_hook()
    def pytest_estimator_isolation_snapshot(self, scope: Scope) -> None:
        scope.stash[_BEFORE] = _tf.global_seed()

    @check_hook()
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        before = scope.stash.get(_BEFORE, _tf.UNSET)
        after = _tf.global_seed()
        if after is _tf.UNSET or after == before or (before is _tf.UNSET and after is None):
            return []
        if seeding.reseeded_to(after):  # pytest-randomly's reseeding, after the test's teardown too
            return []
        old = None if before is _tf.UNSET else before
        what = f"tf.random.set_seed({after!r}) left set (was {old!r}); put back after the {scope.kind}"
        return [Leak(GLOBAL_SEED, scope.owner, what, handle=old)]

    @check_hook()
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        for leak in leaks:
            _tf.set_global_seed(leak.handle)


def make(run: RunInfo) -> SeedCheck:
    return SeedCheck()
