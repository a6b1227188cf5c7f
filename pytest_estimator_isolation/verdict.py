"""The one place that decides what a leak means: its outcome, whether strict mode undoes it, and what
the test it belongs to gets (a failure text, warnings). Everything downstream reads :class:`Finding`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .leaks import Leak, Severity

if TYPE_CHECKING:
    from .baseline import Baseline

Mode = Literal["strict", "warn", "off"]
Outcome = Literal["failed", "warned", "allowed", "baselined", "tidied"]


class Policy(NamedTuple):
    """How one scope (a test, a scoped fixture) is judged: its mode and the leak kinds it allows."""

    mode: Mode
    allowed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Finding:
    """A leak and its verdict, as reports, the summary, the JSON report and the baseline see it."""

    code: str
    kind: str
    severity: Severity
    owner: str
    what: str
    fix: str
    outcome: Outcome
    cleaned: bool
    where: str | None = None
    stack: tuple[str, ...] = ()
    check: str = ""
    subject: str = ""
    others: tuple[str, ...] = ()
    covered_by: str = ""
    freed: dict[str, int] = field(default_factory=dict, compare=False)
    nodeid: str = ""  # the test whose report carried it (filled in by the summary)

    @classmethod
    def of(cls, leak: Leak, outcome: Outcome, cleaned: bool) -> Finding:
        return cls.from_dict({**leak.to_dict(), "outcome": outcome, "cleaned": cleaned, "freed": leak.freed})

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "kind": self.kind,
            "severity": self.severity,
            "owner": self.owner,
            "nodeid": self.nodeid,
            "what": self.what,
            "where": self.where,
            "stack": list(self.stack),
            "fix": self.fix,
            "check": self.check,
            "subject": self.subject,
            "others": list(self.others),
            "covered_by": self.covered_by,
            "outcome": self.outcome,
            "cleaned": self.cleaned,
        }
        if self.freed:
            data["freed"] = dict(self.freed)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], nodeid: str = "") -> Finding:
        return cls(
            code=str(data["code"]),
            kind=str(data["kind"]),
            severity=data["severity"],
            owner=str(data["owner"]),
            what=str(data["what"]),
            fix=str(data["fix"]),
            outcome=data["outcome"],
            cleaned=bool(data["cleaned"]),
            where=data.get("where"),
            stack=tuple(data.get("stack") or ()),
            check=str(data.get("check", "")),
            subject=str(data.get("subject", "")),
            others=tuple(data.get("others") or ()),
            covered_by=str(data.get("covered_by", "")),
            freed={str(k): int(v) for k, v in (data.get("freed") or {}).items()},
            nodeid=nodeid or str(data.get("nodeid", "")),
        )

    def with_nodeid(self, nodeid: str) -> Finding:
        return replace(self, nodeid=nodeid)


def cleans(leak: Leak, policy: Policy) -> bool:
    """Whether the plugin undoes this leak now. What TF's own contracts would undo (``info``) is
    tidied in any checking mode; the rest only in strict mode, and never an allowed kind."""
    if policy.mode == "off" or not leak.kind.cleanable or leak.keep:
        return False
    if leak.kind.severity == "info":
        return policy.mode == "strict" or leak.kind.tidy_in_warn
    return policy.mode == "strict" and leak.kind.name not in policy.allowed


def decide(leak: Leak, policy: Policy, baseline: Baseline | None, updating_baseline: bool) -> Outcome:
    if leak.kind.severity == "info":
        return "tidied"
    if leak.kind.name in policy.allowed:
        return "allowed"
    if baseline is not None and baseline.covers(leak):
        return "baselined"
    if policy.mode == "strict" and leak.kind.severity == "error" and not updating_baseline:
        return "failed"
    return "warned"


class Settlement(NamedTuple):
    """What a test gets for its findings: the text it fails with (None: it does not fail), and the
    warnings to emit, each with the creation site it points at."""

    failure: str | None
    warnings: tuple[tuple[str, str | None], ...]


NOTHING = Settlement(None, ())
"""What a clean test gets (``end_test`` returns this very object: compare with ``is``)."""


def settle(findings: Sequence[Finding], problems: Sequence[str], verbose: bool, nodeid: str) -> Settlement:
    """What the test ``nodeid`` gets for the findings reported on it (its own, and those of the scoped
    fixtures torn down with it), and for the plugin's own problems since the last test."""
    from . import report

    warnings = [(report.format_leak(f, verbose), f.where) for f in findings if f.outcome == "warned"]
    warnings.extend((f"estimator-isolation: {problem}", None) for problem in problems)
    failed = [f for f in findings if f.outcome == "failed"]
    return Settlement(report.format_failure(failed, verbose, nodeid) if failed else None, tuple(warnings))
