"""``python -m pytest_estimator_isolation merge shard-*.json -o report.json``: one JSON report and one
summary from the reports of a sharded run (``--estimator-isolation-report`` in every shard), with the
counts one run of the whole suite would give."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from .baseline import parse_entry, write_atomically
from .findings import Finding
from .report import REPORT_SCHEMA, counts_line, format_tidied


class MergeError(Exception):
    """Bad input: reported as one line, exit status 2."""


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MergeError(f"{path}: not a readable JSON report: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != REPORT_SCHEMA:
        raise MergeError(f"{path}: not an estimator-isolation report of schema {REPORT_SCHEMA}")
    if not isinstance(data.get("leaks"), list) or not isinstance(data.get("fixed", []), list):
        raise MergeError(f"{path}: 'leaks' and 'fixed' must be lists")
    for index, leak in enumerate(data["leaks"]):
        try:
            Finding.from_json(leak)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MergeError(f"{path}: leak {index} is not a finding: {exc!r}") from None
    return data


def _same(values: list[Any]) -> Any:
    """One value if every shard agrees (ignoring shards that do not know it), else all of them."""
    known = sorted({json.dumps(value) for value in values if value is not None})
    if not known:
        return None
    return json.loads(known[0]) if len(known) == 1 else ", ".join(str(json.loads(value)) for value in known)


def merge(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    leaks = sorted(
        (Finding.from_json(leak) for report in reports for leak in report["leaks"]),
        key=lambda leak: (leak.nodeid, leak.owner, leak.code),
    )
    seconds: Counter[str] = Counter()
    hooks = 0.0
    tidied_kinds: Counter[str] = Counter()
    freed: Counter[str] = Counter()
    tidied_tests = 0
    for report in reports:
        seconds.update(report.get("check_seconds") or {})
        hooks += report.get("hook_seconds") or 0.0
        tidied = report.get("tidied") or {}
        tidied_kinds.update(tidied.get("kinds") or {})
        freed.update(tidied.get("freed") or {})
        tidied_tests += int(tidied.get("tests") or 0)  # shards run disjoint tests
    keys = dict.fromkeys(key for report in reports for key in report.get("run") or {})
    run = {key: _same([(report.get("run") or {}).get(key) for report in reports]) for key in keys}
    # A baseline entry is fixed when some shard ran every test it names clean, unless another shard's
    # leak still matches it.
    fixed: dict[str, dict[str, Any]] = {}
    for report in reports:
        for index, raw in enumerate(report.get("fixed", [])):
            entry = parse_entry("report", index, raw)
            if not any(entry.covers(leak) for leak in leaks):
                fixed[json.dumps(entry.to_json(), sort_keys=True)] = entry.to_json()
    return {
        "schema": REPORT_SCHEMA,
        "run": {**run, "shards": len(reports)},
        "counts": dict(Counter(leak.outcome for leak in leaks)),
        "check_seconds": {check: round(spent, 6) for check, spent in sorted(seconds.items())},
        "hook_seconds": round(hooks, 6),
        "leaks": [leak.to_json() for leak in leaks],
        "tidied": {
            "kinds": dict(sorted(tidied_kinds.items())),
            "freed": dict(sorted(freed.items())),
            "tests": tidied_tests,
        },
        "fixed": [fixed[key] for key in sorted(fixed)],
    }


def summary(merged: dict[str, Any]) -> list[str]:
    leaks = [Finding.from_json(leak) for leak in merged["leaks"]]
    lines = [f"[{leak.outcome}] {leak.code} {leak.kind} in {leak.owner}: {leak.what}" for leak in leaks]
    if leaks:
        lines.append(counts_line(leaks, str(merged["run"].get("mode"))))
    if merged["tidied"]["kinds"]:
        lines.append(format_tidied(merged["tidied"]))
    lines += [f"fixed since the baseline: {parse_entry('report', i, raw)}" for i, raw in enumerate(merged["fixed"])]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_estimator_isolation merge",
        description="Merge the JSON reports of a sharded run into one report, and print one summary.",
    )
    parser.add_argument("reports", nargs="+", type=Path, metavar="REPORT", help="a shard's JSON report")
    parser.add_argument("-o", "--output", type=Path, help="write the merged report here")
    args = parser.parse_args(argv)
    try:
        if args.output is not None and any(args.output.resolve() == path.resolve() for path in args.reports):
            raise MergeError(f"{args.output}: the output would overwrite one of the reports")
        merged = merge([load(path) for path in args.reports])
    except (MergeError, pytest.UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in summary(merged):
        print(line)
    if args.output is not None:
        write_atomically(args.output, json.dumps(merged, indent=2) + "\n")
        print(f"merged {len(args.reports)} report(s) into {args.output}")
    return 0
