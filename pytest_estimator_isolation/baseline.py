"""Known leaks that must not fail the run, for adopting the plugin on a suite that already leaks."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from .leaks import Leak

SCHEMA = 1


class Baseline:
    """A set of ``(kind, owner)`` pairs: stable across edits that move lines, unlike creation sites."""

    def __init__(self, path: Path, entries: set[tuple[str, str]]) -> None:
        self.path = path
        self.entries = entries

    @classmethod
    def load(cls, path: Path, *, missing_ok: bool) -> Baseline:
        if not path.exists():
            if missing_ok:
                return cls(path, set())
            raise pytest.UsageError(
                f"estimator-isolation baseline {path} does not exist "
                "(create it with --estimator-isolation-update-baseline)"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("schema") != SCHEMA:
                raise ValueError(f"schema is {data.get('schema')!r}, expected {SCHEMA}")
            entries = {(str(e["kind"]), str(e["owner"])) for e in data["leaks"]}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise pytest.UsageError(f"estimator-isolation baseline {path} is malformed: {exc}") from None
        return cls(path, entries)

    def covers(self, leak: Leak) -> bool:
        return (leak.kind.name, leak.owner) in self.entries

    def unseen(self, seen: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
        """Baseline entries no leak of this run matched: fixed since the baseline was written."""
        found = {(e["kind"], e["owner"]) for e in seen}
        return sorted(self.entries - found)

    @staticmethod
    def write(path: Path, leaks: Iterable[dict[str, Any]]) -> int:
        entries = sorted({(e["kind"], e["owner"]) for e in leaks})
        data = {"schema": SCHEMA, "leaks": [{"kind": kind, "owner": owner} for kind, owner in entries]}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return len(entries)
