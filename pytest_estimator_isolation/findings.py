"""One leak and its verdict, from the check that found it to every report: the one record end to end.

A :class:`Finding` is frozen and typed; it becomes JSON in one place (:meth:`Finding.to_json`, on test
reports so xdist carries it, in the JSON report and for the baseline) and comes back in one place
(:meth:`Finding.from_json`, in the xdist controller and in ``merge``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .leaks import Leak, Severity, Site

Outcome = Literal["failed", "warned", "allowed", "baselined", "tidied"]
OwnerKind = Literal["test", "fixture"]


def _site_json(site: Site | None) -> dict[str, Any] | None:
    return None if site is None else {"path": site.path, "line": site.line, "function": site.function}


def _site(data: Any) -> Site | None:
    if not isinstance(data, Mapping):
        return None
    return Site(str(data.get("path", "")), int(data.get("line") or 0), str(data.get("function", "")))


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
    where: Site | None = None
    stack: tuple[Site, ...] = ()
    check: str = ""
    subject: str = ""
    others: tuple[str, ...] = ()
    covered_by: str = ""
    freed: Mapping[str, int] = field(default_factory=dict, compare=False)
    nodeid: str = ""  # the test whose report carried it (filled in by the summary)
    owner_kind: OwnerKind = "test"  # the owner is a test, or a scoped fixture (an xunit setup included)
    left: tuple[str, str] = field(default=("", ""), compare=False)  # the kind's ``left``; never leaves the process

    @classmethod
    def of(
        cls, leak: Leak, outcome: Outcome, cleaned: bool, nodeid: str = "", owner_kind: OwnerKind = "test"
    ) -> Finding:
        kind = leak.kind
        return cls(
            kind.code,
            kind.name,
            kind.severity,
            leak.owner,
            leak.what,
            kind.fix,
            outcome,
            cleaned,
            leak.site,
            leak.sites,
            leak.check,
            leak.subject,
            leak.others,
            leak.covered_by,
            dict(leak.freed),
            nodeid,
            owner_kind,
            kind.left,
        )

    @property
    def involved(self) -> set[str]:
        """Every test (or fixture) the leak involves: its owner and the others."""
        return {self.owner, *self.others}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "kind": self.kind,
            "severity": self.severity,
            "owner": self.owner,
            "owner_kind": self.owner_kind,
            "nodeid": self.nodeid,
            "what": self.what,
            "where": _site_json(self.where),
            "stack": [_site_json(site) for site in self.stack],
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
    def from_json(cls, data: Mapping[str, Any], nodeid: str = "") -> Finding:
        stack = tuple(site for site in map(_site, data.get("stack") or ()) if site is not None)
        return cls(
            code=str(data["code"]),
            kind=str(data["kind"]),
            severity=data["severity"],
            owner=str(data["owner"]),
            what=str(data["what"]),
            fix=str(data["fix"]),
            outcome=data["outcome"],
            cleaned=bool(data["cleaned"]),
            where=_site(data.get("where")),
            stack=stack,
            check=str(data.get("check", "")),
            subject=str(data.get("subject", "")),
            others=tuple(data.get("others") or ()),
            covered_by=str(data.get("covered_by", "")),
            freed={str(k): int(v) for k, v in (data.get("freed") or {}).items()},
            nodeid=nodeid or str(data.get("nodeid", "")),
            owner_kind="fixture" if data.get("owner_kind") == "fixture" else "test",
        )
