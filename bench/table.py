"""The report: the rows' medians and ratios as a markdown table, the targets they are checked against (wall
differences, the plugin's own clock, the TF patches), each check's cost per test, and the memory rows."""

from __future__ import annotations

import statistics
from collections.abc import Callable

from runner import CONTAINERS, FLOORS, HOOKS, METRICS, NAN, SETTINGS_ONLY, Row


def median(values: list[float]) -> float:
    return statistics.median(values) if values else NAN


def own_clock(
    by: dict[tuple[str, str, str], Row], n_tf: int, n_plain: int, patches: tuple[float, float, float] | None
) -> list[str]:
    """The targets read from the plugin's own clock (JSON ``hook_seconds``: its time in every per-test
    hook, the checks included), which resolves what wall differences of a few % cannot. Not on it:
    pluggy calling those hooks, and the TF calls the plugin wraps (session creation, Estimator calls)."""
    lines = []
    for suite, n, label in (("tf", n_tf, "TF suite"), ("no-tf", n_plain, "no-TF suite")):
        row = by.get((suite, "strict", "main"))
        if row is None or not row.checks or row.failures:
            continue
        spent = median([run.get(HOOKS, NAN) for run in row.checks])
        loop = median(row.runs["loop"])
        lines.append(_budget_row(f"{label}: the plugin's hooks (own clock), strict row", spent / n, n, loop))
        if suite == "tf" and patches is not None:
            extra = patches[0]
            lines.append(_budget_row("TF suite: the plugin's TF patches (graph/session bodies)", extra, n, loop))
            lines.append(_budget_row("TF suite: hooks + patches", spent / n + extra, n, loop, limit=120e-6))
        for label, _, what in FLOORS if suite == "tf" else ():
            floor = by.get((suite, label, "main"))
            if floor is not None and floor.checks and not floor.failures:
                spent = median([run.get(HOOKS, NAN) for run in floor.checks])
                name = f"floor: the hooks with the built-in checks swapped for {what} (own clock)"
                lines.append(_budget_row(name, spent / n, n, median(floor.runs["loop"])))
        settings = by.get((suite, SETTINGS_ONLY, "main")) if suite == "tf" else None
        if settings is not None and settings.checks and not settings.failures:
            cut = median([run.get(HOOKS, NAN) for run in settings.checks])
            name = "TF suite: the hooks with only the EI301 settings watched (own clock; strict row: every entry)"
            lines.append(_budget_row(name, cut / n, n, median(settings.runs["loop"])))
        lines += _containers(by, n) if suite == "tf" else []
    if lines:
        head = "| target: <= 100 us per test and <= 1 % of the test loop | per test | whole suite | share | met |"
        lines = ["", head, "| --- | --- | --- | --- | --- |", *lines]
    return lines


TF_STATE = "estimator_isolation.tf_state"


def _containers(by: dict[tuple[str, str, str], Row], n: int) -> list[str]:
    """The containers' rows (issue 29): the tf_state check's own clock with the containers, without them,
    and with one more container of 10 or 1,000 items; a clean test must pay <= 5 us for all containers
    together, the same whatever the number of items."""
    spent = {}
    for label in ("strict", *(label for label, _ in CONTAINERS)):
        row = by.get(("tf", label, "main"))
        if row is not None and row.checks and not row.failures:
            spent[label] = median([run.get(TF_STATE, NAN) for run in row.checks]) / n
    lines = [
        f"| tf_state check (own clock), {label} row | {seconds * 1e6:.1f} us per test "
        f"| {seconds * n * 1000:.1f} ms in all | | |"
        for label, seconds in spent.items()
    ]
    cut, small, large = (spent.get(label) for label, _ in CONTAINERS)
    if cut is not None and "strict" in spent:
        cost = spent["strict"] - cut
        met = "yes" if cost <= 5e-6 else "**no**"
        lines.append(
            f"| the containers, a clean test (strict - not watched) | {cost * 1e6:+.1f} us per test | "
            f"| <= 5 us | {met} |"
        )
    if small is not None and large is not None:
        growth = large - small
        met = "yes" if growth <= 5e-6 else "**no**"
        lines.append(f"| 1,000 items instead of 10 in a container | {growth * 1e6:+.1f} us per test | | flat | {met} |")
    return lines


SCALE = "one os.stat, for scale"


def save_costs(saves: dict[str, dict[str, float] | None]) -> list[str]:
    """What the training-state patches add to one save or restore (CPU time, bench/probes.py), with the
    registry in memory and in the file xdist workers share, against the 20 us target."""
    memory, xdist = saves.get("memory"), saves.get("xdist")
    if not memory:
        return []
    head = "| target: a save or restore pays <= 20 us over TF's own call | registry in memory | xdist registry file "
    head += "| met |"
    lines = ["", head, "| --- | --- | --- | --- |"]
    for label, spent in memory.items():
        if label == SCALE:
            continue
        shared = xdist.get(label) if xdist else None
        cells = f"{spent * 1e6:.1f} us | " + (f"{shared * 1e6:.1f} us" if shared is not None else "")
        lines.append(f"| {label} | {cells} | {'yes' if spent <= 20e-6 else '**no**'} |")
    if SCALE in memory:
        lines.append(f"| {SCALE} (a first save costs about 3 syscalls) | {memory[SCALE] * 1e6:.1f} us | | |")
    return lines


def _budget_row(name: str, per_test: float, n: int, loop: float, limit: float = 100e-6) -> str:
    met = "yes" if per_test <= limit and per_test * n <= loop / 100 else "**no**"
    return (
        f"| {name} | {per_test * 1e6:.1f} us per test | {per_test * n * 1000:.1f} ms in all "
        f"| {per_test * n / loop * 100:.2f} % of the test loop | {met} |"
    )


def report(
    rows: list[Row],
    sizes: dict[str, int],
    notes: list[str],
    machine: list[str],
    patches: tuple[float, float, float] | None = None,
    saves: dict[str, dict[str, float] | None] | None = None,
) -> str:
    by = {(row.suite, row.label, row.env): row for row in rows}

    def med(suite: str, label: str, env: str = "main", metric: str = "wall") -> float:
        row = by.get((suite, label, env))
        return NAN if row is None or row.failures else median(row.runs[metric])

    lines = ["Machine:", "", *(f"- {line}" for line in machine), ""]
    lines.append("| suite | configuration | env | wall | wall range | wall vs no plugin | CPU | test loop | runs |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if row.memory:
            continue
        wall, cpu, loop = (median(row.runs[metric]) for metric in METRICS)
        low, high = min(row.runs["wall"]), max(row.runs["wall"])
        note = (" (extrapolated)" if row.nodeids else "") + (f" ({len(row.failures)} failed)" if row.failures else "")
        ratio = wall / med(row.suite, "no plugin")
        lines.append(
            f"| {row.suite} | {row.label} | {row.env} | {wall:.2f} s{note} | {low:.2f}-{high:.2f} | {ratio:.3f}x "
            f"| {cpu:.2f} s | {loop:.3f} s | {len(row.runs['wall'])} |"
        )

    n_tf, n_plain = sizes["tf"], sizes["no-tf"]

    def over(suite: str, label: str, base: str, scale: float) -> Callable[[str], float]:
        return lambda metric: (med(suite, label, metric=metric) - med(suite, base, metric=metric)) * scale

    def paired(suite: str, label: str, base: str, scale: float) -> Callable[[str], float]:
        """The median of run-by-run differences: the two rows run back to back, so a slow spell of the
        machine hits both runs of a pair (medians of each row apart move by +-15 ms here)."""

        def value(metric: str) -> float:
            row, other = by.get((suite, label, "main")), by.get((suite, base, "main"))
            if row is None or other is None or row.failures or other.failures:
                return NAN
            return median([a - b for a, b in zip(row.runs[metric], other.runs[metric])]) * scale

        return value

    targets = [  # name, format, limit, f(metric) -> value (NaN when a row did not run)
        (
            "TF suite: strict vs off <= +1 %",
            "{:+.1f} %",
            1,
            lambda metric: (med("tf", "strict", metric=metric) / med("tf", "off", metric=metric) - 1) * 100,
        ),
        (
            "TF suite: (strict - off) / N <= 100 us per test",
            "{:+.0f} us",
            100,
            over("tf", "strict", "off", 1_000_000 / n_tf),
        ),
        (
            f"no-TF suite ({n_plain} tests): plugin on - no plugin <= 20 ms (median of paired runs)",
            "{:+.0f} ms",
            20,
            paired("no-tf", "strict", "no plugin", 1000),
        ),
        (
            f"no-TF suite ({n_plain * 10} tests): plugin on - no plugin <= 20 ms, whatever the size",
            "{:+.0f} ms",
            20,
            paired("no-tf-x10", "strict", "no plugin", 1000),
        ),
    ]
    for tool in ("forked", "isolate"):
        targets += [
            (
                f"strict (main env) <= 0.9x {tool} (fork env)",
                "{:.3f}x",
                0.9,
                lambda metric, tool=tool: med("tf", "strict", metric=metric) / med("tf", tool, "fork", metric),
            ),
            (
                f"strict <= 0.9x {tool}, both in the fork env",
                "{:.3f}x",
                0.9,
                lambda metric, tool=tool: med("tf", "strict", "fork", metric) / med("tf", tool, "fork", metric),
            ),
        ]
    lines += ["", "| target | wall | CPU | test loop | met (wall) |", "| --- | --- | --- | --- | --- |"]
    for name, fmt, limit, value in targets:
        wall = value("wall")
        if wall == wall:  # not NaN: the rows ran
            met = "yes" if wall <= limit else "**no**"
            lines.append(f"| {name} | {' | '.join(fmt.format(value(m)) for m in METRICS)} | {met} |")
    lines += own_clock(by, n_tf, n_plain, patches)
    plain = [row for row in rows if row.suite.startswith("no-tf")]
    if plain:
        kept_out = "yes" if all(row.runs["wall"] and not row.failures for row in plain) else "**no**"
        lines.append(f"| no-TF suite: TensorFlow never imported (checked at sessionfinish) | | | | {kept_out} |")
    lines += save_costs(saves or {})

    for row in rows:
        if row.checks and row.suite == "tf" and row.env == "main" and not row.extra_env:
            names = sorted({name for run in row.checks for name in run})
            head = f"| check ({row.label} row, JSON check_seconds) | per test | whole suite |"
            lines += ["", head, "| --- | --- | --- |"]
            for name in names:
                spent = median([run.get(name, 0.0) for run in row.checks])
                lines.append(f"| {name} | {spent / n_tf * 1e6:.1f} us | {spent * 1000:.1f} ms |")

    memory = [row for row in rows if row.memory and row.rss]
    if memory:
        lines += [
            "",
            f"| memory, {sizes['memory']} graph-building tests | RSS after test 1 | at the end | growth | peak "
            "| met (growth <= 50 MB) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
    for row in memory:
        first, final = median([r["rss_first"] for r in row.rss]), median([r["rss_final"] for r in row.rss])
        growth = median([r["rss_final"] - r["rss_first"] for r in row.rss])
        peak = median([r["rss_peak"] for r in row.rss])
        met = "yes" if growth <= 50 else "**no**"
        lines.append(f"| {row.label} | {first:.0f} MB | {final:.0f} MB | {growth:+.1f} MB | {peak:.0f} MB | {met} |")
    failures = [f"{row.suite}/{row.label}/{row.env} failed: {msg}" for row in rows for msg in row.failures[:2]]
    if notes or failures:
        lines += ["", "Notes:", "", *(f"- {note}" for note in notes + failures)]
    return "\n".join(lines) + "\n"
