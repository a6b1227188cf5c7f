"""The process-wide execution mode (eager or graph)."""

from __future__ import annotations

import sys
from types import ModuleType

from ._core import _CONTEXT, _module
from .graphs import reset_default_graph

_initial_eager: list[bool] = []


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
