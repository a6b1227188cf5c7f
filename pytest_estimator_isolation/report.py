"""The one place leaks become text: failure messages, warnings, the terminal summary and the JSON report.

Everything here reads leak dicts carried on test reports (``report.estimator_isolation``), never
in-process state, so it works the same when tests run in pytest-xdist workers.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from .baseline import write_atomically
from .gate import Gate
from .options import Settings

REPORT_SCHEMA = 1
REPORT_ATTR = "estimator_isolation"
SECONDS_KEY = "estimator_isolation_seconds"  # in xdist's workeroutput
TF_KEY = "estimator_isolation_tensorflow"  # in xdist's workeroutput: the controller never imports TF


def format_leak(entry: dict[str, Any], verbose: bool = False) -> str:
    lines = [f"{entry['code']} {entry['kind']}: {entry['what']}"]
    if entry["owner"].startswith("fixture "):
        lines.append(f"  owner: {entry['owner']}")
    stack = entry.get("stack") or []
    if verbose and len(stack) > 1:
        lines.append("  created at (innermost first):")
        lines.extend(f"    {frame}" for frame in stack)
    elif entry.get("where"):
        lines.append(f"  created at {entry['where']}")
    lines.append(f"  fix: {entry['fix']}")
    return "\n".join(lines)


def format_failure(entries: list[dict[str, Any]], verbose: bool) -> str:
    kinds = ", ".join(dict.fromkeys(f"{e['code']} {e['kind']}" for e in entries))
    head = f"estimator-isolation: test leaked TensorFlow state: {kinds} (strict mode)"
    if all(e.get("cleaned") for e in entries):
        tail = "Cleaned up, so later tests start clean."
    else:
        tail = "Cleaned up what the plugin can undo; it never deletes a directory it did not create."
    allow = 'Allow a kind for one test: @pytest.mark.allow_leaks("<kind>").'
    return "\n".join([head, *(format_leak(e, verbose) for e in entries), f"{tail} {allow}"])


def format_polluters(polluters: list[tuple[bool, dict[str, Any]]]) -> str:
    lines = []
    for probable, entry in polluters:
        where = f", created at {entry['where']}" if entry.get("where") else ""
        label = "probably left by" if probable else "left by"
        lines.append(f"{label} {entry['owner']}: {entry['code']} {entry['kind']}: {entry['what']}{where}")
    return "\n".join(lines)


def junit_properties(entries: list[dict[str, Any]]) -> list[tuple[str, object]]:
    return [(f"estimator_isolation:{e['code']}", f"{e['kind']} ({e['outcome']}): {e['what']}") for e in entries]


class Collector:
    """Gathers every test report's leaks in the controller: summary, JSON report, baseline update."""

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
        self.entries: list[dict[str, Any]] = []
        self.seconds: dict[str, float] = {}
        self.local_seconds = local_seconds

    def add_seconds(self, seconds: dict[str, float]) -> None:
        for check, spent in seconds.items():
            self.seconds[check] = self.seconds.get(check, 0.0) + spent

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """An xdist worker finished: add the time its checks took."""
        workeroutput = getattr(node, "workeroutput", {})
        self.add_seconds(workeroutput.get(SECONDS_KEY, {}))
        self.tensorflow = self.tensorflow or workeroutput.get(TF_KEY)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for entry in getattr(report, REPORT_ATTR, None) or ():
            self.entries.append({**entry, "nodeid": report.nodeid})

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.add_seconds(self.local_seconds())
        if self.settings.report is not None:
            write_atomically(self.settings.report, json.dumps(self.as_json(), indent=2) + "\n")
        self.gate.update(self.entries, exitstatus)

    def as_json(self) -> dict[str, Any]:
        from . import _tf

        return {
            "schema": REPORT_SCHEMA,
            "run": {
                "mode": self.settings.mode,
                "pytest": pytest.__version__,
                "python": ".".join(map(str, sys.version_info[:3])),
                "tensorflow": _tf.version() or self.tensorflow,
                "platform": sys.platform,
            },
            "counts": dict(Counter(e["outcome"] for e in self.entries)),
            "check_seconds": {check: round(spent, 6) for check, spent in sorted(self.seconds.items())},
            "leaks": self.entries,
            "fixed": [entry.to_json() for entry in self.gate.fixed(self.entries)],
        }

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        fixed = self.gate.fixed(self.entries)
        if not self.entries and not fixed and not self.gate.note:
            return
        tr = terminalreporter
        tr.write_sep("=", "estimator isolation")
        by_owner: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in self.entries:
            by_owner[entry["owner"]].append(entry)
        verbose = self.config.getoption("verbose") > 0
        for owner, entries in by_owner.items():
            tr.write_line(owner, bold=True)
            for entry in entries:
                text = format_leak(entry, verbose) if verbose else f"{entry['code']} {entry['kind']}: {entry['what']}"
                tr.write_line(f"  [{entry['outcome']}] " + text.replace("\n", "\n    "))
        if self.entries:
            tr.write_line(counts_line(self.entries, self.settings.mode))
        for done in fixed:
            tr.write_line(f"fixed since the baseline: {done}", green=True)
        if self.gate.note:
            tr.write_line(self.gate.note)
        if self.settings.report is not None:
            tr.write_line(f"report written to {self.settings.report}")


def counts_line(entries: list[dict[str, Any]], mode: str) -> str:
    kinds = Counter(f"{e['code']} {e['kind']}" for e in entries)
    outcomes = Counter(e["outcome"] for e in entries)
    return (
        f"{len(entries)} leak(s) in mode {mode}: "
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + " | "
        + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
    )
