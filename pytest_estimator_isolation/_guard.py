"""Calling the checks through pluggy, with each one's crashes kept to itself.

pluggy calls every implementation of a hook in its own order, runs wrappers around them and stops at a
``firstresult``. It has no per-implementation error isolation, so before a call each plain
implementation's function is wrapped once (:func:`_guarded`): a crash is recorded against the check and
the call goes on with the others. It also times each check and tags the leaks it returns with its name,
so that ``cleanup`` gives every check only the leaks it found. A crash in a hook wrapper ends the call:
it is recorded against that wrapper's check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from . import _imports, problems
from .kinds import CHECK_ERROR
from .leaks import Leak, LeakKind
from .scopes import Scope

_CRASHES = pytest.StashKey[list[Leak]]()
_GUARDED = "__estimator_isolation_guarded__"


class _Crash:
    def __init__(self, check: str, hook: str, exc: BaseException) -> None:
        self.check, self.hook, self.exc = check, hook, exc

    def text(self) -> str:
        short = self.hook.removeprefix("pytest_estimator_isolation_")
        return f"check {self.check!r} crashed in {short} on TF {_imports.loaded_version()}: {self.exc!r}"


_HOOKS = (
    "pytest_estimator_isolation_kinds",
    "pytest_estimator_isolation_snapshot",
    "pytest_estimator_isolation_find_leaks",
    "pytest_estimator_isolation_cleanup",
    "pytest_estimator_isolation_still_in_place",
)


class Hooks:
    """The plugin's hooks as the checker calls them."""

    def __init__(self, pluginmanager: pytest.PytestPluginManager) -> None:
        self._hook = pluginmanager.hook
        self._spent: dict[str, list[float]] = {}  # by check: one cell its guards add to
        self._crashes: list[_Crash] = []
        self._stale = True  # plugins were registered since the implementations were last guarded
        self._kept = False  # some scope's stash holds crashes (from its snapshot) for its find_leaks

    @property
    def seconds(self) -> dict[str, float]:
        """Time spent in each check."""
        return {check: cell[0] for check, cell in self._spent.items()}

    def plugins_changed(self) -> None:
        """A plugin was registered: guard its implementations before the next call."""
        self._stale = True

    def _guard_all(self) -> None:
        """Guard every plain implementation not guarded for this caller yet (once per registration: the
        hooks are called around every test). A Hooks made elsewhere (usage checks at collection) may have
        guarded one first: it is guarded again, for this one."""
        self._stale = False
        for name in _HOOKS:
            for impl in getattr(self._hook, name).get_hookimpls():
                if impl.wrapper or impl.hookwrapper or getattr(impl.function, _GUARDED, None) is self:
                    continue
                if hasattr(impl.function, _GUARDED):
                    impl.function = impl.function.__wrapped__
                cell = self._spent.setdefault(impl.plugin_name, [0.0])
                impl.function = _guarded(name, impl, cell, self._crashes)
                setattr(impl.function, _GUARDED, self)

    def _call(self, name: str, **kwargs: Any) -> Any:
        if self._stale or name == "pytest_estimator_isolation_kinds":
            self._guard_all()
        caller = getattr(self._hook, name)
        try:
            return caller(**kwargs)
        except Exception as exc:  # raised by a hook wrapper: its check is the one in the traceback
            self._crashes.append(_Crash(_culprit(exc, caller.get_hookimpls()), name, exc))
            return None

    def _take_crashes(self) -> list[_Crash]:
        crashes = self._crashes[:]
        self._crashes.clear()
        return crashes

    def kinds(self) -> list[LeakKind]:
        groups = self._call("pytest_estimator_isolation_kinds") or []
        for crash in self._take_crashes():
            raise pytest.UsageError(f"estimator-isolation: {crash.text()}")
        kinds = []
        for group in groups:
            for kind in group if isinstance(group, (list, tuple)) else [group]:
                if not isinstance(kind, LeakKind):
                    raise pytest.UsageError(
                        f"estimator-isolation: pytest_estimator_isolation_kinds returned {kind!r}, not a LeakKind"
                    )
                kinds.append(kind)
        return kinds

    def any_check(self) -> bool:
        """Whether any check is registered (none until the suite imports TF, unless a user adds one)."""
        return bool(self._hook.pytest_estimator_isolation_find_leaks.get_hookimpls())

    def known(self) -> dict[str, LeakKind]:
        """Every kind the checks declare, by name and by code."""
        return {key: kind for kind in self.kinds() for key in (kind.name, kind.code)}

    def snapshot(self, scope: Scope) -> None:
        self._call("pytest_estimator_isolation_snapshot", scope=scope)
        if self._crashes:
            self._keep_crashes(scope)

    def find_leaks(self, scope: Scope) -> list[Leak]:
        groups: list[Sequence[Leak]] = self._call("pytest_estimator_isolation_find_leaks", scope=scope) or []
        if self._crashes:
            self._keep_crashes(scope)
        leaks = [leak for group in groups for leak in group] if any(groups) else []
        crashed = scope.stash.get(_CRASHES, None) if self._kept else None
        if crashed:
            scope.stash[_CRASHES] = []
            return [*crashed, *leaks]
        return leaks

    def cleanup(self, scope: Scope, leaks: list[Leak]) -> None:
        self._call("pytest_estimator_isolation_cleanup", scope=scope, leaks=leaks)
        for crash in self._take_crashes():
            problems.report(f"cleanup failed: {crash.text()}")

    def still_in_place(self, leak: Leak) -> bool:
        answer = self._call("pytest_estimator_isolation_still_in_place", leak=leak)
        self._take_crashes()
        return answer is not False

    def _keep_crashes(self, scope: Scope) -> None:
        self._kept = True
        for crash in self._take_crashes():
            leak = Leak(CHECK_ERROR, scope.owner, crash.text(), check=crash.check)
            scope.stash.setdefault(_CRASHES, []).append(leak)


def _guarded(name: str, impl: Any, spent: list[float], crashes: list[_Crash]) -> Callable[..., Any]:
    """``impl.function``, timed into ``spent``, with a crash recorded instead of raised; ``find_leaks``
    results are tagged with the check, and ``cleanup`` gets only the leaks the check found."""
    function, plugin, check = impl.function, impl.plugin, impl.plugin_name
    now = time.perf_counter
    tags = name == "pytest_estimator_isolation_find_leaks"

    def guarded(*args: Any) -> Any:
        start = now()
        try:
            result = function(*args)
            if tags and result:
                for leak in result:
                    leak.check = leak.check or check
                    leak.origin = plugin
            return result
        except Exception as exc:
            crashes.append(_Crash(check, name, exc))
            return None
        finally:
            spent[0] += now() - start

    leaks_at = impl.argnames.index("leaks") if "leaks" in impl.argnames else None

    def cleans(*args: Any) -> Any:
        if leaks_at is not None:
            mine = [leak for leak in args[leaks_at] if leak.origin is plugin]
            if not mine:
                return None
            args = (*args[:leaks_at], mine, *args[leaks_at + 1 :])
        return guarded(*args)

    wrapper = cleans if name == "pytest_estimator_isolation_cleanup" else guarded
    wrapper.__wrapped__ = function  # type: ignore[attr-defined]
    return wrapper


def _culprit(exc: BaseException, impls: Sequence[Any]) -> str:
    codes = {impl.function.__code__: impl.plugin_name for impl in impls if hasattr(impl.function, "__code__")}
    tb = exc.__traceback__
    culprit = "a hook wrapper"
    while tb is not None:
        culprit = codes.get(tb.tb_frame.f_code, culprit)
        tb = tb.tb_next
    return culprit
