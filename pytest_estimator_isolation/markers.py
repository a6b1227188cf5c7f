"""The plugin's markers, in one place: their help, reading them for a test or a scoped fixture, and
rejecting bad arguments with a one-line usage error.

``@pytest.mark.estimator_isolation(mode)`` and ``@pytest.mark.allow_leaks(*kinds)`` apply to a test,
and through ``pytestmark`` to a class or module: there they also govern that class's or module's scoped
fixtures and xunit setups (``setup_class``, ``setup_module``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from .leaks import LeakKind
from .options import MODES, check_mode
from .verdict import Mode, Policy

MODE = "estimator_isolation"
ALLOW = "allow_leaks"

HELP = (
    f"{MODE}(mode): check this test in mode 'strict', 'warn' or 'off' (opt out), whatever "
    "--estimator-isolation says; on a class or module, its scoped fixtures too.",
    f"{ALLOW}(*kinds): let these leak kinds (e.g. 'open-session' or 'EI101') pass for this test; they are "
    "still reported, and not cleaned up; on a class or module, its scoped fixtures too.",
)


def register(config: pytest.Config) -> None:
    for line in HELP:
        config.addinivalue_line("markers", line)


def _where(node: pytest.Item | pytest.Collector) -> str:
    return node.nodeid or "conftest"


def mode(node: pytest.Item | pytest.Collector, default: Mode) -> Mode:
    """The closest ``estimator_isolation`` marker's mode, or ``default``."""
    marker = node.get_closest_marker(MODE)
    if marker is None:
        return default
    if len(marker.args) != 1 or marker.kwargs or not isinstance(marker.args[0], str):
        raise pytest.UsageError(
            f"{_where(node)}: @pytest.mark.{MODE} takes one mode ({', '.join(MODES)}), "
            f"got args={marker.args!r} kwargs={marker.kwargs!r}"
        )
    return check_mode(marker.args[0], f"{_where(node)}: @pytest.mark.{MODE}")


Known = Callable[[], Mapping[str, LeakKind]]
"""Every leak kind by name and code, asked for only when a marker names kinds."""


def allowed(node: pytest.Item | pytest.Collector, kinds: Known) -> frozenset[str]:
    """The kind names every ``allow_leaks`` marker on the node and its parents allows."""
    names: set[str] = set()
    for marker in node.iter_markers(ALLOW):
        known = kinds()
        head = f"{_where(node)}: @pytest.mark.{ALLOW}"
        if marker.kwargs:
            raise pytest.UsageError(f"{head} takes leak kinds only, got keyword arguments {sorted(marker.kwargs)}")
        if not marker.args:
            raise pytest.UsageError(f"{head}() names no leak kind; known kinds: {_known(known)}")
        for name in marker.args:
            if not isinstance(name, str):
                raise pytest.UsageError(
                    f"{head} takes kinds as separate strings (allow_leaks('open-session', 'EI102')), got {name!r}"
                )
            if name not in known:
                raise pytest.UsageError(f"{head} got unknown leak kind {name!r}; known kinds: {_known(known)}")
            names.add(known[name].name)
    return frozenset(names)


def policy(node: pytest.Item | pytest.Collector, default: Mode, kinds: Known) -> Policy:
    return Policy(mode(node, default), allowed(node, kinds))


def _known(known: Mapping[str, LeakKind]) -> str:
    return ", ".join(sorted({kind.name for kind in known.values()}))
