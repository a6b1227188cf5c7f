"""Known leaks that must not fail the run, for adopting the plugin on a suite that already leaks.

An entry is a kind and the tests (or fixtures) it belongs to, never a line number, so edits that move
code keep it. Most entries have one owner; a leak whose owner depends on test order (EI201: the second of
two tests training one dir is flagged) is keyed by what it is about (``subject``, the dir) and every test
involved, so the same file gates every order, shard and xdist schedule.

Schema 1 (``{"kind", "owner"}`` entries only) still loads. Its shared-model-dir entries name one test and
cover any shared-model-dir finding that involves that test; an update rewrites them as schema 2 entries
per dir once their test is checked again.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from .findings import Finding

SCHEMA = 2
READABLE = (1, 2)


class Entry(NamedTuple):  # NamedTuple, not a dataclass: ~1 ms less to import, the same order
    kind: str
    subject: str
    owners: tuple[str, ...]  # sorted; one owner unless subject is set

    def covers(self, leak: Finding) -> bool:
        """Whether this entry lets ``leak`` pass."""
        if self.kind == leak.covered_by and not self.subject:
            return self.owners[0] == leak.owner
        if self.kind != leak.kind:
            return False
        if self.subject:
            return self.subject == leak.subject and leak.involved <= set(self.owners)
        return self.owners[0] in leak.involved  # one owner; a schema 1 shared-model-dir entry matches loosely

    def to_json(self) -> dict[str, Any]:
        if self.subject:
            return {"kind": self.kind, "subject": self.subject, "owners": list(self.owners)}
        return {"kind": self.kind, "owner": self.owners[0]}

    def __str__(self) -> str:
        if self.subject:
            return f"{self.kind} {self.subject} ({', '.join(self.owners)})"
        return f"{self.kind} in {self.owners[0]}"


def entries_of(leaks: Iterable[Finding]) -> set[Entry]:
    """The baseline entries that cover these leaks: one per owner and kind, one per subject and kind
    (with every test involved), none for a leak another of its owner's leaks covers."""
    leaks = list(leaks)
    present = {(leak.kind, leak.owner) for leak in leaks}
    single: set[Entry] = set()
    shared: dict[tuple[str, str], set[str]] = {}
    for leak in leaks:
        if leak.covered_by and (leak.covered_by, leak.owner) in present:
            continue
        if leak.subject:
            shared.setdefault((leak.kind, leak.subject), set()).update(leak.involved)
        else:
            single.add(Entry(leak.kind, "", (leak.owner,)))
    return single | {Entry(kind, subject, tuple(sorted(owners))) for (kind, subject), owners in shared.items()}


def merge(entries: Iterable[Entry]) -> list[Entry]:
    """Sorted, without duplicates; entries of one subject and kind become one, naming every owner."""
    single: set[Entry] = set()
    shared: dict[tuple[str, str], set[str]] = {}
    for entry in entries:
        if entry.subject:
            shared.setdefault((entry.kind, entry.subject), set()).update(entry.owners)
        else:
            single.add(entry)
    merged = single | {Entry(kind, subject, tuple(sorted(owners))) for (kind, subject), owners in shared.items()}
    return sorted(merged)


def parse_entry(path: Path | str, index: int, raw: Any) -> Entry:
    """One entry of a baseline file (or a report's ``fixed`` list), or a one-line usage error naming it."""

    def bad(problem: str) -> pytest.UsageError:
        shown = json.dumps(raw, sort_keys=True)
        return pytest.UsageError(f"estimator-isolation baseline {path}: entry {index} {shown}: {problem}")

    if not isinstance(raw, dict):
        raise bad("expected an object with 'kind' and 'owner'")
    kind = raw.get("kind")
    if not isinstance(kind, str) or not kind:
        raise bad("'kind' must be a leak kind name such as 'open-session'")
    subject = raw.get("subject", "")
    if not isinstance(subject, str):
        raise bad("'subject' must be a string")
    if subject:
        owners = raw.get("owners")
        if not isinstance(owners, list) or not owners or not all(isinstance(o, str) and o for o in owners):
            raise bad("'owners' must be a non-empty list of test ids")
        return Entry(kind, subject, tuple(sorted(set(owners))))
    owner = raw.get("owner")
    if not isinstance(owner, str) or not owner:
        raise bad("'owner' must be a test id or fixture (a string)")
    return Entry(kind, "", (owner,))


class Baseline:
    def __init__(self, path: Path, entries: Collection[Entry]) -> None:
        self.path = path
        self.entries = merge(entries)

    @classmethod
    def load(cls, path: Path, *, missing_ok: bool) -> Baseline:
        if not path.exists():
            if missing_ok:
                return cls(path, [])
            raise pytest.UsageError(
                f"estimator-isolation baseline {path} does not exist "
                "(create it with --estimator-isolation-update-baseline)"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            if data.get("schema") not in READABLE:
                raise ValueError(f"schema is {data.get('schema')!r}, expected one of {READABLE}")
            raw = data["leaks"]
            if not isinstance(raw, list):
                raise ValueError("'leaks' must be a list")
        except (OSError, ValueError, KeyError) as exc:
            raise pytest.UsageError(f"estimator-isolation baseline {path} is malformed: {exc}") from None
        return cls(path, [parse_entry(path, index, entry) for index, entry in enumerate(raw)])

    def check_kinds(self, known: Collection[str]) -> None:
        """Reject entries of a kind no check reports: a typo would silently baseline nothing."""
        for index, entry in enumerate(self.entries):
            if entry.kind not in known:
                shown = json.dumps(entry.to_json(), sort_keys=True)
                raise pytest.UsageError(
                    f"estimator-isolation baseline {self.path}: entry {index} {shown}: unknown kind "
                    f"{entry.kind!r}; known kinds: {', '.join(sorted(known))}"
                )

    def covers(self, leak: Finding) -> bool:
        return any(entry.covers(leak) for entry in self.entries)

    def fixed(self, seen: Iterable[Finding], judged: Collection[str]) -> list[Entry]:
        """Entries fixed since the baseline: every test they name was checked, and no leak matched them.
        An entry of a test that did not run (deselected, not collected, interrupted, opted out) is not."""
        seen = list(seen)
        return [
            entry
            for entry in self.entries
            if set(entry.owners) <= set(judged) and not any(entry.covers(leak) for leak in seen)
        ]

    def updated(self, seen: Iterable[Finding], judged: Collection[str]) -> tuple[list[Entry], int]:
        """The baseline after this run: what it found, plus every entry it could not judge (one of whose
        tests it did not check), merged. Also returns how many entries were kept that way."""
        kept = [entry for entry in self.entries if not set(entry.owners) <= set(judged)]
        return merge([*entries_of(seen), *kept]), len(kept)

    def render(self, entries: Iterable[Entry]) -> str:
        """The file's text: sorted, no timestamps or counts, so an unchanged suite writes the same bytes."""
        data = {"schema": SCHEMA, "leaks": [entry.to_json() for entry in entries]}
        return json.dumps(data, indent=2) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file next to ``path`` and rename it over ``path``: readers (and a run killed
    half-way) see the old file or the new one, never a truncated one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temp, mode)  # mkstemp makes it private; the baseline is a shared, checked-in file
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
