"""Built-in checks, one hazard per module. Each is a plain object whose methods implement
:mod:`pytest_estimator_isolation.hookspecs`; ``builtin()`` builds them in the order they run."""

from __future__ import annotations

from collections.abc import Callable


def builtin() -> list[tuple[str, Callable[[], object]]]:
    from . import eager, global_config, graphs, model_dirs, sessions, writers

    # Sessions first: closing a leaked InteractiveSession exits the graph context it entered,
    # which the graph check would otherwise have to undo (or report twice).
    return [
        ("sessions", sessions.SessionsCheck),
        ("graphs", graphs.GraphsCheck),
        ("eager", eager.EagerCheck),
        ("model_dirs", model_dirs.ModelDirsCheck),
        ("global_config", global_config.GlobalConfigCheck),
        ("writers", writers.WritersCheck),
    ]
