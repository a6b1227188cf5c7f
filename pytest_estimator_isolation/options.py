"""Command-line, ini and environment options, resolved once into a frozen :class:`Settings`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal, NamedTuple

import pytest

Mode = Literal["strict", "warn", "off"]

MODES: tuple[Mode, ...] = ("strict", "warn", "off")
ENV_MODE = "PYTEST_ESTIMATOR_ISOLATION"
MODE_FLAG = "--estimator-isolation"
ANNOTATIONS = ("auto", "on", "off")

MODE_HELP = (
    "Check every test for leaked TensorFlow state: strict (the default when the flag is bare) fails the "
    "leaking test and cleans up, warn only warns, off disables the checks (fixtures still work)."
)
REPORT_HELP = "Write every leak found to this JSON file (schema in docs/ci-and-baseline.md)."
BASELINE_HELP = "JSON file of known leaks that must not fail the run (for gradual adoption)."
UPDATE_BASELINE_HELP = "Write the leaks found in this run to the baseline file instead of failing on them."
KERAS_RESET_HELP = "Call keras.backend.clear_session() around every test, so layer names do not depend on order."
ANNOTATIONS_HELP = (
    "Print a GitHub Actions ::error/::warning line per failed/warned leak at its creation site: auto (when "
    "GITHUB_ACTIONS=true, the default), on or off."
)
THREADS = ("tf", "all")
THREADS_HELP = (
    "Which threads a test may not leave running: tf (the default: TensorFlow's own, such as queue runners and "
    "event loggers) or all (any thread the test started, EI405; noisier, see docs/leaks.md)."
)


class Settings(NamedTuple):
    mode: Mode
    report: Path | None = None
    baseline: Path | None = None
    update_baseline: bool = False
    keras_reset: bool = False
    annotations: bool = False
    all_threads: bool = False


def addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("estimator-isolation", "TensorFlow leak checks (pytest-estimator-isolation)")
    group.addoption(
        MODE_FLAG,
        nargs="?",
        const="strict",
        default=None,
        metavar="MODE",
        dest="estimator_isolation",
        help=MODE_HELP + f" Also ini 'estimator_isolation' and env {ENV_MODE}.",
    )
    group.addoption("--estimator-isolation-report", metavar="PATH", default=None, help=REPORT_HELP)
    group.addoption("--estimator-isolation-baseline", metavar="PATH", default=None, help=BASELINE_HELP)
    group.addoption(
        "--estimator-isolation-update-baseline", action="store_true", default=None, help=UPDATE_BASELINE_HELP
    )
    group.addoption("--estimator-isolation-keras-reset", action="store_true", default=None, help=KERAS_RESET_HELP)
    group.addoption("--estimator-isolation-annotations", choices=ANNOTATIONS, default=None, help=ANNOTATIONS_HELP)
    parser.addini("estimator_isolation", MODE_HELP, default="")
    parser.addini("estimator_isolation_report", REPORT_HELP, default="")
    parser.addini("estimator_isolation_baseline", BASELINE_HELP, default="")
    parser.addini("estimator_isolation_update_baseline", UPDATE_BASELINE_HELP, type="bool", default=False)
    parser.addini("estimator_isolation_keras_reset", KERAS_RESET_HELP, type="bool", default=False)
    parser.addini("estimator_isolation_annotations", ANNOTATIONS_HELP, default="auto")
    group.addoption("--estimator-isolation-threads", metavar="tf|all", default=None, help=THREADS_HELP)
    parser.addini("estimator_isolation_threads", THREADS_HELP, default="")


def free_swallowed_path(args: list[str]) -> list[str]:
    """Rewrite, in place, a bare ``--estimator-isolation`` followed by anything but a mode into
    ``--estimator-isolation=strict``, so ``pytest --estimator-isolation tests/`` runs ``tests/`` in strict
    mode instead of reading ``tests/`` as the mode. Returns the arguments freed that way."""
    freed = []
    for index, arg in enumerate(args[:-1]):
        if arg == "--":
            break
        following = args[index + 1]
        if arg == MODE_FLAG and not following.startswith("-") and following.strip().lower() not in MODES:
            args[index] = f"{MODE_FLAG}=strict"
            freed.append(following)
    return freed


def check_mode(value: str, where: str) -> Mode:
    mode = value.strip().lower()
    if mode not in MODES:
        # A bad mode on the command line was always written with '=' (a bare flag followed by anything but a
        # mode is rewritten to strict, see free_swallowed_path): suggest the mode it misspells, if any.
        import difflib

        close = difflib.get_close_matches(mode, MODES, n=1)
        hint = ""
        if close:
            meant = f"{MODE_FLAG}={close[0]}" if where == MODE_FLAG else repr(close[0])
            hint = f" (did you mean {meant}?)"
        raise pytest.UsageError(f"{where}: invalid mode {value!r}, expected one of {', '.join(MODES)}{hint}")
    return mode


def _path(config: pytest.Config, option: str, ini: str) -> Path | None:
    """A CLI path is relative to the working directory, an ini path to the ini file's directory."""
    cli = config.getoption(option)
    if cli:
        return Path(cli).expanduser().absolute()
    value = str(config.getini(ini)).strip()
    if not value:
        return None
    base = config.inipath.parent if config.inipath else config.rootpath
    return base / Path(value).expanduser()


def _ini_flag(config: pytest.Config, name: str) -> bool:
    try:
        return bool(config.getini(name))
    except (ValueError, pytest.UsageError) as exc:  # pytest's bool conversion: "invalid truth value 'maybe'"
        raise pytest.UsageError(f"ini option {name}: {exc} (expected true or false)") from None


def check_writable(path: Path, what: str) -> None:
    """Fail now, not after the whole suite ran: create the file's directory and try writing there."""
    if path.is_dir():
        raise pytest.UsageError(f"{what} {path} is a directory; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise pytest.UsageError(f"{what} {path} cannot be written: {exc.strerror or exc}") from None


def resolve(config: pytest.Config) -> Settings:
    """CLI, then the environment, then the ini file, then off."""
    if config.getoption("help", False) or config.getoption("version", 0):  # must work with bad env/ini values
        return Settings(mode="off")
    cli = config.getoption("estimator_isolation")
    env = os.environ.get(ENV_MODE, "")
    ini = str(config.getini("estimator_isolation"))
    if cli is not None:
        mode = check_mode(cli, MODE_FLAG)
    elif env.strip():
        mode = check_mode(env, f"environment variable {ENV_MODE}")
    elif ini.strip():
        mode = check_mode(ini, "ini option estimator_isolation")
    else:
        mode = "off"

    def flag(option: str, ini_name: str) -> bool:
        value = config.getoption(option)
        return bool(value) if value is not None else _ini_flag(config, ini_name)

    annotations = config.getoption("estimator_isolation_annotations")
    if annotations is None:
        annotations = str(config.getini("estimator_isolation_annotations")).strip().lower() or "auto"
        if annotations not in ANNOTATIONS:
            raise pytest.UsageError(
                f"ini option estimator_isolation_annotations: invalid value {annotations!r}, "
                f"expected one of {', '.join(ANNOTATIONS)}"
            )
    if annotations == "auto":
        annotations = "on" if os.environ.get("GITHUB_ACTIONS") == "true" else "off"

    settings = Settings(
        mode=mode,
        report=_path(config, "estimator_isolation_report", "estimator_isolation_report"),
        baseline=_path(config, "estimator_isolation_baseline", "estimator_isolation_baseline"),
        update_baseline=flag("estimator_isolation_update_baseline", "estimator_isolation_update_baseline"),
        keras_reset=flag("estimator_isolation_keras_reset", "estimator_isolation_keras_reset"),
        annotations=annotations == "on",
        all_threads=threads_mode(config) == "all",
    )
    if settings.update_baseline and settings.baseline is None:
        raise pytest.UsageError(
            "--estimator-isolation-update-baseline needs --estimator-isolation-baseline=PATH to write to"
        )
    if settings.report is not None and settings.baseline is not None and _same(settings.report, settings.baseline):
        raise pytest.UsageError(
            f"--estimator-isolation-report and --estimator-isolation-baseline are the same file ({settings.report}): "
            "the report would overwrite the baseline"
        )
    return settings


def _same(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def check_paths(settings: Settings) -> None:
    """The files this run will write (in the xdist controller only: the workers write nothing)."""
    if settings.report is not None:
        check_writable(settings.report, "--estimator-isolation-report")
    if settings.update_baseline and settings.baseline is not None:
        check_writable(settings.baseline, "--estimator-isolation-baseline")


def threads_mode(config: pytest.Config) -> str:
    """``--estimator-isolation-threads``, then ini ``estimator_isolation_threads``, then ``tf``."""
    cli = config.getoption("estimator_isolation_threads", None)
    where, value = ("--estimator-isolation-threads", cli) if cli else ("ini option estimator_isolation_threads", "")
    if not cli:
        value = str(config.getini("estimator_isolation_threads")).strip() or "tf"
    if value.strip().lower() not in THREADS:
        raise pytest.UsageError(f"{where}: invalid value {value!r}, expected one of {', '.join(THREADS)}")
    return value.strip().lower()
