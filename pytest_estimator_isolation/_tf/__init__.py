"""Everything that touches TensorFlow internals, in one package, lazily and version-aware (TF 2.12-2.21).

Nothing here imports TensorFlow: each function looks at ``sys.modules`` and answers "not loaded" until
the suite itself has imported TF. Private attributes are looked up defensively: a missing one is
reported through :mod:`..problems` (shown once as a warning) and disables what needs it, never raising
into user code.
"""

from __future__ import annotations

from .. import _imports
from ._core import _CONTEXT, _OPS, forget_listeners, version
from .eager import (
    _note_initial_mode,
    eager_at_import,
    eager_default,
    mode_switch_site,
    set_eager_default,
    set_thread_eager,
    track_mode_switches,
)
from .estimators import inside_estimator_call, instrument_estimators
from .graphs import (
    PRISTINE,
    GraphState,
    _patch_graphs,
    exit_contexts,
    finalize_site,
    global_graph,
    graph_state,
    is_tf_testcase,
    op_site,
    open_contexts,
    ops_since,
    reset_default_graph,
)
from .seed import UNSET, global_seed, set_global_seed
from .sessions import close_session, instrument_sessions, made_by_keras
from .settings import SETTINGS, keras_clear_session, keras_loaded
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
    "UNSET",
    "V1",
    "V2",
    "GraphState",
    "cached_writers",
    "close_cached_writers",
    "close_session",
    "close_writers",
    "eager_at_import",
    "eager_default",
    "exit_contexts",
    "finalize_site",
    "global_graph",
    "global_seed",
    "graph_state",
    "inside_estimator_call",
    "install",
    "instrument_estimators",
    "instrument_sessions",
    "instrument_writers",
    "is_tf_testcase",
    "keras_clear_session",
    "keras_loaded",
    "made_by_keras",
    "mode_switch_site",
    "op_site",
    "open_contexts",
    "open_files",
    "ops_since",
    "reset_default_graph",
    "set_eager_default",
    "set_global_seed",
    "set_thread_eager",
    "thread_origin",
    "thread_site",
    "thread_target",
    "tidied_by",
    "track_mode_switches",
    "uninstall",
    "version",
    "writer_closed",
    "writer_file",
    "writer_logdir",
    "writer_thread",
]


def install() -> None:
    """Start watching for TF (idempotent); cheap, and imports nothing."""
    _imports.when_imported(_CONTEXT, _note_initial_mode)
    _imports.when_imported(_OPS, _patch_graphs)


def uninstall() -> None:
    """The run is over: its listeners stop hearing TF (patches already made stay; they call no one until
    the next run listens). Pending import callbacks are :func:`.._imports.uninstall`'s to drop."""
    forget_listeners()
