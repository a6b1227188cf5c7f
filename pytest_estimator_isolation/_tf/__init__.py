"""Everything that touches TensorFlow internals, in one package, lazily and version-aware (TF 2.12-2.21).

Nothing here imports TensorFlow: each function looks at ``sys.modules`` and answers "not loaded" until
the suite itself has imported TF. Private attributes are looked up defensively: a missing one is
reported through :mod:`..problems` (shown once as a warning) and disables what needs it, never raising
into user code.

One module per hazard (``graphs``, ``sessions``, ...). The checks use them through this package,
``_tf.graph_state()``: every module here is found at run time, and imported the first time one of its
names is used (after the suite imported TF), so importing the checks (to learn their kinds) stays cheap.
The star imports below only tell mypy what the names are: a new module gets one line there.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

from .. import _imports
from ._core import _CONTEXT, _OPS, forget_listeners, version  # noqa: F401 (version: part of the facade)

if TYPE_CHECKING:  # what the names are, for mypy; at run time they are looked up by __getattr__
    from .eager import *  # noqa: F403
    from .estimators import *  # noqa: F403
    from .graphs import *  # noqa: F403
    from .saving import *  # noqa: F403
    from .seed import *  # noqa: F403
    from .sessions import *  # noqa: F403
    from .settings import *  # noqa: F403
    from .writers import *  # noqa: F403


def __getattr__(name: str) -> Any:
    """A module of this package (``from .._tf import state``), or a public name of one of its modules,
    imported on first use and kept here."""
    if not name.startswith("_"):
        modules = [found.name for found in pkgutil.iter_modules(__path__) if not found.name.startswith("_")]  # noqa: F405
        if name in modules:
            return importlib.import_module(f"{__name__}.{name}")
        for module_name in modules:
            module = importlib.import_module(f"{__name__}.{module_name}")
            if name in vars(module):
                value = globals()[name] = vars(module)[name]
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def install() -> None:
    """Start watching for TF (idempotent); cheap, and imports nothing."""
    from .eager import _note_initial_mode
    from .graphs import _patch_graphs

    _imports.when_imported(_CONTEXT, _note_initial_mode)
    _imports.when_imported(_OPS, _patch_graphs)


def uninstall() -> None:
    """The run is over: its listeners stop hearing TF (patches already made stay; they call no one until
    the next run listens). Pending import callbacks are :func:`.._imports.uninstall`'s to drop."""
    forget_listeners()
