"""The records every check produces: kinds of leak, where something was made, and one found leak."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Union

import pytest

Severity = Literal["error", "warning", "info"]
"""``error`` fails the test in strict mode; ``warning`` only warns; ``info`` is what TF's own contracts
already undo (a cache TF keeps, a graph TF resets): tidied up quietly and counted, never a failure."""


class EstimatorIsolationWarning(pytest.PytestWarning):
    """A leak found in ``warn`` mode (or a warning-level leak in ``strict`` mode)."""

    __module__ = "pytest_estimator_isolation"


class Site(NamedTuple):
    """A place in the user's code: what a leak's creation site and stack are made of."""

    path: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}"

    @classmethod
    def parse(cls, text: str) -> Site | None:
        """A site a third-party check wrote as text (``path:line in function``); ``None`` if it is not one."""
        found = _SITE_TEXT.match(text)
        return cls(found["path"], int(found["line"]), found["function"]) if found else None


_SITE_TEXT = re.compile(r"^(?P<path>.+):(?P<line>\d+) in (?P<function>.*)$")
SiteLike = Union[Site, str, None]  # Union: a runtime alias, and Python 3.9 has no X | Y


def as_site(value: SiteLike) -> Site | None:
    if value is None or isinstance(value, Site):
        return value
    return Site.parse(value) or Site(value, 0, "")


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
    left: tuple[str, str] = ("", "")


@dataclass(eq=False)
class Leak:
    """One leak, owned by a test (its nodeid) or by a scoped fixture, as a check returns it.

    ``where`` is the creation site, ``stack`` the user frames around it (innermost first); a check may
    give either as a :class:`Site` or as ``"path:line in function"`` text, and ``where`` defaults to the
    innermost frame of ``stack``. ``handle`` is for the check that found it (what to close or restore);
    it never leaves the process. ``freed`` counts what tidying it up released (``{"threads": 2}``).

    The baseline keys a leak by ``(kind, owner)``. A leak whose owner depends on test order (two tests
    training one dir: the second is flagged) names what it is about, independent of order, in ``subject``
    and the other tests involved in ``others``; it is keyed by kind, subject and every test involved.
    ``covered_by`` names another kind of the same owner whose baseline entry also covers this leak (a
    stale checkpoint in a persistent dir is the next run's face of that dir).
    """

    kind: LeakKind
    owner: str
    what: str
    where: SiteLike = None  # normalized to Site | None
    stack: tuple[SiteLike, ...] = ()  # normalized to Sites
    check: str = ""  # the check that found it (filled in by the plugin)
    subject: str = ""
    others: tuple[str, ...] = ()
    covered_by: str = ""
    handle: Any = field(default=None, repr=False)
    keep: bool = False  # the check asks not to undo this one (e.g. a session a live thread still uses)
    freed: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.stack and not isinstance(self.stack[0], Site):
            self.stack = tuple(site for site in map(as_site, self.stack) if site is not None)
        self.where = as_site(self.where) if self.where is not None else (self.stack[0] if self.stack else None)

    @property
    def site(self) -> Site | None:
        """The creation site, as a :class:`Site` (``where`` after normalization)."""
        return self.where if isinstance(self.where, Site) else None

    @property
    def sites(self) -> tuple[Site, ...]:
        """The stack, as :class:`Site` s (``stack`` after normalization)."""
        return tuple(site for site in self.stack if isinstance(site, Site))


CHECK_ERROR = LeakKind(
    code="EI900",
    name="check-error",
    meaning="a check crashed (usually: this TensorFlow version changed an internal the check reads); the "
    "test is not silently passed",
    fix="report it to pytest-estimator-isolation with the TF version; opt the test out meanwhile",
    cleanable=False,
    pollutes=False,
)
"""The plugin's own kind: a check that crashed (its traceback is the finding's stack)."""
