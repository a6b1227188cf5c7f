"""The process-wide execution mode (eager or graph), and where a test switched it."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from .. import _imports, _sites, problems
from ..leaks import Site
from ._core import _CONTEXT, _OPS, _module, _wrap, patched
from .graphs import reset_default_graph

_initial_eager: list[bool] = []
_SWITCHES = ("disable_eager_execution", "enable_eager_execution")
_switched_at: list[tuple[Site, ...]] = [()]


def _note_initial_mode(context: ModuleType) -> None:
    _initial_eager.append(context.default_execution_mode == context.EAGER_MODE)


def eager_default() -> bool | None:
    """The process-wide execution mode (``disable_eager_execution`` flips it); None if TF is not loaded."""
    context = _module(_CONTEXT)
    if context is None:
        return None
    return bool(context.default_execution_mode == context.EAGER_MODE)


def eager_at_import() -> bool:
    return _initial_eager[0] if _initial_eager else True


def mode_switch_site() -> tuple[Site, ...]:
    """Where user code last called ``disable_eager_execution()``/``enable_eager_execution()``."""
    return _switched_at[0]


def track_mode_switches() -> None:
    """Record the caller of the mode switches, wherever the suite calls them from: ``ops`` (which
    ``disable_v2_behavior`` calls) and every public API module that re-exports them."""
    _imports.when_imported("tensorflow", _patch_switches)


def _patch_switches(_tf: ModuleType) -> None:
    ops = _module(_OPS)
    if ops is None or patched(ops, _SWITCHES[0]):
        return
    originals = {}
    for name in _SWITCHES:
        original = getattr(ops, name, None)
        if original is None:
            problems.report(f"tf.compat.v1.{name} not found: EI105 will not say where the mode changed")
        else:
            originals[name] = (original, _recording(original))
    # One pass over the loaded modules, reading their dicts (a lazy-loading module's getattr would import)
    for module in list(sys.modules.values()):
        names = getattr(module, "__dict__", None)
        if not isinstance(names, dict) or not str(names.get("__name__", "")).startswith("tensorflow"):
            continue
        for name, (original, wrapper) in originals.items():
            if names.get(name) is original:
                _wrap(module, name, wrapper)


def _recording(original: Any) -> Any:
    def switch(*args: Any, **kwargs: Any) -> Any:
        try:
            _switched_at[0] = _sites.user_stack(2)
        except Exception as exc:
            problems.report(f"mode switch tracking failed: {exc!r}")
        return original(*args, **kwargs)

    return switch


def set_thread_eager(eager: bool) -> None:
    context = _module(_CONTEXT)
    ctx = context.context_safe() if context is not None else None
    if ctx is not None:
        ctx._thread_local_data.is_eager = eager


def set_eager_default(eager: bool) -> None:
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return
    if eager:
        reset_default_graph()  # enable_eager_execution refuses once a global graph exists
        tf.compat.v1.enable_eager_execution()
        set_thread_eager(True)
    else:
        tf.compat.v1.disable_eager_execution()
