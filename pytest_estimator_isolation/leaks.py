"""The records every check produces: what kinds of leak exist, and one found leak."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

Severity = Literal["error", "warning", "info"]
"""``error`` fails the test in strict mode; ``warning`` only warns; ``info`` is not the test's fault: it is
cleaned up quietly (in strict and warn mode), counted in the summary as ``tidied``, and never fails, warns
or goes into the baseline."""


class EstimatorIsolationWarning(pytest.PytestWarning):
    """A leak found in ``warn`` mode (or a warning-level leak in ``strict`` mode)."""

    __module__ = "pytest_estimator_isolation"


@dataclass(frozen=True)
class LeakKind:
    """One kind of leak: a stable code and name, a one-line meaning and the usual fix.

    ``symptoms`` are fragments of the errors it causes in a later test: a test that fails with one of
    them while this kind of leak is still in place is named as its probable victim. ``cleanable`` is
    False where strict mode has nothing to undo (a directory the plugin did not create stays as it is)."""

    code: str
    name: str
    meaning: str
    fix: str
    severity: Severity = "error"
    symptoms: tuple[str, ...] = ()
    cleanable: bool = True


@dataclass
class Leak:
    """One leak, owned by a test (its nodeid) or by a scoped fixture.

    ``handle`` is for the check that found it (what to close or restore); it never leaves the process.
    ``freed`` is what cleaning it up released, e.g. ``{"writers": 2, "threads": 2, "files": 2}``.
    """

    kind: LeakKind
    owner: str
    what: str
    where: str | None = None
    stack: tuple[str, ...] = ()
    check: str = ""
    handle: Any = field(default=None, repr=False, compare=False)
    freed: dict[str, int] = field(default_factory=dict)

    @property
    def severity(self) -> Severity:
        return self.kind.severity

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: what travels on reports (xdist), into the JSON report and the baseline."""
        return {
            "code": self.kind.code,
            "kind": self.kind.name,
            "severity": self.kind.severity,
            "owner": self.owner,
            "what": self.what,
            "where": self.where,
            "stack": list(self.stack),
            "fix": self.kind.fix,
            "check": self.check,
            "freed": dict(self.freed),
        }
