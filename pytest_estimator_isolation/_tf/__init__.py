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
from .writers import (
    V1,
    V2,
    cached_writers,
    close_cached_writers,
    close_writers,
    instrument_writers,
    open_files,
    thread_origin,
    thread_site,
    thread_target,
    tidied_by,
    writer_closed,
    writer_file,
    writer_logdir,
    writer_thread,
)

__all__ = [
    "PRISTINE",
    "SETTINGS",
    "V1",
    "V2",
    "GraphState",
    "Setting",
    "TrackedContext",
    "cached_writers",
    "close_cached_writers",
    "close_session",
    "close_writers",
    "eager_at_import",
    "eager_default",
    "exit_contexts",
    "finalize_site",
    "global_graph",
    "graph_state",
    "install",
    "instrument_estimators",
    "instrument_sessions",
    "instrument_writers",
    "keras_clear_session",
    "keras_loaded",
    "loaded",
    "op_site",
    "open_contexts",
    "open_files",
    "ops_since",
    "problem",
    "read_settings",
    "reset_default_graph",
    "set_eager_default",
    "set_thread_eager",
    "settings_at_import",
    "take_problems",
    "thread_origin",
    "thread_site",
    "thread_target",
    "tidied_by",
    "version",
    "watch_settings",
    "writer_closed",
    "writer_file",
    "writer_logdir",
    "writer_thread",
]


def install() -> None:
    """Start watching for TF (idempotent); cheap, and imports nothing."""
    _imports.when_imported(_CONTEXT, _note_initial_mode)
    _imports.when_imported(_OPS, _patch_graphs)
