"""The one place that decides what leaks mean, in two steps.

:func:`judge` runs when a scope (a test, a scoped fixture) is judged: for each leak, whether it is
reported at all, whether strict mode undoes it now, and its outcome (failed, warned, allowed, baselined,
tidied). :func:`settle` runs once per test, after its teardown: what the test gets for the findings
reported on it (a failure text, warnings), given whether its teardown itself already failed and whether
it is an expected failure. The plugin only delivers a :class:`Settlement`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from .findings import Finding, Outcome, OwnerKind
from .leaks import Leak, Site
from .markers import Policy
from .report import format_failure, format_leak

if TYPE_CHECKING:
    from .baseline import Baseline


def cleans(leak: Leak, policy: Policy) -> bool:
    """Whether the plugin undoes this leak now. What TF's own contracts would undo (``info``) is
    tidied in any checking mode; the rest only in strict mode, and never an allowed kind."""
    if policy.mode == "off" or not leak.kind.cleanable or leak.keep:
        return False
    if leak.kind.severity == "info":
        return policy.mode == "strict" or leak.kind.tidy_in_warn
    return policy.mode == "strict" and leak.kind.name not in policy.allowed


def reported(leak: Leak, policy: Policy) -> bool:
    """An ``info`` leak is reported only where it is tidied (warn mode leaves some alone, unmentioned)."""
    return leak.kind.severity != "info" or cleans(leak, policy)


def outcome(finding: Finding, policy: Policy, baseline: Baseline | None, updating_baseline: bool) -> Outcome:
    if finding.severity == "info":
        return "tidied"
    if finding.kind in policy.allowed:
        return "allowed"
    if baseline is not None and baseline.covers(finding):
        return "baselined"
    if policy.mode == "strict" and finding.severity == "error" and not updating_baseline:
        return "failed"
    return "warned"


def judge(
    leaks: Sequence[Leak],
    policy: Policy,
    baseline: Baseline | None,
    updating_baseline: bool,
    owner_kind: OwnerKind = "test",
) -> list[Finding]:
    """The findings for what one scope (a test, or a scoped fixture) leaked (already filtered with
    :func:`reported`), each with its outcome and whether it is undone now."""
    findings = []
    for leak in leaks:
        finding = Finding.of(leak, "warned", cleans(leak, policy), owner_kind=owner_kind)
        findings.append(replace(finding, outcome=outcome(finding, policy, baseline, updating_baseline)))
    return findings


class Settlement(NamedTuple):
    """What a test gets for its findings: the text it fails with (None: it does not fail), and the
    warnings to emit, each with the creation site it points at (a warning the warnings filters turn
    into an error fails the test with the same text)."""

    failure: str | None
    warnings: tuple[tuple[str, Site | None], ...]


NOTHING = Settlement(None, ())
"""What a clean test gets (compare with ``is``)."""


def settle(
    findings: Sequence[Finding], problems: Sequence[str], *, verbose: bool, nodeid: str, teardown_failed: bool
) -> Settlement:
    """What the test ``nodeid`` gets for the findings reported on it (its own, and those of the scoped
    fixtures torn down with it), and for the plugin's own problems since the last test. A test whose
    teardown already raised keeps that error and is not failed again. A failure stands even for an
    ``xfail`` test: a leak is not the failure it expects."""
    if not findings and not problems:
        return NOTHING
    warnings = [(format_leak(f, verbose), f.where) for f in findings if f.outcome == "warned"]
    warnings.extend((f"estimator-isolation: {problem}", None) for problem in problems)
    failed = [f for f in findings if f.outcome == "failed"]
    failure = format_failure(failed, verbose, nodeid) if failed and not teardown_failed else None
    return Settlement(failure, tuple(warnings))
