"""Benchmarks for pytest-estimator-isolation (stdlib only). From the repo root:

    .venv/bin/python bench/run.py            # the full run (11-16 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick    # a smoke run (2-4 minutes)

It generates synthetic suites in a temp dir and times them side by side, interleaving the
configurations within every repeat, then prints a markdown table of medians and ratios. Only numbers
from one invocation compare: the absolute times depend on the machine and on what else runs on it.
The fork-isolation rows need bench/.venv-fork (see bench/README.md); rows whose tools are missing are
skipped with a note.
"""

# The command line and the order of the runs. The suites are written by suites.py, run and timed by runner.py,
# the TF-patch probe and the environment probes are in probes.py, and table.py turns the rows into the report.

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from probes import (
    PATCH_ROUNDS,
    ROOT,
    patch_overhead,
    plugin_fingerprint,
    plugin_revision,
    probe,
    save_overhead,
    tf_version,
)
from runner import CONTAINERS, FLOORS, NO_PLUGIN, SETTINGS_ONLY, STRICT, Row, environment, run_row
from suites import write_memory_suite, write_no_tf_suite, write_tf_suite
from table import report

FORK_PYTHON = ROOT / "bench" / ".venv-fork" / "bin" / "python"
FORK_TOOLS = (("pytest_forked", "forked", "--forked"), ("pytest_isolate", "isolate", "--isolate"))
SKIPPABLE = ("no-tf", "tf", "fresh", "fork", "memory", "floor", "containers", "saves")
PLAIN_RUNS = 5  # runs of each no-TF row per repeat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats: a smoke run")
    parser.add_argument("--tests", type=int, help="tests in the TF suite (300; quick 60)")
    parser.add_argument("--plain-tests", type=int, help="tests in the no-TF suite (300)")
    parser.add_argument("--fresh-tests", type=int, help="tests run in a fresh interpreter each (20; quick 4)")
    parser.add_argument("--memory-tests", type=int, help="graph-building tests for RSS (2000; quick 300)")
    parser.add_argument("--repeats", type=int, help="repeats of every row (3; quick 2); no-TF rows 5x this")
    parser.add_argument("--skip", action="append", default=[], choices=SKIPPABLE, help="leave out these rows")
    parser.add_argument("--keep", action="store_true", help="keep the generated suites")
    parser.add_argument("--python", type=Path, default=Path(sys.executable), help="env with TF and the plugin")
    parser.add_argument("--fork-python", type=Path, default=FORK_PYTHON, help="env with pytest 8.4 + fork tools")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.md")
    args = parser.parse_args()
    quick = args.quick
    n_tf = args.tests or (60 if quick else 300)
    n_plain = args.plain_tests or 300
    n_fresh = args.fresh_tests or (4 if quick else 20)
    n_memory = args.memory_tests or (300 if quick else 2000)
    repeats = args.repeats or (2 if quick else 3)

    tools = ["tensorflow", "tensorflow_estimator", "pytest_estimator_isolation", "pytest_forked", "pytest_isolate"]
    main_info, fork_info = probe(args.python, tools), probe(args.fork_python, tools)
    notes: list[str] = []
    has_tf = bool(main_info.get("tensorflow") and main_info.get("pytest_estimator_isolation"))
    has_est = bool(main_info.get("tensorflow_estimator"))
    if not main_info.get("pytest_estimator_isolation"):
        print(f"{args.python} cannot import pytest_estimator_isolation: install the repo there", file=sys.stderr)
        return 2
    machine = [
        f"CPUs: {os.cpu_count()}, {platform.machine()}, {platform.system()} {platform.release()}",
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"main env: {args.python} — Python {main_info.get('python')}, pytest {main_info.get('v:pytest')}, "
        f"TensorFlow {tf_version(main_info)}, tf.estimator {main_info.get('v:tensorflow-estimator')}",
        f"fork env: {args.fork_python} — "
        + (
            f"Python {fork_info.get('python')}, pytest {fork_info.get('v:pytest')}, TensorFlow {tf_version(fork_info)}"
            if fork_info
            else "missing"
        ),
        f"plugin: commit {plugin_revision()}",
        f"sizes: TF suite {n_tf} tests, no-TF suite {n_plain}, fresh-interpreter sample {n_fresh}, "
        f"memory suite {n_memory}; repeats {repeats} (no-TF rows {PLAIN_RUNS * repeats})",
    ]
    print("\n".join(machine), flush=True)

    work = Path(tempfile.mkdtemp(prefix="ei-bench-"))
    tf_dir, plain_dir, mem_dir = work / "tf", work / "plain", work / "memory"
    big_dir = work / "plain-x10"
    write_no_tf_suite(plain_dir, n_plain)
    write_no_tf_suite(big_dir, n_plain * 10)  # the same suite, 10x the tests: start-up alone stays flat
    py, fork_py = args.python, args.fork_python
    rows = [
        Row("no-tf", "no plugin", "main", py, NO_PLUGIN),
        Row("no-tf", "strict", "main", py, STRICT),
        Row("no-tf-x10", "no plugin", "main", py, NO_PLUGIN),
        Row("no-tf-x10", "strict", "main", py, STRICT),
    ]
    if not has_tf:
        notes.append(f"TF rows skipped: {py} has no TensorFlow")
    else:
        if not has_est:
            notes.append("no tf.estimator in the main env: the TF suite has no Estimator tests")
        ids = write_tf_suite(tf_dir, n_tf, has_est)
        write_memory_suite(mem_dir, n_memory)
        counts = {kind: len(found) for kind, found in ids.items() if found}
        share = {k: max(1, round(n_fresh * c / n_tf)) for k, c in counts.items()}
        sample = {k: ids[k][:: max(1, counts[k] // share[k])][: share[k]] for k in counts}
        rows += [
            Row("tf", "no plugin", "main", py, NO_PLUGIN),
            Row("tf", "off", "main", py),
            Row("tf", "warn", "main", py, ("--estimator-isolation=warn",)),
            Row("tf", "strict", "main", py, STRICT),
            Row(
                "tf",
                f"fresh interpreter per test (sample of {sum(map(len, sample.values()))})",
                "main",
                py,
                nodeids=sample,
                counts=counts,
            ),
            *(Row("tf", label, "main", py, STRICT, extra_env={"BENCH_CHECKS": value}) for label, value, _ in FLOORS),
            Row("tf", SETTINGS_ONLY, "main", py, STRICT, extra_env={"BENCH_ENTRIES": "settings"}),
            *(Row("tf", label, "main", py, STRICT, extra_env=extra) for label, extra in CONTAINERS),
            Row("memory", "off", "main", py, memory=True),
            Row("memory", "strict", "main", py, STRICT, memory=True),
        ]
        fork_ok = bool(fork_info.get("tensorflow") and fork_info.get("pytest_estimator_isolation"))
        if not fork_ok:
            notes.append(f"fork-isolation rows skipped: no {args.fork_python} with TF + the plugin (bench/README.md)")
        else:
            rows += [Row("tf", "off", "fork", fork_py), Row("tf", "strict", "fork", fork_py, STRICT)]
            for module, label, flag in FORK_TOOLS:
                if fork_info.get(module):
                    rows.append(Row("tf", label, "fork", fork_py, (flag,)))
                else:
                    notes.append(f"{label} row skipped: {module} is not installed in {args.fork_python}")

    def group(row: Row) -> str:
        if row.label in dict(CONTAINERS):
            return "containers"
        if row.extra_env:
            return "floor"
        return "fresh" if row.nodeids else "fork" if row.env == "fork" else row.suite.removesuffix("-x10")

    rows = [row for row in rows if group(row) not in args.skip]
    notes.extend(f"{name} rows skipped (--skip)" for name in args.skip)
    notes.append(
        "env main = the interpreter running this script; env fork = bench/.venv-fork (pytest 8.4, since "
        "pytest-forked and pytest-isolate do not work on pytest 9.2)"
    )
    env = environment()
    cwd = {"tf": tf_dir, "no-tf": plain_dir, "no-tf-x10": big_dir, "memory": mem_dir}

    # Warm-up (untimed): fills the OS file cache and, in each env, anything compiled on first use.
    for row in rows:
        if row.nodeids is None and row.label in ("no plugin", "off"):
            run_row(Row(row.suite, "warm-up", row.env, row.python, row.args, memory=row.memory), cwd[row.suite], env)

    started, fingerprint = time.perf_counter(), plugin_fingerprint()
    for r in range(repeats):
        batch = [row for row in rows if not row.suite.startswith("no-tf")]
        shift = r % len(batch) if batch else 0
        batch = batch[shift:] + batch[:shift]  # a different order in every repeat
        for row in batch:
            print(f"[{r + 1}/{repeats}] {row.suite:6} {row.env:4} {row.label}", flush=True)
            run_row(row, cwd[row.suite], env)
        for k in range(PLAIN_RUNS):  # the no-TF rows are short and noisy: more runs, each pair back to back
            for suite in ("no-tf", "no-tf-x10"):
                plain = [row for row in rows if row.suite == suite]
                for row in plain if (r + k) % 2 else plain[::-1]:
                    run_row(row, cwd[row.suite], env)
    if plugin_fingerprint() != fingerprint:
        notes.append("**the plugin's sources changed during the run: these rows mix two versions; run again**")
    notes.append(
        f"benchmark took {time.perf_counter() - started:.0f} s; "
        f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    notes.append(
        "fresh interpreter per test: a stratified sample run one `python -m pytest NODEID` each, "
        f"scaled to all {n_tf} tests per kind"
    )
    patches = None
    if has_tf and "tf" not in args.skip:
        print("TF patches: test bodies timed with and without them", flush=True)
        patches = patch_overhead(args.python)
        if patches is not None:
            notes.append(
                f"TF patches: +{patches[0] * 1e6:.1f} us (standard error {patches[1] * 1e6:.1f} us) per "
                f"graph/session test body of {patches[2] * 1e3:.3f} ms (median of {PATCH_ROUNDS} paired "
                "differences per kind, one process)"
            )
    saves: dict[str, dict[str, float] | None] = {}
    if "saves" not in args.skip:
        print("training-state patches: what a save or restore pays over TF's own call", flush=True)
        saves = {registry: save_overhead(args.python, registry) for registry in ("memory", "xdist")}
    sizes = {"tf": n_tf, "no-tf": n_plain, "memory": n_memory}
    text = report(rows, sizes, notes, machine, patches, saves)
    print("\n" + text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    if args.keep:
        print(f"suites kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
