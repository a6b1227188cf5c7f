"""pytest-html (4.x): each test's rows show its leaks, the report's summary has the run's lines, and
without pytest-html nothing of it is imported. TF-free: a by-name check stands in for the built-in ones."""

from __future__ import annotations

import html
import importlib.util
import json
import re

import pytest
from helpers import BY_NAME_CHECK, HAS_XDIST, QUIET

HAS_HTML = importlib.util.find_spec("pytest_html") is not None
requires_html = pytest.mark.skipif(not HAS_HTML, reason="needs pytest-html")

# The by-name check, plus an info kind (tidied, never blamed) on every test whose name contains "tidy".
CONFTEST = (
    BY_NAME_CHECK
    + """
CACHED = LeakKind("X002", "cached-thing", "a cache the library keeps", "nothing to fix", severity="info")


class Tidy:
    @pytest.hookimpl
    def pytest_estimator_isolation_kinds(self):
        return [CACHED]

    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope):
        if "tidy" in scope.owner:
            return [Leak(CACHED, scope.owner, "a cached thing", freed={"things": 2})]
        return []


def pytest_configure(config):  # noqa: F811 (the by-name check's hook, plus this one)
    config.pluginmanager.register(ByName(), "by_name")
    config.pluginmanager.register(Tidy(), "tidy")
"""
)

SUITE = """
import pytest

def test_leaky_strict():
    pass

@pytest.mark.estimator_isolation("warn")
def test_leaky_warned():
    pass

def test_tidy():
    pass

def test_clean():
    pass
"""


def _rows(report: str) -> dict[str, list[dict]]:
    """The test rows pytest-html 4 keeps as JSON in its report, by nodeid."""
    blob = re.search(r'data-jsonblob="([^"]*)"', report)
    assert blob is not None
    return json.loads(html.unescape(blob.group(1)))["tests"]


@requires_html
@pytest.mark.parametrize(
    "workers",
    [(), pytest.param(("-n", "2"), marks=pytest.mark.skipif(not HAS_XDIST, reason="needs pytest-xdist"))],
    ids=["serial", "xdist"],
)
def test_each_row_shows_its_leaks_and_the_summary_the_run_printed(pytester: pytest.Pytester, workers) -> None:
    """Under xdist too: the controller writes the report, from the findings the workers' reports carry."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_a=SUITE)
    args = ("--estimator-isolation", "--html=report.html", "--self-contained-html", *workers)
    result = pytester.runpytest(*QUIET, *args)
    result.assert_outcomes(passed=4, errors=1, warnings=1)
    report = (pytester.path / "report.html").read_text(encoding="utf-8")
    rows = _rows(report)

    # The strict test: pytest reports a pass (the call) and an error at teardown (the leak). The leak is
    # shown once, in the error's row: its chip in the column, its table (code, kind, outcome, what,
    # creation site, fix) in that row's details. The call's row shows nothing of it.
    strict = rows["test_a.py::test_leaky_strict"]
    assert [row["result"] for row in strict] == ["Passed", "Error"]
    assert "<th>Leaks</th>" in report
    passed, error = strict
    assert "ei-" not in "".join(passed["resultsTableRow"]) + passed["log"]
    assert 'class="ei-chip ei-failed">X001 failed<' in "".join(error["resultsTableRow"])
    for shown in ("X001", "stray-file", "failed", "left stray.txt", "lib/make_leak.py:7 in make", "delete it in the test"):
        assert shown in error["log"], shown
    assert error["log"].count("ei-leaks") == 1
    assert not any("ei-" in extra["content"] for row in rows.values() for test in row for extra in test["extras"])

    # Warn mode: the test passes, so its one row (the call's) shows the warned leak.
    (warned,) = rows["test_a.py::test_leaky_warned"]
    assert warned["result"] == "Passed"
    assert 'class="ei-chip ei-warned">X001 warned<' in "".join(warned["resultsTableRow"])
    assert "ei-leaks" in warned["log"]

    # What was tidied is not a leak of the test: no chip, one muted line in its details.
    (tidy,) = rows["test_a.py::test_tidy"]
    assert "ei-chip" not in "".join(tidy["resultsTableRow"])
    assert "tidied quietly after this test" in tidy["log"]
    (clean,) = rows["test_a.py::test_clean"]
    assert "ei-" not in "".join(clean["resultsTableRow"]) + clean["log"]
    assert not clean["extras"]

    # The summary: the same counts and tidied lines as the terminal's.
    counts = "2 leak(s) in mode strict: 2 X001 stray-file | 1 failed, 1 warned"
    tidied = "tidied quietly after 1 test(s) (TF's own state, not failures): 1 X002 cached-thing; freed 2 things"
    result.stdout.fnmatch_lines([counts, tidied])
    summary = report.split('<div class="additional-summary summary">')[1].split("</div>\n")[0]
    assert html.escape(counts) in summary
    assert html.escape(tidied) in summary


@requires_html
def test_a_run_that_checks_nothing_keeps_pytest_htmls_table(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_a=SUITE.replace('@pytest.mark.estimator_isolation("warn")', ""))
    result = pytester.runpytest(*QUIET, "--html=report.html", "--self-contained-html")
    result.assert_outcomes(passed=4)
    report = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert "<th>Leaks</th>" not in report
    assert "ei-summary" not in report


def test_without_pytest_html_the_plugin_imports_nothing_for_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_a="""
        import sys

        def test_leaky():
            assert "pytest_estimator_isolation.html_report" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess(*QUIET, "-p", "no:html", "--estimator-isolation=warn")
    result.assert_outcomes(passed=1, warnings=1)
