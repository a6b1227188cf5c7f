"""GitHub Actions annotations: one workflow command per failed (``::error``) or warned (``::warning``)
leak, at its creation site, so the leak shows on the pull request's diff line.

On when ``GITHUB_ACTIONS=true``; ``--estimator-isolation-annotations=on|off`` (or the ini option) forces
it. Printed by the controller at the end of the run, so it covers every xdist worker.
"""

from __future__ import annotations

import pytest

from .findings import Finding
from .report import REPORT_ATTR

_COMMANDS = {"failed": "error", "warned": "warning"}


def escape_data(text: str) -> str:
    """A workflow command's message, per GitHub's rules (``%``, ``\\r``, ``\\n``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(finding: Finding) -> str | None:
    """The workflow command for one finding, or None for leaks that pass (allowed, baselined)."""
    name = _COMMANDS.get(finding.outcome)
    if name is None:
        return None
    if finding.where is not None and finding.where.line:
        file, line = finding.where.path, str(finding.where.line)
    else:  # no user frame: point at the test's file
        file, line = (finding.nodeid or finding.owner).split("::")[0], "1"
    properties = {"file": file, "line": line, "title": f"{finding.code} {finding.kind}"}
    shown = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    message = f"{finding.what} (in {finding.owner})\nfix: {finding.fix}"
    return f"::{name} {shown}::{escape_data(message)}"


class Annotations:
    """Registered in the controller when annotations are on."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for entry in getattr(report, REPORT_ATTR, None) or ():
            found = command(Finding.from_json(entry, nodeid=report.nodeid))
            if found is not None:
                self.commands.append(found)

    @pytest.hookimpl(trylast=True)  # trylast: after the summary sections, each command on its own line
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for line in self.commands:
            terminalreporter.write_line(line)
