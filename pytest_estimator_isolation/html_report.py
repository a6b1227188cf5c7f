"""Leaks in pytest-html's report (4.x): a "Leaks" column, a table of the test's leaks (code, kind, outcome,
what, creation site, fix) in its details, and the run's summary lines above the results.

pytest-html shows a test as one row per report that is not a plain pass: a leak failed in strict mode makes
a "Passed" row (the call) and an "Error" row (the teardown). The leaks are shown once, in the row of the
outcome pytest reports for them: the teardown's error row when the teardown failed, else the call's row (the
setup's when the test never ran). pytest-html gives every row of a test the same extras, so the table goes
into that row's log (``pytest_html_results_table_html``), not into the extras.

Registered by the plugin only when pytest-html is loaded; nothing else imports this module, and it imports
pytest-html only when it is registered. It reads the findings the teardown reports carry (so it works under
pytest-xdist, in the controller) and words the summary with :mod:`.report`'s own functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape
from typing import Any

import pytest

from .findings import Finding
from .report import REPORT_ATTR, counts_line, format_tidied, tidied_summary

PLUGIN_NAME = "estimator_isolation.html"

_STYLE = """<style>
.ei-chip { display: inline-block; margin: 1px 2px; padding: 0 6px; border-radius: 8px; font-size: 12px;
  font-family: monospace; white-space: nowrap; border: 1px solid #999; color: #333; background: #eee; }
.ei-failed { background: #fde2e1; border-color: #d33; color: #900; }
.ei-warned { background: #fff4d6; border-color: #c90; color: #750; }
.ei-allowed, .ei-baselined { background: #e8f0fe; border-color: #69c; color: #246; }
.ei-details { white-space: normal; font-family: sans-serif; margin-bottom: 8px; }
.ei-leaks { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; width: 100%; background: #fff; }
.ei-leaks th, .ei-leaks td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
.ei-leaks th { background: #f2f2f2; }
.ei-leaks code { white-space: pre-wrap; word-break: break-word; }
.ei-leaks .ei-kind code, .ei-leaks .ei-kind { white-space: nowrap; word-break: normal; }
.ei-title { font-weight: bold; margin: 6px 0 2px; }
.ei-muted { color: #666; font-size: 12px; }
.ei-summary { border-left: 4px solid #d33; padding: 4px 10px; margin: 8px 0; background: #fafafa; }
.ei-summary.ei-clean { border-left-color: #393; }
.ei-summary p { margin: 3px 0; font-family: monospace; }
</style>"""


def register(config: pytest.Config) -> HtmlReport | None:
    """Add the leaks to pytest-html's report: in the process that writes it (not an xdist worker), when
    it writes one (``--html``)."""
    if hasattr(config, "workerinput") or not config.getoption("htmlpath", None):
        return None
    html = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if not isinstance(html, HtmlReport):
        html = HtmlReport(config)
        config.pluginmanager.register(html, PLUGIN_NAME)
    return html


def _chip(finding: Finding, outcome: bool = True) -> str:
    label = f"{finding.code} {finding.outcome}" if outcome else finding.code
    return f'<span class="ei-chip ei-{finding.outcome}">{escape(label)}</span>'


def leak_table(findings: Sequence[Finding]) -> str:
    """One test's leaks as HTML: a row per leak it was blamed for, then one muted line for what was tidied."""
    shown = [f for f in findings if f.outcome != "tidied"]
    parts = []
    if shown:
        rows = []
        for f in shown:
            owner = f"<br><span class='ei-muted'>owner: {escape(f.owner)}</span>" if f.owner != f.nodeid else ""
            rows.append(
                "<tr>"
                f"<td>{_chip(f, outcome=False)}</td>"
                f"<td class='ei-kind'><code>{escape(f.kind)}</code></td>"
                f"<td>{escape(f.outcome)}</td>"
                f"<td>{escape(f.what)}{owner}</td>"
                f"<td><code>{escape(str(f.where or ''))}</code></td>"
                f"<td>{escape(f.fix)}</td>"
                "</tr>"
            )
        parts.append(
            f'<div class="ei-title">estimator isolation: {len(shown)} leak(s)</div>'
            '<table class="ei-leaks"><tr><th>code</th><th>kind</th><th>outcome</th><th>what leaked</th>'
            f"<th>created at</th><th>fix</th></tr>{''.join(rows)}</table>"
        )
    tidied = Counter(f"{f.code} {f.kind}" for f in findings if f.outcome == "tidied")
    if tidied:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(tidied.items()))
        note = f"tidied quietly after this test (TF's own state, not a failure): {kinds}"
        parts.append(f'<div class="ei-muted">{escape(note)}</div>')
    return "".join(parts)


class HtmlReport:
    """pytest-html's hooks. Findings are read from teardown reports before pytest-html builds the test's
    rows (this hook runs first, pytest-html's last), and shown in one of them: see the module's docstring."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.by_test: dict[str, tuple[str, list[Finding]]] = {}  # nodeid: (the row's `when`, its findings)
        self.findings: list[Finding] = []
        self.setup_shown: set[str] = set()  # running tests whose setup has a row (it did not simply pass)
        self.column = False  # a "Leaks" column only in a checked run: a suite that never checks keeps its table

    def take(self, report: pytest.TestReport) -> None:
        """A test's report arrived (see ``plugin.Collecting``, which runs before pytest-html builds its row)."""
        if getattr(report, "outcome", None) == "rerun":  # pytest-rerunfailures: an attempt, not the outcome
            return
        if report.when == "setup" and not report.passed:
            self.setup_shown.add(report.nodeid)
        if report.when != "teardown":
            return
        setup_shown = report.nodeid in self.setup_shown
        self.setup_shown.discard(report.nodeid)
        found = [Finding.from_json(entry, nodeid=report.nodeid) for entry in getattr(report, REPORT_ATTR, None) or ()]
        if not found:
            return
        self.findings.extend(found)
        row = "teardown" if report.failed else "setup" if setup_shown else "call"
        self.by_test[report.nodeid] = (row, [*self.by_test.get(report.nodeid, (row, []))[1], *found])

    def _shown(self, report: Any) -> list[Finding] | None:
        """The findings to show in this report's row: the test's, in the one row they belong to."""
        row = self.by_test.get(report.nodeid)
        if row is None or report.when != row[0] or getattr(report, "outcome", "") == "rerun":
            return None
        return row[1]

    def _mode(self) -> str:
        from .plugin import SETTINGS

        settings = self.config.stash.get(SETTINGS, None)
        return settings.mode if settings is not None else "off"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        self.column = self._mode() != "off"
        if self.column:
            cells.insert(2, "<th>Leaks</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        if not self.column or not cells:
            return
        shown = [f for f in self._shown(report) or () if f.outcome != "tidied"]
        cells.insert(2, f'<td class="col-leaks">{"".join(_chip(f) for f in shown)}</td>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        found = self._shown(report)
        if found:
            data.insert(0, f'<div class="ei-details">{leak_table(found)}</div>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        entries = [f for f in self.findings if f.outcome != "tidied"]
        tidied = tidied_summary(self.findings)
        lines = []
        if entries:
            lines.append(counts_line(entries, self._mode()))
        if tidied["kinds"]:
            lines.append(format_tidied(tidied))
        if not lines:
            return
        failed = any(f.outcome == "failed" for f in entries)
        body = "".join(f"<p>{escape(line)}</p>" for line in lines)
        summary.append(
            f'{_STYLE}<div class="ei-summary{"" if failed else " ei-clean"}">'
            f"<div class='ei-title'>estimator isolation</div>{body}</div>"
        )
