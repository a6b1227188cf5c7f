"""The plugin's markers, in one place: their help, reading them for a test or a scoped fixture, and
rejecting bad arguments with a one-line usage error.

``@pytest.mark.estimator_isolation(mode)`` and ``@pytest.mark.allow_leaks(*kinds)`` apply to a test,
and through ``pytestmark`` to a class or module: there they also govern that class's or module's scoped
fixtures and xunit setups (``setup_class``, ``setup_module``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple, Union

import pytest

from .leaks import LeakKind
from .options import MODES, Mode, check_mode

MODE = "estimator_isolation"
ALLOW = "allow_leaks"

HELP = (
    f"{MODE}(mode): check this test in mode 'strict', 'warn' or 'off' (opt out), whatever "
    "--estimator-isolation says; on a class or module, its scoped fixtures too.",
    f"{ALLOW}(*kinds): let these leak kinds (e.g. 'open-session' or 'EI101') pass for this test; they are "
    "still reported, and not cleaned up; on a class or module, its scoped fixtures too.",
)


class Policy(NamedTuple):
    """How one scope (a test, a scoped fixture) is judged: its mode and the leak kinds it allows."""

    mode: Mode
    allowed: frozenset[str] = frozenset()


def register(config: pytest.Config) -> None:
    for line in HELP:
        config.addinivalue_line("markers", line)


def _where(node: Node) -> str:
    return node.nodeid or "conftest"


Known = Callable[[], Mapping[str, LeakKind]]
"""Every leak kind by name and code, asked for only when a marker names kinds."""

Node = Union[pytest.Item, pytest.Collector]  # Union: a runtime alias, and Python 3.9 has no X | Y


def policy(node: Node, default: Mode, kinds: Known, parents: dict[Node, Policy] | None = None) -> Policy:
    """The node's mode (its closest ``estimator_isolation`` marker, else ``default``) and the kinds the
    ``allow_leaks`` markers on it and its parents allow. ``parents`` keeps each collector's policy, so
    that a whole collection reads every module's and class's markers once."""
    parent = node.parent
    if parent is None:
        inherited = Policy(default)
    elif parents is not None and parent in parents:
        inherited = parents[parent]
    else:
        inherited = policy(parent, default, kinds, parents)
        if parents is not None:
            parents[parent] = inherited
    own = [marker for marker in node.own_markers if marker.name in (MODE, ALLOW)]
    if not own:
        return inherited
    mode = next((_mode(node, marker) for marker in own if marker.name == MODE), inherited.mode)
    allowed = inherited.allowed.union(*(_allowed(node, marker, kinds) for marker in own if marker.name == ALLOW))
    return Policy(mode, allowed)


def _mode(node: Node, marker: pytest.Mark) -> Mode:
    if len(marker.args) != 1 or marker.kwargs or not isinstance(marker.args[0], str):
        raise pytest.UsageError(
            f"{_where(node)}: @pytest.mark.{MODE} takes one mode ({', '.join(MODES)}), "
            f"got args={marker.args!r} kwargs={marker.kwargs!r}"
        )
    return check_mode(marker.args[0], f"{_where(node)}: @pytest.mark.{MODE}")


def _allowed(node: Node, marker: pytest.Mark, kinds: Known) -> frozenset[str]:
    known = kinds()
    head = f"{_where(node)}: @pytest.mark.{ALLOW}"
    if marker.kwargs:
        raise pytest.UsageError(f"{head} takes leak kinds only, got keyword arguments {sorted(marker.kwargs)}")
    if not marker.args:
        raise pytest.UsageError(f"{head}() names no leak kind; known kinds: {_known(known)}")
    names = set()
    for name in marker.args:
        if not isinstance(name, str):
            raise pytest.UsageError(
                f"{head} takes kinds as separate strings (allow_leaks('open-session', 'EI102')), got {name!r}"
            )
        if name not in known:
            raise pytest.UsageError(f"{head} got unknown leak kind {name!r}; known kinds: {_known(known)}")
        names.add(known[name].name)
    return frozenset(names)


def _known(known: Mapping[str, LeakKind]) -> str:
    return ", ".join(sorted({kind.name for kind in known.values()}))
