"""Running the suites: a configuration is a :class:`Row` (its pytest arguments and environment); one run is
``python -m pytest`` in a subprocess, timed (wall, CPU, the test loop from the suite's conftest), with each
check's own seconds read from the JSON report of a strict run."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PYTEST = ("-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider")
NO_PLUGIN = ("-p", "no:estimator_isolation")
# The strict rows also write the JSON report: its check_seconds give each check's own cost.
REPORT = "bench-report.json"
HOOKS = "all per-test hooks, checks included (JSON hook_seconds)"
STRICT = ("--estimator-isolation=strict", f"--estimator-isolation-report={REPORT}")

# The floor rows: strict with the built-in checks swapped for as many no-op checks, or for none (the
# suite's conftest does it, BENCH_CHECKS): what the per-test hooks cost before any check does any work.
FLOORS = (("strict, no-op checks", "noop", "as many no-op checks"), ("strict, no checks", "none", "no checks"))
# The watched-state row (issue 23): strict with the table of watched TF state cut down to the EI301 settings
# (the suite's conftest does it, BENCH_ENTRIES): beside the strict row, what watching every entry costs a
# clean test (it must not grow with the number of entries).
SETTINGS_ONLY = "strict, only the EI301 settings watched"
# The containers' rows (issue 29): strict without the containers, and with one more container of 10 or of
# 1,000 items (BENCH_ENTRIES, BENCH_CONTAINER_ITEMS): what they cost a clean test, and that it does not
# grow with the number of items.
CONTAINERS = (
    ("strict, the containers not watched", {"BENCH_ENTRIES": "no-containers"}),
    ("strict, + a container of 10 items", {"BENCH_CONTAINER_ITEMS": "10"}),
    ("strict, + a container of 1000 items", {"BENCH_CONTAINER_ITEMS": "1000"}),
)

NAN = float("nan")
METRICS = ("wall", "cpu", "loop")  # wall and CPU seconds of the run; seconds in pytest's test loop


@dataclass
class Row:
    suite: str
    label: str
    env: str
    python: Path
    args: tuple[str, ...] = ()
    nodeids: dict[str, list[str]] | None = None  # "fresh interpreter" rows: kind -> sampled test ids
    counts: dict[str, int] | None = None  # ... and how many tests of each kind the suite has
    memory: bool = False
    runs: dict[str, list[float]] = field(default_factory=lambda: {metric: [] for metric in METRICS})
    rss: list[dict[str, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    checks: list[dict[str, float]] = field(default_factory=list)  # seconds per check, per run
    extra_env: dict[str, str] = field(default_factory=dict)  # added to the run's environment


def environment() -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE would make every run compile the plugin (and pytest) from source, which an
    # installed package never does: ~10 ms of the plugin's start-up that no user pays.
    dropped = ("PYTEST_ADDOPTS", "PYTEST_ESTIMATOR_ISOLATION", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pytest_run(
    python: Path, cwd: Path, args: tuple[str, ...], env: dict[str, str]
) -> tuple[dict[str, Any], str | None]:
    """One pytest run: its wall and CPU seconds (CPU suffers less from other load on the machine), and
    what the suite's conftest measured: the seconds of the test loop alone (no interpreter start, TF
    import or collection: the least noisy view of a per-test overhead) and RSS."""
    out = cwd / "bench-out.json"
    out.unlink(missing_ok=True)
    (cwd / REPORT).unlink(missing_ok=True)
    cpu, start = cpu_of_children(), time.perf_counter()
    command = [str(python), *PYTEST, *args]
    proc = subprocess.run(command, cwd=cwd, env={**env, "BENCH_OUT": str(out)}, capture_output=True, text=True)
    measured = {"wall": time.perf_counter() - start, "cpu": cpu_of_children() - cpu}
    measured.update(json.loads(out.read_text()) if out.exists() else {"loop": NAN})
    if (cwd / REPORT).exists():
        data = json.loads((cwd / REPORT).read_text())
        measured["checks"] = {**data.get("check_seconds", {}), HOOKS: data.get("hook_seconds", NAN)}
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        return measured, f"exit {proc.returncode}: " + " | ".join(tail)
    return measured, None


def run_row(row: Row, cwd: Path, env: dict[str, str]) -> None:
    if row.nodeids is not None and row.counts is not None:
        # One fresh interpreter per test on a sample of each kind, scaled to the whole suite.
        total = dict.fromkeys(METRICS, 0.0)
        for kind, ids in row.nodeids.items():
            sample = []
            for nodeid in ids:
                measured, error = pytest_run(row.python, cwd, (*row.args, nodeid), env)
                sample.append(measured)
                if error:
                    row.failures.append(f"{nodeid}: {error}")
            for metric in METRICS:
                total[metric] += statistics.mean(m[metric] for m in sample) * row.counts[kind]
        for metric in METRICS:
            row.runs[metric].append(total[metric])
        return
    measured, error = pytest_run(row.python, cwd, row.args, {**env, **row.extra_env})
    for metric in METRICS:
        row.runs[metric].append(measured[metric])
    if error:
        row.failures.append(error)
    if row.memory and "rss_final" in measured:
        row.rss.append(measured)
    if "checks" in measured and not row.memory:
        row.checks.append(measured["checks"])
