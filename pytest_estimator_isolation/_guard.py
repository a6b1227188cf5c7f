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


class Hooks:
    """The plugin's hooks as the checker calls them."""

    def __init__(self, pluginmanager: pytest.PytestPluginManager) -> None:
        self._hook = pluginmanager.hook
        self.seconds: dict[str, float] = {}
        self._crashes: list[_Crash] = []

    def _call(self, name: str, **kwargs: Any) -> Any:
        caller = getattr(self._hook, name)
        for impl in caller.get_hookimpls():
            if not getattr(impl.function, _GUARDED, False) and not (impl.wrapper or impl.hookwrapper):
                impl.function = _guarded(name, impl, self.seconds, self._crashes)
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
        self._keep_crashes(scope)

    def find_leaks(self, scope: Scope) -> list[Leak]:
        groups: list[Sequence[Leak]] = self._call("pytest_estimator_isolation_find_leaks", scope=scope) or []
        self._keep_crashes(scope)
        leaks = [leak for group in groups for leak in group]
        crashed = scope.stash.get(_CRASHES, None)
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
        if not self._crashes:
            return
        for crash in self._take_crashes():
            leak = Leak(CHECK_ERROR, scope.owner, crash.text(), check=crash.check)
            scope.stash.setdefault(_CRASHES, []).append(leak)


def _guarded(name: str, impl: Any, seconds: dict[str, float], crashes: list[_Crash]) -> Callable[..., Any]:
    """``impl.function``, timed, with a crash recorded instead of raised; ``find_leaks`` results are
    tagged with the check, and ``cleanup`` gets only the leaks the check found."""
    function, plugin, check = impl.function, impl.plugin, impl.plugin_name
    finds = name == "pytest_estimator_isolation_find_leaks"
    cleans = name == "pytest_estimator_isolation_cleanup"
    leaks_at = impl.argnames.index("leaks") if cleans and "leaks" in impl.argnames else None

    def guarded(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            if leaks_at is not None:
                mine = [leak for leak in args[leaks_at] if leak.origin is plugin]
                if not mine:
                    return None
                args = (*args[:leaks_at], mine, *args[leaks_at + 1 :])
            result = function(*args)
            if finds and result:
                for leak in result:
                    leak.check = leak.check or check
                    leak.origin = plugin
            return result
        except Exception as exc:
            crashes.append(_Crash(check, name, exc))
            return None
        finally:
            seconds[check] = seconds.get(check, 0.0) + time.perf_counter() - start

    setattr(guarded, _GUARDED, True)
    return guarded


def _culprit(exc: BaseException, impls: Sequence[Any]) -> str:
    codes = {impl.function.__code__: impl.plugin_name for impl in impls if hasattr(impl.function, "__code__")}
    tb = exc.__traceback__
    culprit = "a hook wrapper"
    while tb is not None:
        culprit = codes.get(tb.tb_frame.f_code, culprit)
        tb = tb.tb_next
    return culprit
