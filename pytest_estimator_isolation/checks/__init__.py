"""Built-in checks, one hazard per module. Each is a plain object whose methods implement
:mod:`pytest_estimator_isolation.hookspecs`; :func:`builtin` builds them in the order they run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def builtin(
    *, temp_roots: Sequence[str], registry: Path | None, worker: str, rootdir: str, all_threads: bool
) -> list[tuple[str, object]]:
    """``temp_roots``, ``registry``, ``worker``, ``rootdir``: see :class:`.model_dirs.ModelDirsCheck`;
    ``all_threads``: see :class:`.writers.WritersCheck`."""
    from . import eager, graphs, model_dirs, seed, sessions, tf_state, writers

    return [
        ("sessions", sessions.SessionsCheck()),
        ("graphs", graphs.GraphsCheck()),
        ("eager", eager.EagerCheck()),
        ("model_dirs", model_dirs.ModelDirsCheck(temp_roots, registry, worker, rootdir)),
        ("tf_state", tf_state.TFStateCheck()),
        ("seed", seed.SeedCheck()),
        ("writers", writers.WritersCheck(all_threads)),
    ]
