"""What TF cannot undo in-process (EI308): tf.data debug mode, a started ``tf.distribute.Server``, and
visible devices, memory growth, logical devices and thread pools (TF refuses to change them once its
runtime is up). Reported, never undone (no ``put``)."""

from __future__ import annotations

from typing import Any

from ._core import _CONFIG, _loaded, context_or_none
from .state import Entry

IRREVERSIBLE = "irreversible-state"  # the name of their kind (declared in checks/tf_state.py)

_DEBUG_MODE = "tensorflow.python.data.ops.debug_mode"
_DATA_DEBUG = Entry(
    "tf.data debug mode (tf.data.experimental.enable_debug_mode())",
    IRREVERSIBLE,
    lambda: bool(_loaded(_DEBUG_MODE).DEBUG_MODE),
    None,
    "",
    setters=(f"{_DEBUG_MODE}:enable_debug_mode",),
)

_SERVER_LIB = "tensorflow.python.training.server_lib"
_servers = [0]


def _count_server() -> None:
    _servers[0] += 1


_SERVER = Entry(
    "tf.distribute.Server / tf.compat.v1.train.Server (it keeps its port and threads for the life of the "
    "process; TF has no way to stop it)",
    IRREVERSIBLE,
    lambda: _servers[0],
    None,
    "",
    setters=(f"{_SERVER_LIB}:Server.__init__",),
    show=lambda count: f"{count} started in tests",
    after=_count_server,
)


def _devices() -> tuple[Any, ...]:
    ctx = context_or_none()
    if ctx is None:
        return (), {}, None, None, {}
    return (
        tuple(ctx._visible_device_list or ()),
        dict(ctx._memory_growth_map or {}),
        ctx._intra_op_parallelism_threads,
        ctx._inter_op_parallelism_threads,
        dict(getattr(ctx, "_virtual_device_map", None) or {}),
    )


_DEVICES = Entry(
    "devices and thread pools (tf.config.set_visible_devices, experimental.set_memory_growth, "
    "set_logical_device_configuration, threading.set_*_parallelism_threads)",
    IRREVERSIBLE,
    _devices,
    None,
    "",
    setters=tuple(
        f"{_CONFIG}:{name}"
        for name in (
            "set_visible_devices",
            "set_memory_growth",
            "set_logical_device_configuration",
            "set_intra_op_parallelism_threads",
            "set_inter_op_parallelism_threads",
        )
    ),
    show=lambda value: (
        f"visible {len(value[0])} device(s), memory growth {value[1] or 'unset'}, "
        f"threads intra={value[2]} inter={value[3]}"
    ),
)


ENTRIES = (_DATA_DEBUG, _SERVER, _DEVICES)
