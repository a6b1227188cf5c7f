"""The JSON report's documentation (docs/ci-and-baseline.md) names every field the report has, and no other:
it once described schema 1 while the plugin wrote schema 2. TF-free: a by-name check stands in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import BY_NAME_CHECK, SUITE_A

DOC = Path(__file__).resolve().parent.parent / "docs" / "ci-and-baseline.md"


def _documented(after: str) -> set[str]:
    """The field names in the first column of the first table after the text ``after`` in the doc."""
    text = DOC.read_text(encoding="utf-8").split(after, 1)[1]
    rows = []
    for line in text.splitlines():
        if line.strip().startswith("|"):
            rows.append(line)
        elif rows:
            break
    names: set[str] = set()
    for row in rows[2:]:  # after the header and its rule
        names.update(re.findall(r"`([a-z_]+)`", row.split("|")[1]))
    return names


def test_the_doc_names_every_report_field(pytester: pytest.Pytester, run_pytest) -> None:
    pytester.makeconftest(BY_NAME_CHECK)
    pytester.makepyfile(test_a=SUITE_A)
    run_pytest("--estimator-isolation", "--estimator-isolation-report=report.json")
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["schema"] == 2
    assert f'"schema": {report["schema"]}' in DOC.read_text(encoding="utf-8")
    assert _documented("writes a JSON report") == set(report)
    optional = {"freed"}  # only when undoing the leak released something
    assert _documented("A leak's fields:") == set(report["leaks"][0]) | optional
