"""TensorFlow's global (eager) random seed, ``tf.random.set_seed``."""

from __future__ import annotations

from typing import Any

from ._core import _CONTEXT, _module

UNSET = object()


def global_seed() -> Any:
    """The eager context's global seed (None: never set); ``UNSET`` while TF has no context yet."""
    context = _module(_CONTEXT)
    ctx = context.context_safe() if context is not None else None
    return UNSET if ctx is None else ctx._seed


def set_global_seed(seed: Any) -> None:
    context = _module(_CONTEXT)
    ctx = context.context_safe() if context is not None else None
    if ctx is None:
        return
    if seed is not None:
        ctx._set_global_seed(seed)
    else:  # what a fresh context has: random op seeds again
        ctx._seed = None
        ctx._rng = None
