"""What Keras 3 keeps in its ``global_state`` store (one ``threading.local``, ``GLOBAL_STATE_TRACKER``):
settings (``traceback_filtering``, ``safe_mode_saving``, ``dtype_policy``, ...) next to per-call scratch,
caches and seeds. Shared by the container that watches it (:mod:`.containers`) and by the plugin's own
``clear_session()`` (:func:`.settings.keras_clear_session`), which keeps the settings."""

from __future__ import annotations

import sys
from typing import Any

GLOBAL_STATE = "keras.src.backend.common.global_state"
# Deliberately ignored: per-call scratch Keras sets and resets around every layer call, trace or save
# (the current call context, the symbolic / stateless / autocast / TF-graph / no-tracking scopes, name and
# remat scope stacks, variables awaiting initialisation, the object-sharing maps of one deserialization,
# the legacy-saving option scope); counters and caches (name uids, tensor attribute maps, saving skip
# sets); and the seeds (EI302's: the global seed generator and keras.utils.set_random_seed's seed).
_KERAS_SCRATCH = frozenset(
    (
        "current_call_ctx",
        "symbolic_scope",
        "stateless_scope",
        "autocast_scope",
        "in_tf_graph_scope",
        "tracking_on",
        "name_scope_stack",
        "remat_scope_stack",
        "uninitialized_variables",
        "use_legacy_config",
        "object_name_uids",
        "global_seed_generator",
        "global_random_seed",
        # A mirror of keras config's _NNX_ENABLED (watched there), which Keras writes and never reads.
        "nnx_enabled",
        # How Keras trims a traceback it raises: what a failing test prints, not what any test computes
        # (Keras' own TestCase.setUp disables it for every test).
        "traceback_filtering",
    )
)
_KERAS_SCRATCH_PREFIXES = ("shared_objects/", "saving_attr_skipset_", "saving_attr_skiplist_")
_KERAS_SCRATCH_SUFFIXES = ("_dict",)  # tensor attribute maps (``_keras_mask_dict``, ...)
# What Keras reads for an attribute never set (get_global_attribute's defaults at its call sites).
KERAS_DEFAULTS = {"interactive_logging": True}


def keras_scratch(name: Any) -> bool:
    """Whether a Keras 3 global attribute is per-call scratch, a cache or a seed (see above)."""
    return isinstance(name, str) and (
        name in _KERAS_SCRATCH or name.startswith(_KERAS_SCRATCH_PREFIXES) or name.endswith(_KERAS_SCRATCH_SUFFIXES)
    )


def keras_settings() -> dict[str, Any]:
    """Keras 3's global settings (all but the scratch), to put back after the plugin's own
    ``clear_session()``: it resets counters and caches, not the suite's settings."""
    module = sys.modules.get(GLOBAL_STATE)
    tracker = getattr(module, "GLOBAL_STATE_TRACKER", None)
    if tracker is None:
        return {}
    return {key: value for key, value in vars(tracker).items() if not keras_scratch(key)}


def keras_setting_call(name: Any) -> bool:
    """Whether a call of ``set_global_attribute(name, value)`` (or of ``clear_session(...)``: ``name`` is
    not a string) can change a setting: not for the scratch (tested on every layer call, so inlined)."""
    return not (
        isinstance(name, str)
        and (
            name in _KERAS_SCRATCH or name.startswith(_KERAS_SCRATCH_PREFIXES) or name.endswith(_KERAS_SCRATCH_SUFFIXES)
        )
    )


KERAS_TESTCASE = "keras.src.testing.test_case"


def is_keras_testcase(cls: type | None) -> bool:
    """Whether a test class is Keras 3's own ``TestCase`` (``keras.src.testing.TestCase``), whose
    ``setUp`` calls ``clear_session()``: a new ``global_state`` store, so what a test left in it is gone
    before the next such test runs (Keras' own contract, as a ``tf.test.TestCase``'s default graph is TF's)."""
    base = getattr(sys.modules.get(KERAS_TESTCASE), "TestCase", None)
    return cls is not None and isinstance(base, type) and issubclass(cls, base)
