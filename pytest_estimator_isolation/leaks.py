"""The records every check produces: what kinds of leak exist, and one found leak."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

Severity = Literal["error", "warning", "info"]
"""``error`` fails the test in strict mode; ``warning`` only warns; ``info`` is what TF's own contracts
already undo (a cache TF keeps, a graph TF resets): tidied up quietly and counted, never a failure."""


class EstimatorIsolationWarning(pytest.PytestWarning):
    """A leak found in ``warn`` mode (or a warning-level leak in ``strict`` mode)."""

    __module__ = "pytest_estimator_isolation"


@dataclass(frozen=True)
class LeakKind:
    """One kind of leak: a stable code and name, a one-line meaning and the usual fix.

    ``symptoms`` are fragments of the errors it causes in a later test: a test that fails with one of
    them while this kind of leak is still in place is named as its probable victim. ``cleanable`` is
    False where strict mode has nothing to undo (a directory the plugin did not create stays as it is).
    ``pollutes`` is False for a kind that cannot make a later test fail (it is never named as a polluter).
    ``tidy_in_warn`` is False for an ``info`` kind that only strict mode tidies (warn mode changes nothing
    else); where it is not tidied, it is not reported either. ``compared`` is True for a kind found by
    comparing process-wide state before and after a scope: a wider fixture around a test that left one
    in place would see it again, so it is not blamed on the fixture too.
    """

    code: str
    name: str
    meaning: str
    fix: str
    severity: Severity = "error"
    symptoms: tuple[str, ...] = ()
    cleanable: bool = True
    pollutes: bool = True
    tidy_in_warn: bool = True
    compared: bool = False


@dataclass(eq=False)
class Leak:
    """One leak, owned by a test (its nodeid) or by a scoped fixture.

    ``handle`` is for the check that found it (what to close or restore); it never leaves the process.
    ``freed`` counts what tidying it up released (``{"threads": 2, "files": 2}``), for the summary.

    The baseline keys a leak by ``(kind, owner)``. A leak whose owner depends on test order (two tests
    training one dir: the second is flagged) names what it is about, independent of order, in ``subject``
    and the other tests involved in ``others``; it is keyed by kind, subject and every test involved.
    ``covered_by`` names another kind of the same owner whose baseline entry also covers this leak (a
    stale checkpoint in a persistent dir is the next run's face of that dir).
    """

    kind: LeakKind
    owner: str
    what: str
    where: str | None = None
    stack: tuple[str, ...] = ()
    check: str = ""
    subject: str = ""
    others: tuple[str, ...] = ()
    covered_by: str = ""
    handle: Any = field(default=None, repr=False)
    origin: object = field(default=None, repr=False)  # the check (plugin object) that found it
    keep: bool = False  # the check asks not to undo this one (e.g. a session a live thread still uses)
    freed: dict[str, int] = field(default_factory=dict)

    @property
    def severity(self) -> Severity:
        return self.kind.severity

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: what travels on reports (xdist), into the JSON report and the baseline."""
        data: dict[str, Any] = {
            "code": self.kind.code,
            "kind": self.kind.name,
            "severity": self.kind.severity,
            "owner": self.owner,
            "what": self.what,
            "where": self.where,
            "stack": list(self.stack),
            "fix": self.kind.fix,
            "check": self.check,
            "subject": self.subject,
            "others": list(self.others),
            "covered_by": self.covered_by,
        }
        if self.freed:
            data["freed"] = dict(self.freed)
        return data
