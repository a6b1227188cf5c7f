"""Calling the checks through pluggy, with one check's crash kept to itself.

pluggy calls every implementation of a hook in its own order (``tryfirst``/``trylast``), runs wrappers
around them and stops at a ``firstresult``; it stops at the first exception too. Two rules keep a
crashing check from hiding what the others find:

- **Built-in checks** decorate their hook methods with :func:`check_hook`: a crash is returned as a
  :class:`Crash` instead of the method's result, so pluggy goes on with the others and :class:`Checks`
  turns it into an ``EI900`` on the scope being judged, with the crash's traceback. The decorator also
  times the check (the JSON report's ``check_seconds``, kept on the check itself) and names it on the
  leaks it finds. Third-party checks may use it too (``from pytest_estimator_isolation import check_hook``).
- **Any other implementation that raises** (a plain method, or a wrapper) ends that call: the plugin
  names the check from the traceback, records the crash the same way, and calls the hook again without
  that check (pluggy's ``subset_hook_caller``). A decorated ``find_leaks`` answers a repeated call for the
  same scope with the leaks it already found, so nothing is found twice or lost.

``cleanup`` is called once for each check that found leaks to undo, through a hook caller of that check
alone, in pluggy's order, with only its own leaks. A leak belongs to the check that returned it (named by
the decorator) or else to the check that declares its kind. Nothing here is kept in module globals: a
crash travels as a result, a check's time on the check.
"""

from __future__ import annotations

import functools
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import pytest

from . import _imports, problems
from .leaks import CHECK_ERROR, Leak, LeakKind, Site
from .scopes import Scope

KINDS = "pytest_estimator_isolation_kinds"
SNAPSHOT = "pytest_estimator_isolation_snapshot"
FIND_LEAKS = "pytest_estimator_isolation_find_leaks"
CLEANUP = "pytest_estimator_isolation_cleanup"
STILL_IN_PLACE = "pytest_estimator_isolation_still_in_place"

_HERE = os.path.abspath(__file__)
_CRASHES = pytest.StashKey[list[Leak]]()  # on a scope: what crashed in its snapshot, for its find_leaks


class Crash:
    """A check's hook raised: what, where, and (for a decorated check) the check itself."""

    def __init__(self, check: str, hook: str, exc: BaseException, plugin: object = None) -> None:
        self.check, self.hook, self.exc, self.plugin = check, hook, exc, plugin

    def text(self) -> str:
        short = self.hook.removeprefix("pytest_estimator_isolation_")
        return f"check {self.check!r} crashed in {short} on TF {_imports.loaded_version()}: {self.exc!r}"

    def leak(self, owner: str) -> Leak:
        """The ``EI900`` finding: its stack is the crash's traceback, innermost frame first."""
        from . import _sites  # only on a crash: it reads sysconfig, which start-up need not pay for

        frames = traceback.extract_tb(self.exc.__traceback__)
        stack = tuple(
            Site(_sites.relative(frame.filename), frame.lineno or 0, frame.name)
            for frame in reversed(frames)
            if frame.filename != _HERE
        )
        return Leak(CHECK_ERROR, owner, self.text(), stack=stack, check=self.check)


_F = TypeVar("_F", bound=Callable[..., Any])
_SECONDS = "_estimator_isolation_seconds"  # on a decorated check: its time in its hooks
_FOUND = "_estimator_isolation_found"  # on a decorated check: (scope, leaks) of its last find_leaks


def check_hook(*, tryfirst: bool = False, trylast: bool = False) -> Callable[[_F], _F]:
    """``@pytest.hookimpl`` for a check's hook method, with the check's crashes kept to itself (see the
    module docstring). The check names itself with a ``name`` attribute (its plugin name; else its class
    name)."""

    def decorate(method: _F) -> _F:
        hook = method.__name__
        now = time.perf_counter
        is_find = hook == FIND_LEAKS

        @functools.wraps(method)
        def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
            start = now()
            try:
                if is_find:
                    return _find_once(self, method, *args, **kwargs)
                return method(self, *args, **kwargs)
            except Exception as exc:
                return Crash(_name(self), hook, exc, self)
            finally:
                spent = self.__dict__
                spent[_SECONDS] = spent.get(_SECONDS, 0.0) + (now() - start)

        marked: _F = pytest.hookimpl(tryfirst=tryfirst, trylast=trylast)(guarded)  # type: ignore[assignment]
        return marked

    return decorate


def _name(check: Any) -> str:
    name: str = getattr(check, "name", None) or type(check).__name__
    return name


def _find_once(check: Any, method: Callable[..., Any], scope: Scope) -> Any:
    last = check.__dict__.get(_FOUND)
    if last is not None and last[0] is scope:  # the hook called again after another check crashed
        return last[1]
    leaks = method(check, scope)
    if leaks:
        name = _name(check)
        for leak in leaks:
            leak.check = leak.check or name
    check.__dict__[_FOUND] = (scope, leaks)
    return leaks


def _crashes(results: Any) -> tuple[list[Any], list[Crash]]:
    """A hook's results without the crashes decorated checks returned, and those crashes."""
    if not results:
        return [], []
    crashes = [result for result in results if isinstance(result, Crash)]
    if not crashes:
        return list(results), []
    return [result for result in results if not isinstance(result, Crash)], crashes


class Checks:
    """The checks' hooks as the plugin calls them; one per run (kinds may also be asked for by a
    throwaway instance at collection, before any check is loaded)."""

    def __init__(self, pluginmanager: pytest.PytestPluginManager) -> None:
        self._pm = pluginmanager
        self._hook = pluginmanager.hook
        self._owners: dict[str, str] = {}  # kind name -> the check that declares it
        self._kept = False  # some scope's stash holds crashes from its snapshot (looked up only then)

    @property
    def seconds(self) -> dict[str, float]:
        """Time spent in each decorated check, by the check's name."""
        seconds: dict[str, float] = {}
        for plugin in self._pm.get_plugins():
            spent = getattr(plugin, "__dict__", {}).get(_SECONDS)
            if spent is not None:
                seconds[_name(plugin)] = seconds.get(_name(plugin), 0.0) + spent
        return seconds

    def _call(self, name: str, **kwargs: Any) -> tuple[Any, list[Crash]]:
        """The hook's result and the crashes on the way: a decorated check's, returned as its result (for a
        ``firstresult`` hook the call goes on without it), or an undecorated one's exception."""
        caller = getattr(self._hook, name)
        removed: list[object] = []
        crashes: list[Crash] = []
        while True:
            try:
                result = caller(**kwargs)
            except Exception as exc:
                plugin, check = _culprit(exc, caller.get_hookimpls())
                crashes.append(Crash(check, name, exc))
                if plugin is None:
                    return None, crashes
            else:
                if not isinstance(result, Crash):
                    results, crashed = _crashes(result) if isinstance(result, list) else (result, [])
                    return results, crashes + crashed
                crashes.append(result)
                plugin = result.plugin
            removed.append(plugin)
            caller = self._pm.subset_hook_caller(name, remove_plugins=removed)

    def kinds(self, skip: object = None) -> list[LeakKind]:
        """Every kind the checks declare (a crash, or a result that is not a kind, is a usage error), but
        those of the plugin ``skip``."""
        kinds = []
        for impl in getattr(self._hook, KINDS).get_hookimpls():
            if impl.plugin is skip:
                continue
            for kind in self._declared(impl.plugin):
                self._owners.setdefault(kind.name, impl.plugin_name)
                kinds.append(kind)
        return kinds

    def _declared(self, plugin: object) -> Iterator[LeakKind]:
        groups, crashes = self._call_alone(self._alone(KINDS, plugin))
        for crash in crashes:
            raise pytest.UsageError(f"estimator-isolation: {crash.text()}")
        for group in groups or ():
            for kind in group if isinstance(group, (list, tuple)) else [group]:
                if not isinstance(kind, LeakKind):
                    raise pytest.UsageError(
                        f"estimator-isolation: pytest_estimator_isolation_kinds returned {kind!r}, not a LeakKind"
                    )
                yield kind

    def _call_alone(self, caller: Any, **kwargs: Any) -> tuple[list[Any], list[Crash]]:
        try:
            return _crashes(caller(**kwargs))
        except Exception as exc:
            return [], [Crash(_culprit(exc, caller.get_hookimpls())[1], caller.name, exc)]

    def _alone(self, name: str, plugin: object) -> Any:
        """A hook caller for ``plugin``'s implementations only (its wrappers included)."""
        others = [impl.plugin for impl in getattr(self._hook, name).get_hookimpls() if impl.plugin is not plugin]
        return self._pm.subset_hook_caller(name, remove_plugins=others)

    def known(self) -> dict[str, LeakKind]:
        """Every kind the checks declare, by name and by code."""
        return {key: kind for kind in self.kinds() for key in (kind.name, kind.code)}

    def any_check(self) -> bool:
        """Whether any check is registered (none until the suite imports TF, unless a user adds one)."""
        return bool(getattr(self._hook, FIND_LEAKS).get_hookimpls())

    def snapshot(self, scope: Scope) -> None:
        _, crashes = self._call(SNAPSHOT, scope=scope)
        if crashes:  # found at its find_leaks, with whatever that finds
            scope.stash.setdefault(_CRASHES, []).extend(crash.leak(scope.owner) for crash in crashes)
            self._kept = True

    def find_leaks(self, scope: Scope) -> list[Leak]:
        groups, crashes = self._call(FIND_LEAKS, scope=scope)
        leaks = [leak for group in groups or () if group for leak in group]
        leaks.extend(crash.leak(scope.owner) for crash in crashes)
        crashed = scope.stash.get(_CRASHES, None) if self._kept else None
        if crashed:
            del scope.stash[_CRASHES]
            leaks[:0] = crashed
        for leak in leaks:
            if not leak.check:
                leak.check = self._owner(leak.kind)
        return leaks

    def _owner(self, kind: LeakKind) -> str:
        if kind.name not in self._owners:
            self.kinds()
        return self._owners.get(kind.name, "")

    def cleanup(self, scope: Scope, leaks: Sequence[Leak]) -> None:
        """Each check undoes its own leaks, in pluggy's order; a crash is a problem shown on the test."""
        impls = getattr(self._hook, CLEANUP).get_hookimpls()
        for impl in reversed(impls):  # pluggy calls the last registered (and tryfirst) ones first
            mine = [leak for leak in leaks if leak.check == impl.plugin_name]
            if mine and not impl.wrapper and not impl.hookwrapper:
                for crash in self._call_alone(self._alone(CLEANUP, impl.plugin), scope=scope, leaks=mine)[1]:
                    problems.report(f"cleanup failed: {crash.text()}")

    def still_in_place(self, leak: Leak) -> bool:
        answer, _ = self._call(STILL_IN_PLACE, leak=leak)
        return answer is not False


def _culprit(exc: BaseException, impls: Sequence[Any]) -> tuple[object | None, str]:
    """The plugin whose implementation raised ``exc``: the innermost frame that is one of them."""
    codes = {getattr(impl.function, "__code__", None): impl for impl in impls}
    culprit = None
    tb = exc.__traceback__
    while tb is not None:
        culprit = codes.get(tb.tb_frame.f_code, culprit)
        tb = tb.tb_next
    if culprit is None:
        return None, "a hook wrapper"
    return culprit.plugin, culprit.plugin_name
