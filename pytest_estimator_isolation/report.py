"""The one place leaks become text: failure messages, warnings, the terminal summary and the JSON report.

The summary and the JSON report read the findings carried on test reports (``report.estimator_isolation``),
never in-process state, so they are the same when tests run in pytest-xdist workers.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from . import _imports
from .findings import Finding
from .gate import Gate
from .leaks import CHECK_ERROR
from .options import Settings

REPORT_SCHEMA = 2
REPORT_ATTR = "estimator_isolation"
JUDGED_ATTR = "estimator_isolation_judged"  # on teardown reports: the owners checked in full
SECONDS_KEY = "estimator_isolation_seconds"  # in xdist's workeroutput
HOOKS_KEY = "(all per-test hooks)"  # among the seconds: the plugin's whole time per test, checks included
TF_KEY = "estimator_isolation_tensorflow"  # in xdist's workeroutput: the controller never imports TF


def format_leak(finding: Finding, verbose: bool = False) -> str:
    lines = [f"{finding.code} {finding.kind}: {finding.what}"]
    if finding.owner_kind == "fixture":
        lines.append(f"  owner: {finding.owner}")
    if finding.kind == CHECK_ERROR.name and finding.stack:
        lines.append("  traceback (innermost first):")
        lines.extend(f"    {frame}" for frame in finding.stack)
    elif verbose and len(finding.stack) > 1:
        lines.append("  created at (innermost first):")
        lines.extend(f"    {frame}" for frame in finding.stack)
    elif finding.where:
        lines.append(f"  created at {finding.where}")
    lines.append(f"  fix: {finding.fix}")
    return "\n".join(lines)


def format_failure(findings: Sequence[Finding], verbose: bool, nodeid: str) -> str:
    kinds = ", ".join(dict.fromkeys(f"{f.code} {f.kind}" for f in findings))
    owners = [owner for owner in dict.fromkeys(f.owner for f in findings) if owner != nodeid]
    if not owners:
        head = f"estimator-isolation: test leaked TensorFlow state: {kinds} (strict mode)"
    else:
        who = " and ".join(owners) + (" and this test" if len(owners) < len({f.owner for f in findings}) else "")
        head = f"estimator-isolation: {who} leaked TensorFlow state, found at its teardown: {kinds} (strict mode)"
    left = [f for f in findings if not f.cleaned]
    if not left:
        tail = "Cleaned up, so later tests start clean."
    else:
        by_kind = Counter(f.left for f in left if any(f.left))
        said = [(one if n == 1 else many.format(n=n)) for (one, many), n in by_kind.items()]
        if sum(by_kind.values()) < len(left) or len(left) < len(findings):
            said.insert(0, "Cleaned up what the plugin can undo.")
        tail = " ".join(said)
    allow = 'Allow a kind for one test: @pytest.mark.allow_leaks("<kind>").'
    return "\n".join([head, *(format_leak(f, verbose) for f in findings), f"{tail} {allow}"])


def format_undone(undone: Sequence[Finding]) -> str:
    """The brittle-test clue: what the plugin undid right before a test that failed (iDFlakies' *brittle*
    test, whose *state-setter* is the earlier test)."""
    head = "undone by the plugin right before this test:"
    lines = [f"{head} {f.code} {f.kind} left by {f.owner}: {f.what}" for f in undone]
    lines.append(
        "if this test passes without the plugin (or in another order), it depends on that leak: "
        "set up what it needs itself"
    )
    return "\n".join(lines)


def format_polluters(polluters: Sequence[tuple[bool, Finding]]) -> str:
    lines = []
    for probable, finding in polluters:
        where = f", created at {finding.where}" if finding.where else ""
        label = "probably left by" if probable else "left by"
        lines.append(f"{label} {finding.owner}: {finding.code} {finding.kind}: {finding.what}{where}")
    return "\n".join(lines)


def junit_properties(findings: Sequence[Finding]) -> list[tuple[str, object]]:
    shown = [f for f in findings if f.outcome != "tidied"]
    return [(f"estimator_isolation:{f.code}", f"{f.kind} ({f.outcome}): {f.what}") for f in shown]


def tidied_summary(findings: Sequence[Finding]) -> dict[str, Any]:
    """What the plugin tidied quietly (TF's own state): counts by kind, what it freed, in how many tests."""
    tidied = [f for f in findings if f.outcome == "tidied"]
    freed: Counter[str] = Counter()
    for finding in tidied:
        freed.update(finding.freed)
    return {
        "kinds": dict(sorted(Counter(f"{f.code} {f.kind}" for f in tidied).items())),
        "freed": dict(sorted(freed.items())),
        "tests": len({f.nodeid for f in tidied}),
    }


def format_tidied(tidied: dict[str, Any]) -> str:
    kinds = ", ".join(f"{n} {kind}" for kind, n in tidied["kinds"].items())
    freed = ", ".join(f"{n} {what}" for what, n in tidied["freed"].items())
    return f"tidied quietly after {tidied['tests']} test(s) (TF's own state, not failures): {kinds}" + (
        f"; freed {freed}" if freed else ""
    )


class Summary:
    """Gathers every test report's findings in the controller: the terminal summary, the JSON report,
    and what the baseline gate is handed at the end."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        gate: Gate,
        local_seconds: Callable[[], dict[str, float]],
    ) -> None:
        self.config = config
        self.settings = settings
        self.gate = gate
        self.tensorflow: str | None = None
        self.findings: list[Finding] = []
        self.judged: set[str] = set()  # the owners some test's teardown checked in full
        self.seconds: dict[str, float] = {}
        self.local_seconds = local_seconds

    @property
    def leaks(self) -> list[Finding]:
        """Everything but what was tidied quietly: what the summary lists and the baseline keeps."""
        return [f for f in self.findings if f.outcome != "tidied"]

    def add_seconds(self, seconds: dict[str, float]) -> None:
        for check, spent in seconds.items():
            self.seconds[check] = self.seconds.get(check, 0.0) + spent

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """An xdist worker finished: add the time its checks took."""
        workeroutput = getattr(node, "workeroutput", {})
        self.add_seconds(workeroutput.get(SECONDS_KEY, {}))
        self.tensorflow = self.tensorflow or workeroutput.get(TF_KEY)

    def take(self, report: pytest.TestReport) -> None:
        """A test's report arrived (see ``plugin.Collecting``): keep the findings its teardown carries."""
        if report.when != "teardown":  # the plugin's attributes travel on teardown reports only
            return
        found = [Finding.from_json(entry, nodeid=report.nodeid) for entry in getattr(report, REPORT_ATTR, None) or ()]
        self.findings.extend(found)
        self.judged.update(getattr(report, JUDGED_ATTR, None) or ())
        warned = [finding for finding in found if finding.outcome == "warned"]
        if warned:
            self._print_now(report.nodeid, warned)

    def _print_now(self, nodeid: str, warned: list[Finding]) -> None:
        """A warn-mode finding is printed as soon as its test's report arrives (from an xdist worker too):
        a run that later hangs (a leaked TF_CONFIG makes an Estimator wait for its chief) shows its cause."""
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None:
            return
        for finding in warned:
            terminal.write_line(
                f"estimator-isolation: {nodeid}: {finding.code} {finding.kind}: {finding.what}", yellow=True
            )

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.add_seconds(self.local_seconds())
        if self.settings.report is not None:
            from .baseline import write_atomically

            write_atomically(self.settings.report, json.dumps(self.as_json(), indent=2) + "\n")
        self.gate.update(self.leaks, self.judged, exitstatus)

    def as_json(self) -> dict[str, Any]:
        leaks = self.leaks
        checks = dict(self.seconds)
        hooks = checks.pop(HOOKS_KEY, 0.0)
        return {
            "schema": REPORT_SCHEMA,
            "run": {
                "mode": self.settings.mode,
                "pytest": pytest.__version__,
                "python": ".".join(map(str, sys.version_info[:3])),
                "tensorflow": _imports.loaded_version() or self.tensorflow,
                "platform": sys.platform,
            },
            "counts": dict(Counter(f.outcome for f in leaks)),
            "check_seconds": {check: round(spent, 6) for check, spent in sorted(checks.items())},
            "hook_seconds": round(hooks, 6),
            "leaks": [f.to_json() for f in leaks],
            "tidied": tidied_summary(self.findings),
            "fixed": [entry.to_json() for entry in self.gate.fixed(leaks, self.judged)],
        }

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        leaks = self.leaks
        fixed = self.gate.fixed(leaks, self.judged)
        tidied = tidied_summary(self.findings)
        if not leaks and not fixed and not tidied["kinds"] and not self.gate.note:
            return
        tr = terminalreporter
        tr.write_sep("=", "estimator isolation")
        by_owner: dict[str, list[Finding]] = defaultdict(list)
        for finding in leaks:
            by_owner[finding.owner].append(finding)
        verbose = self.config.get_verbosity() > 0
        for owner, findings in by_owner.items():
            tr.write_line(owner, bold=True)
            for finding in findings:
                text = format_leak(finding, verbose) if verbose else f"{finding.code} {finding.kind}: {finding.what}"
                tr.write_line(f"  [{finding.outcome}] " + text.replace("\n", "\n    "))
        if leaks:
            tr.write_line(counts_line(leaks, self.settings.mode))
        if tidied["kinds"]:
            tr.write_line(format_tidied(tidied))
        for done in fixed:
            tr.write_line(f"fixed since the baseline: {done}", green=True)
        if self.gate.note:
            tr.write_line(self.gate.note)
        if self.settings.report is not None:
            tr.write_line(f"report written to {self.settings.report}")


def counts_line(findings: Sequence[Finding], mode: str) -> str:
    kinds = Counter(f"{f.code} {f.kind}" for f in findings)
    outcomes = Counter(f.outcome for f in findings)
    return (
        f"{len(findings)} leak(s) in mode {mode}: "
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + " | "
        + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
    )
