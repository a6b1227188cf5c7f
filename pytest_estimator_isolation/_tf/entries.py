"""The table of watched process-wide state: one :class:`.state.Entry` each (where it lives, how to read
it, how to undo it, the message), one module per family, read only when a test called one of an entry's
setters:

- :mod:`.settings`: Keras and ``tf.config`` settings (EI301);
- :mod:`.summary`: ``tf.summary``'s default writer, step and ``record_if`` (EI304);
- :mod:`.open_scopes`: scopes entered and never exited (EI305);
- :mod:`.switches`: TF1/TF2 behaviour switches (EI306);
- :mod:`.registries`: Keras custom objects and absl flag values (EI307);
- :mod:`.irreversible`: what TF cannot undo in-process (EI308);
- :mod:`.containers`: where TF and Keras keep their settings, watched as a whole (a setting nobody listed
  above is still seen: EI301, EI307 for the default graph's collections, EI308 when it cannot be undone).

The check passes this table to :func:`.state.install`, which wraps the setters (this module imports the
families; nothing imports it back).

Environment variables are not entries: the check compares the few TF and Keras read at call time
(``TF_CONFIG``, ...) around every test, one read of ``os.environ``'s own mapping; the others are read once
per process, so a test that sets them changes nothing for later tests (docs/watched-state.md lists both).
"""

from __future__ import annotations

from . import containers, irreversible, open_scopes, registries, summary, switches
from .irreversible import _DATA_DEBUG, _DEVICES, _SERVER  # noqa: F401 (the table's entries, by name)
from .open_scopes import _DEVICE, _NAME_SCOPE, _SET_STRATEGY, _STRATEGY_SCOPE  # noqa: F401
from .registries import _CUSTOM_OBJECT_SCOPE, _CUSTOM_OBJECTS, _FLAGS  # noqa: F401
from .settings import SETTING_ENTRIES
from .state import Entry
from .summary import _RECORD_IF, _SUMMARY_STEP, _SUMMARY_WRITER  # noqa: F401
from .switches import (  # noqa: F401
    _ASYNC,
    _CONTROL_FLOW,
    _LOG_PLACEMENT,
    _NUMPY_BEHAVIOR,
    _RESOURCE_VARIABLES,
    _TENSOR_EQUALITY,
    _TENSORSHAPE,
    _V2_BEHAVIOR,
)

ENTRIES: tuple[Entry, ...] = (
    *SETTING_ENTRIES,
    *summary.ENTRIES,
    *open_scopes.ENTRIES,
    *switches.ENTRIES,
    *registries.ENTRIES,
    *irreversible.ENTRIES,
    *containers.ENTRIES,
)

# Details beyond ``show``: what changed inside a registry.
DETAILS = registries.DETAILS
