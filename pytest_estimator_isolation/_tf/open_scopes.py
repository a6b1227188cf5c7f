"""Scopes entered in a test and never exited (EI305): ``tf.name_scope``, ``tf.device``, a ``tf.distribute``
strategy's ``scope()``, and ``tf.distribute.experimental_set_strategy(...)`` left set. Keras'
``custom_object_scope`` is a context entry too, of the registries' kind (:mod:`.registries`)."""

from __future__ import annotations

import sys
from typing import Any

from ._core import _CONTEXT, _OPS, Unavailable, _loaded
from .state import Entry, opened

OPEN_SCOPE = "open-scope"  # the name of their kind (declared in checks/tf_state.py)
_DISTRIBUTE = "tensorflow.python.distribute.distribute_lib"
# experimental_set_strategy: distribute_lib on TF 2.13+, distribution_strategy_context on TF 2.12 (the
# module TF 2.13 merged into distribute_lib; no TF 2.13+ has it).
_SET_STRATEGY_HOMES = (_DISTRIBUTE, "tensorflow.python.distribute.distribution_strategy_context")


def _show_opened(contexts: tuple[Any, ...]) -> str:
    return f"{len(contexts)} open"


def context_entry(title: str, kind: str, contexts: tuple[str, ...], undo: str) -> Entry:
    """An entry whose value is the contexts of ``contexts`` opened in tests and not exited (exited by the
    check, newest first, across entries)."""
    return Entry(
        title,
        kind,
        lambda: opened(title),
        None,
        undo,
        contexts=contexts,
        show=_show_opened,
        same=lambda old, new: set(new) <= set(old),
    )


_NAME_SCOPE = context_entry(
    "tf.name_scope",
    OPEN_SCOPE,
    (f"{_OPS}:name_scope_v2", f"{_OPS}:name_scope_v1"),
    "use `with tf.name_scope(...):`",
)
_DEVICE = context_entry(
    "tf.device",
    OPEN_SCOPE,
    (f"{_CONTEXT}:_EagerDeviceContext", f"{_OPS}:Graph.device()"),
    "use `with tf.device(...):`",
)
_STRATEGY_SCOPE = context_entry(
    "a tf.distribute strategy's scope()",
    OPEN_SCOPE,
    (f"{_DISTRIBUTE}:_CurrentDistributionContext",),
    "use `with strategy.scope():`",
)


def _global_strategy_scope() -> Any:
    graph = _loaded(_OPS).get_default_graph()
    return graph._global_distribute_strategy_scope


def _scope_strategy(scope: Any) -> Any:
    """The strategy of a _CurrentDistributionContext (its _context, a _CrossReplicaThreadMode, holds it)."""
    return getattr(getattr(scope, "_context", None), "strategy", scope)


def _unset_strategy(value: Any) -> None:
    if value is None:
        for name in _SET_STRATEGY_HOMES:
            set_strategy = getattr(sys.modules.get(name), "experimental_set_strategy", None)
            if set_strategy is not None:
                set_strategy(None)
                return
        raise Unavailable("experimental_set_strategy")


_SET_STRATEGY = Entry(
    "tf.distribute.experimental_set_strategy(...)",
    OPEN_SCOPE,
    _global_strategy_scope,
    _unset_strategy,
    "call tf.distribute.experimental_set_strategy(None) in a finally, or use `with strategy.scope():`",
    setters=tuple(f"{home}:experimental_set_strategy" for home in _SET_STRATEGY_HOMES),
    show=lambda scope: "unset" if scope is None else f"set ({type(_scope_strategy(scope)).__name__})",
    same=lambda old, new: old is new,
)

ENTRIES = (_NAME_SCOPE, _DEVICE, _STRATEGY_SCOPE, _SET_STRATEGY)
