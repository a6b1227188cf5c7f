"""The baseline's rules, in the controller: a run replaces, and calls fixed, only what it really checked.

Which tests and fixtures were checked travels on their teardown reports (so xdist carries it like the
leaks); the summary (:class:`.report.Summary`) collects it and hands it to the gate.
``--estimator-isolation-update-baseline`` then keeps every entry of a test this run did not check
(deselected, not collected, stopped by ``-x``, opted out, sharded elsewhere), and a gate run calls an
entry fixed only when every test it names ran clean. A run that checked nothing, was interrupted or
failed to collect leaves the file as it was.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import pytest

from .options import Settings

if TYPE_CHECKING:  # the baseline module is loaded only when a run has one
    from .baseline import Baseline, Entry
    from .findings import Finding


class Gate:
    def __init__(self, settings: Settings, baseline: Baseline | None) -> None:
        self.settings = settings
        self.baseline = baseline
        self.collection_failed = False
        self.interrupted = False
        self.note: str | None = None  # what happened to the baseline file, for the terminal summary

    @pytest.hookimpl(tryfirst=True)  # tryfirst: before xdist starts its workers
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.baseline is None:
            return
        from .dispatch import Checks

        self.baseline.check_kinds({kind.name for kind in Checks(session.config.pluginmanager).kinds()})

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_failed = True

    @pytest.hookimpl
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.interrupted = True

    def fixed(self, seen: Sequence[Finding], judged: Collection[str]) -> list[Entry]:
        if self.baseline is None or self.settings.update_baseline:
            return []
        return self.baseline.fixed(seen, judged)

    def update(self, seen: Sequence[Finding], judged: Collection[str], exitstatus: int) -> None:
        """``--estimator-isolation-update-baseline``: replace what this run judged, keep the rest."""
        baseline = self.baseline
        if not self.settings.update_baseline or baseline is None:
            return
        path = baseline.path
        if self.collection_failed:
            self.note = f"baseline {path} not written: collection failed"
        elif self.interrupted or exitstatus not in (
            pytest.ExitCode.OK,
            pytest.ExitCode.TESTS_FAILED,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            self.note = f"baseline {path} not written: the run was interrupted (exit status {int(exitstatus)})"
        elif not judged:
            self.note = f"baseline {path} left as it was: this run checked no test"
        else:
            entries, kept = baseline.updated(seen, judged)
            text = baseline.render(entries)
            if path.exists() and path.read_text(encoding="utf-8") == text:
                self.note = f"baseline {path} is up to date ({len(entries)} entries)"
            else:
                from .baseline import write_atomically

                write_atomically(path, text)
                self.note = f"baseline written to {path} ({len(entries)} entries)"
            if kept:
                self.note += f", {kept} kept for tests this run did not check"
