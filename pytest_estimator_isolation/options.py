"""Command-line, ini and environment options, resolved once into a frozen :class:`Settings`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

MODES = ("strict", "warn", "off")
ENV_MODE = "PYTEST_ESTIMATOR_ISOLATION"

MODE_HELP = (
    "Check every test for leaked TensorFlow state: strict (the default when the flag is bare) fails the "
    "leaking test and cleans up, warn only warns, off disables the checks (fixtures still work)."
)
REPORT_HELP = "Write every leak found to this JSON file (schema in the README)."
BASELINE_HELP = "JSON file of known leaks that must not fail the run (for gradual adoption)."
UPDATE_BASELINE_HELP = "Write the leaks found in this run to the baseline file instead of failing on them."
KERAS_RESET_HELP = "Call keras.backend.clear_session() around every test, so layer names do not depend on order."
THREADS = ("tf", "all")
THREADS_HELP = (
    "Which threads a test may not leave running: tf (the default: TensorFlow's own, such as queue runners and "
    "event loggers) or all (any thread the test started, EI405; noisier, see the README)."
)


@dataclass(frozen=True)
class Settings:
    mode: str
    report: Path | None = None
    baseline: Path | None = None
    update_baseline: bool = False
    keras_reset: bool = False


def addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("estimator-isolation", "TensorFlow leak checks (pytest-estimator-isolation)")
    group.addoption(
        "--estimator-isolation",
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
    parser.addini("estimator_isolation", MODE_HELP, default="")
    parser.addini("estimator_isolation_report", REPORT_HELP, default="")
    parser.addini("estimator_isolation_baseline", BASELINE_HELP, default="")
    parser.addini("estimator_isolation_update_baseline", UPDATE_BASELINE_HELP, type="bool", default=False)
    parser.addini("estimator_isolation_keras_reset", KERAS_RESET_HELP, type="bool", default=False)
    group.addoption("--estimator-isolation-threads", metavar="tf|all", default=None, help=THREADS_HELP)
    parser.addini("estimator_isolation_threads", THREADS_HELP, default="")


def check_mode(value: str, where: str) -> str:
    mode = value.strip().lower()
    if mode not in MODES:
        hint = " (write the mode with '=': --estimator-isolation=warn)" if where == "--estimator-isolation" else ""
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


def resolve(config: pytest.Config) -> Settings:
    """CLI, then the environment, then the ini file, then off."""
    cli = config.getoption("estimator_isolation")
    env = os.environ.get(ENV_MODE, "")
    ini = str(config.getini("estimator_isolation"))
    if cli is not None:
        mode = check_mode(cli, "--estimator-isolation")
    elif env.strip():
        mode = check_mode(env, f"environment variable {ENV_MODE}")
    elif ini.strip():
        mode = check_mode(ini, "ini option estimator_isolation")
    else:
        mode = "off"

    def flag(option: str, ini_name: str) -> bool:
        value = config.getoption(option)
        return bool(value) if value is not None else bool(config.getini(ini_name))

    settings = Settings(
        mode=mode,
        report=_path(config, "estimator_isolation_report", "estimator_isolation_report"),
        baseline=_path(config, "estimator_isolation_baseline", "estimator_isolation_baseline"),
        update_baseline=flag("estimator_isolation_update_baseline", "estimator_isolation_update_baseline"),
        keras_reset=flag("estimator_isolation_keras_reset", "estimator_isolation_keras_reset"),
    )
    if settings.update_baseline and settings.baseline is None:
        raise pytest.UsageError(
            "--estimator-isolation-update-baseline needs --estimator-isolation-baseline=PATH to write to"
        )
    return settings


def threads_mode(config: pytest.Config) -> str:
    """``--estimator-isolation-threads``, then ini ``estimator_isolation_threads``, then ``tf``."""
    cli = config.getoption("estimator_isolation_threads", None)
    where, value = ("--estimator-isolation-threads", cli) if cli else ("ini option estimator_isolation_threads", "")
    if not cli:
        value = str(config.getini("estimator_isolation_threads")).strip() or "tf"
    if value.strip().lower() not in THREADS:
        raise pytest.UsageError(f"{where}: invalid value {value!r}, expected one of {', '.join(THREADS)}")
    return value.strip().lower()


def item_mode(item: pytest.Item, default: str) -> str:
    marker = item.get_closest_marker("estimator_isolation")
    if marker is None:
        return default
    if len(marker.args) != 1 or marker.kwargs or not isinstance(marker.args[0], str):
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.estimator_isolation takes one mode (strict, warn or off), "
            f"got args={marker.args!r} kwargs={marker.kwargs!r}"
        )
    return check_mode(marker.args[0], f"{item.nodeid}: @pytest.mark.estimator_isolation")
