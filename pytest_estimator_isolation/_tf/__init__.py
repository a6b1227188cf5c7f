"""Everything that touches TensorFlow internals, in one package, lazily and version-aware (TF 2.12-2.21).

Nothing here imports TensorFlow: each function looks at ``sys.modules`` and answers "not loaded" until
the suite itself has imported TF. Private attributes are looked up defensively: a missing one records a
:func:`problem` (shown once as a warning) and disables what needs it, never raising into user code.
"""

from __future__ import annotations

from .. import _imports
from ._core import _CONTEXT, _OPS, loaded, problem, take_problems, version
from .eager import _note_initial_mode, eager_at_import, eager_default, set_eager_default, set_thread_eager
from .estimators import instrument_estimators
from .graphs import (
    PRISTINE,
    GraphState,
    TrackedContext,
    _patch_graphs,
    exit_contexts,
    finalize_site,
    global_graph,
    graph_state,
    op_site,
    open_contexts,
    ops_since,
    reset_default_graph,
)
from .sessions import close_session, instrument_sessions
from .settings import (
    SETTINGS,
    Setting,
    keras_clear_session,
    keras_loaded,
    read_settings,
    settings_at_import,
    watch_settings,
)

__all__ = [
    "PRISTINE",
    "SETTINGS",
    "GraphState",
    "Setting",
    "TrackedContext",
    "close_session",
    "eager_at_import",
    "eager_default",
    "exit_contexts",
    "finalize_site",
    "global_graph",
    "graph_state",
    "install",
    "instrument_estimators",
    "instrument_sessions",
    "keras_clear_session",
    "keras_loaded",
    "loaded",
    "op_site",
    "open_contexts",
    "ops_since",
    "problem",
    "read_settings",
    "reset_default_graph",
    "set_eager_default",
    "set_thread_eager",
    "settings_at_import",
    "take_problems",
    "version",
    "watch_settings",
]


def install() -> None:
    """Start watching for TF (idempotent); cheap, and imports nothing."""
    _imports.when_imported(_CONTEXT, _note_initial_mode)
    _imports.when_imported(_OPS, _patch_graphs)
