"""The built-in checks: one hazard per module, each declaring its own kinds (``KINDS``) next to the code
that finds them, and a ``make(run)`` that builds its check. Adding a hazard is one module here (its TF
reader under ``_tf/``), its tests, and one line in :data:`MODULES`; CONTRIBUTING.md has the details.

pluggy calls checks in reverse order of registration (the last one first), except where a hook
implementation says ``tryfirst`` or ``trylast``; they are registered in the order of :data:`MODULES`.
Importing a check module is cheap: it imports TensorFlow's readers lazily (see ``_tf/__init__.py``), so
markers and baselines can name the built-in kinds before the suite imports TensorFlow.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest

from ..leaks import CHECK_ERROR, LeakKind

MODULES = (
    "sessions",
    "graphs",
    "eager",
    "training_state",
    "tf_state",
    "seed",
    "writers",
)


class RunInfo(NamedTuple):
    """What the checks may know about this run, as pytest gives it (a check derives the rest itself).

    ``rootdir``: pytest's rootdir; ``basetemp``: the ``--basetemp`` this run was given (under xdist: the
    root the workers' ``popen-gwN`` basetemps share), None when pytest picks its own; ``worker``: this
    xdist worker's id ("" without xdist); ``all_threads``: report any thread a test leaves running."""

    rootdir: str = ""
    basetemp: Path | None = None
    worker: str = ""
    all_threads: bool = False

    @classmethod
    def of(cls, config: pytest.Config) -> RunInfo:
        from ..options import threads_mode

        basetemp = config.getoption("basetemp", None)
        workerinput: Any = getattr(config, "workerinput", None)
        root = None
        if basetemp:  # pytest-xdist gives each worker --basetemp=<root>/popen-gwN
            root = Path(basetemp).parent if workerinput is not None else Path(basetemp)
        worker = str(workerinput.get("workerid", "")) if workerinput is not None else ""
        return cls(str(config.rootpath), root, worker, threads_mode(config) == "all")


def _modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{name}") for name in MODULES]


def kinds() -> tuple[LeakKind, ...]:
    """Every built-in kind, sorted by code (the README's leak table, row for row)."""
    found: list[LeakKind] = [CHECK_ERROR]
    for module in _modules():
        found.extend(module.KINDS)
    return tuple(sorted(found, key=lambda kind: kind.code))


def builtin(run: RunInfo) -> list[object]:
    """One check per module, in registration order."""
    return [module.make(run) for module in _modules()]


def register(config: pytest.Config, module: str | ModuleType, run: RunInfo | None = None) -> object:
    """Make one module's check and register it under its name: what the plugin does for each of
    :data:`MODULES` once the suite imports TensorFlow, and what a check's own in-process tests do in an
    inner conftest (``checks.register(config, "my_hazard")``, before any TF). A module not in
    :data:`MODULES` has its kinds declared too. The check's ``name`` must be ``estimator_isolation.`` and
    the module's name (baselines, reports and the bench name checks so)."""
    if isinstance(module, str):
        module = importlib.import_module(f"{__name__}.{module}")
    check = module.make(run if run is not None else RunInfo.of(config))
    expected = f"estimator_isolation.{module.__name__.rpartition('.')[2]}"
    name = getattr(check, "name", None)
    if name != expected:
        raise TypeError(f"{module.__name__}: its check is named {name!r}; name it {expected!r}, after its module")
    pluginmanager = config.pluginmanager
    if not pluginmanager.has_plugin(expected):
        if module.__name__.rpartition(".")[2] not in MODULES:
            pluginmanager.register(_Kinds(module.KINDS), expected + ".kinds")
        pluginmanager.register(check, expected)
    return check


class _Kinds:
    def __init__(self, kinds: Sequence[LeakKind]) -> None:
        self.kinds = tuple(kinds)

    @pytest.hookimpl
    def pytest_estimator_isolation_kinds(self) -> Sequence[LeakKind]:
        return self.kinds


class BuiltinKinds:
    """Declares the built-in kinds from the start, before the checks themselves are made (they are
    made when the suite imports TensorFlow)."""

    @pytest.hookimpl
    def pytest_estimator_isolation_kinds(self) -> Sequence[LeakKind]:
        return kinds()
