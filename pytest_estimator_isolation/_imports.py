"""Run a callback right after a module is first imported, without importing it ourselves.

The plugin must not import TensorFlow (it costs seconds), yet it has to instrument TF's session class
before the first session exists, even when TF is first imported inside a test. A tiny finder at the
front of ``sys.meta_path`` wraps the loader of just the watched modules; every other import pays one
dict lookup.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from . import problems

Callback = Callable[[ModuleType], None]
Problem = Callable[[str, BaseException], None]


class _Loader(importlib.abc.Loader):
    def __init__(self, wrapped: Any, callbacks: list[Callback], on_error: Problem) -> None:
        self._wrapped = wrapped
        self._callbacks = callbacks
        self._on_error = on_error

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create: Any = getattr(self._wrapped, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._wrapped
        if module.__spec__ is not None:
            module.__spec__.loader = self._wrapped
        self._wrapped.exec_module(module)
        for callback in self._callbacks:
            try:
                callback(module)
            except Exception as exc:  # never break the user's import
                self._on_error(module.__name__, exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


class _Watcher(importlib.abc.MetaPathFinder):
    def __init__(self, on_error: Problem) -> None:
        self.pending: dict[str, list[Callback]] = {}
        self.on_error = on_error

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _Loader(spec.loader, self.pending.pop(fullname), self.on_error)
        return spec


_watcher: _Watcher | None = None


def _report(name: str, exc: BaseException) -> None:
    problems.report(f"instrumenting {name} failed: {exc!r}")


def loaded_version(name: str = "tensorflow") -> str | None:
    """The ``__version__`` of a module the suite already imported (None if it has not): asked by the
    header, the reports and crash messages, none of which may import TF or the TF facade for it."""
    found = getattr(sys.modules.get(name), "__version__", None)
    return found if isinstance(found, str) else None


def when_imported(name: str, callback: Callback) -> None:
    """Call ``callback(module)`` now if ``name`` is imported, else right after its first import."""
    global _watcher
    module = sys.modules.get(name)
    if module is not None:
        try:
            callback(module)
        except Exception as exc:
            _report(name, exc)
        return
    if _watcher is None:
        _watcher = _Watcher(_report)
        sys.meta_path.insert(0, _watcher)
    _watcher.pending.setdefault(name, []).append(callback)


def uninstall() -> None:
    """Forget pending callbacks (at the end of the run, or in tests of the plugin)."""
    global _watcher
    if _watcher is not None:
        if _watcher in sys.meta_path:
            sys.meta_path.remove(_watcher)
        _watcher = None
