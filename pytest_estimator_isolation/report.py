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

from .baseline import Baseline
from .options import Settings

REPORT_SCHEMA = 1
REPORT_ATTR = "estimator_isolation"
SECONDS_KEY = "estimator_isolation_seconds"  # in xdist's workeroutput


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


class Tidied:
    """What the plugin cleaned up that was not the tests' fault (``info`` leaks), summed over the run."""

    def __init__(self) -> None:
        self.freed: Counter[str] = Counter()
        self.owners: set[str] = set()

    @property
    def tests(self) -> int:
        return len(self.owners)

    def add(self, entry: dict[str, Any]) -> None:
        self.owners.add(entry["owner"])
        self.freed.update(entry.get("freed") or {})

    def as_json(self) -> dict[str, int]:
        return {"writers": 0, "threads": 0, "files": 0, **self.freed, "tests": self.tests}

    def line(self) -> str:
        freed = self.freed
        files = f" and {freed['files']} open file(s)" if "files" in freed else ""
        return (
            f"tidied: closed {freed['writers']} cached summary writer(s) in {self.tests} test(s), "
            f"freed {freed['threads']} thread(s){files}"
        )


class Collector:
    """Gathers every test report's leaks in the controller: summary, JSON report, baseline update."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        baseline: Baseline | None,
        local_seconds: Callable[[], dict[str, float]],
    ) -> None:
        self.config = config
        self.settings = settings
        self.baseline = baseline
        self.entries: list[dict[str, Any]] = []
        self.tidied = Tidied()
        self.seconds: dict[str, float] = {}
        self.local_seconds = local_seconds

    def add_seconds(self, seconds: dict[str, float]) -> None:
        for check, spent in seconds.items():
            self.seconds[check] = self.seconds.get(check, 0.0) + spent

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """An xdist worker finished: add the time its checks took."""
        self.add_seconds(getattr(node, "workeroutput", {}).get(SECONDS_KEY, {}))

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for entry in getattr(report, REPORT_ATTR, None) or ():
            if entry.get("outcome") == "tidied":  # not the test's fault: counted, not listed
                self.tidied.add(entry)
            else:
                self.entries.append({**entry, "nodeid": report.nodeid})

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.add_seconds(self.local_seconds())
        if self.settings.report is not None:
            self.settings.report.parent.mkdir(parents=True, exist_ok=True)
            self.settings.report.write_text(json.dumps(self.as_json(), indent=2) + "\n", encoding="utf-8")
        if self.settings.update_baseline and self.settings.baseline is not None:
            Baseline.write(self.settings.baseline, self.entries)

    def as_json(self) -> dict[str, Any]:
        from . import _tf

        return {
            "schema": REPORT_SCHEMA,
            "run": {
                "mode": self.settings.mode,
                "pytest": pytest.__version__,
                "python": ".".join(map(str, sys.version_info[:3])),
                "tensorflow": _tf.version(),
                "platform": sys.platform,
            },
            "counts": dict(Counter(e["outcome"] for e in self.entries)),
            "check_seconds": {check: round(spent, 6) for check, spent in sorted(self.seconds.items())},
            "leaks": self.entries,
            "tidied": self.tidied.as_json(),
            "fixed": [{"kind": k, "owner": o} for k, o in self.unseen()],
        }

    def unseen(self) -> list[tuple[str, str]]:
        if self.baseline is None or self.settings.update_baseline:
            return []
        return self.baseline.unseen(self.entries)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        fixed = self.unseen()
        if not self.entries and not fixed and not self.tidied.tests:
            return
        tr = terminalreporter
        tr.write_sep("=", "estimator isolation")
        if self.tidied.tests:
            tr.write_line(self.tidied.line())
        if not self.entries and not fixed:
            return
        by_owner: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in self.entries:
            by_owner[entry["owner"]].append(entry)
        verbose = self.config.getoption("verbose") > 0
        for owner, entries in by_owner.items():
            tr.write_line(owner, bold=True)
            for entry in entries:
                text = format_leak(entry, verbose) if verbose else f"{entry['code']} {entry['kind']}: {entry['what']}"
                tr.write_line(f"  [{entry['outcome']}] " + text.replace("\n", "\n    "))
        kinds = Counter(f"{e['code']} {e['kind']}" for e in self.entries)
        outcomes = Counter(e["outcome"] for e in self.entries)
        tr.write_line(
            f"{len(self.entries)} leak(s) in mode {self.settings.mode}: "
            + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            + " | "
            + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
        )
        for kind, owner in fixed:
            tr.write_line(f"fixed since the baseline: {kind} in {owner}", green=True)
        if self.settings.update_baseline and self.settings.baseline is not None:
            tr.write_line(f"baseline written to {self.settings.baseline}")
        if self.settings.report is not None:
            tr.write_line(f"report written to {self.settings.report}")
