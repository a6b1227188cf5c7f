"""The table of watched process-wide state: one :class:`.state.Entry` each (where it lives, how to read
it, how to undo it, the message). Read only when a test called one of an entry's setters.

Environment variables are not entries: the check compares ``TF_CONFIG`` around every test directly (one
``os.environ.get``, well under a microsecond). Others TF reads are not watched, because TF reads them
once per process (``TF_CPP_MIN_LOG_LEVEL``, ``TF_ENABLE_ONEDNN_OPTS``, ``CUDA_VISIBLE_DEVICES``,
``TF_USE_LEGACY_KERAS``, ``KERAS_BACKEND`` at import or device initialisation; ``TF_DETERMINISTIC_OPS``
cached by the C++ runtime): a test that sets them changes nothing for later tests.
"""

from __future__ import annotations

import sys
from typing import Any

from ._core import _CONTEXT, _OPS
from .settings import SETTINGS, Unavailable, _loaded
from .state import Entry, opened

# The kinds, by name: they are declared in checks/tf_state.py, which reads this table.
GLOBAL_CONFIG = "global-config"
SUMMARY_STATE = "summary-state"
OPEN_SCOPE = "open-scope"
BEHAVIOUR_SWITCH = "behaviour-switch"
REGISTRY = "registry"
IRREVERSIBLE = "irreversible-state"


_SUMMARY = "tensorflow.python.ops.summary_ops_v2"
_CONFIG = "tensorflow.python.framework.config"
_TENSOR_HOMES = ("tensorflow.python.framework.tensor", _OPS)  # TF 2.13+, 2.12
_DISTRIBUTE = "tensorflow.python.distribute.distribute_lib"
# experimental_set_strategy: distribute_lib on TF 2.13+, distribution_strategy_context on TF 2.12 (the
# module TF 2.13 merged into distribute_lib; no TF 2.13+ has it).
_SET_STRATEGY_HOMES = (_DISTRIBUTE, "tensorflow.python.distribute.distribution_strategy_context")


def _attr(module: str, name: str) -> Any:
    return getattr(_loaded(module), name)


def _setattr(module: str, name: str, value: Any) -> None:
    setattr(_loaded(module), name, value)


def _module_global(module: str, name: str, title: str, kind: Any, setters: tuple[str, ...], undo: str) -> Entry:
    return Entry(
        title,
        kind,
        lambda: _attr(module, name),
        lambda value: _setattr(module, name, value),
        undo,
        setters=tuple(f"{module}:{setter}" for setter in setters),
    )


# ---------------------------------------------------------------- settings (EI301)


def _setting_entries() -> tuple[Entry, ...]:
    return tuple(
        Entry(
            setting.name,
            GLOBAL_CONFIG,
            setting.get,
            setting.put,
            f"set it back with {setting.undo}",
            setters=setting.setters,
            show=setting.show,
            same=setting.same,
        )
        for setting in SETTINGS
    )


# ---------------------------------------------------------------- tf.summary (EI304)


def _summary_state() -> Any:
    return _attr(_SUMMARY, "_summary_state")


def _show_writer(writer: Any) -> str:
    return "unset" if writer is None else f"{type(writer).__name__} at 0x{id(writer):x}"


_SET_AS_DEFAULT = tuple(
    f"{_SUMMARY}:{cls}.set_as_default"
    for cls in ("SummaryWriter", "_ResourceSummaryWriter", "_LegacyResourceSummaryWriter", "_NoopSummaryWriter")
)

_SUMMARY_WRITER = Entry(
    "the default summary writer (writer.set_as_default())",
    SUMMARY_STATE,
    lambda: _summary_state().writer,
    lambda value: setattr(_summary_state(), "writer", value),  # unset only: closing is the writers check's
    "use `with writer.as_default():` (the plugin unset it; it did not close it)",
    setters=_SET_AS_DEFAULT,
    show=_show_writer,
    same=lambda old, new: old is new,
)
_SUMMARY_STEP = Entry(
    "the default summary step (tf.summary.experimental.get_step())",
    SUMMARY_STATE,
    lambda: _summary_state().step,
    lambda value: setattr(_summary_state(), "step", value),
    "pass step= to the summary calls or `with writer.as_default(step):`, or set_step({old}) in a finally",
    setters=(f"{_SUMMARY}:set_step", *_SET_AS_DEFAULT),
    show=lambda step: repr(getattr(step, "numpy", lambda: step)()) if step is not None else "None",
    same=lambda old, new: old is new,
)
_RECORD_IF = Entry(
    "tf.summary.record_if(...) (entered, never exited)",
    SUMMARY_STATE,
    lambda: _summary_state().is_recording,
    lambda value: setattr(_summary_state(), "is_recording", value),
    "use `with tf.summary.record_if(...):`",
    setters=(f"{_SUMMARY}:record_if",),
    same=lambda old, new: old is new,
)


# ---------------------------------------------------------------- open scopes (EI305)


def _show_opened(contexts: tuple[Any, ...]) -> str:
    return f"{len(contexts)} open"


def _context_entry(title: str, kind: Any, contexts: tuple[str, ...], undo: str) -> Entry:
    return Entry(
        title,
        kind,
        lambda: opened(title),
        None,  # exited by the check, newest first, across entries
        undo,
        contexts=contexts,
        show=_show_opened,
        same=lambda old, new: set(new) <= set(old),
    )


_NAME_SCOPE = _context_entry(
    "tf.name_scope",
    OPEN_SCOPE,
    (f"{_OPS}:name_scope_v2", f"{_OPS}:name_scope_v1"),
    "use `with tf.name_scope(...):`",
)
_DEVICE = _context_entry(
    "tf.device",
    OPEN_SCOPE,
    (f"{_CONTEXT}:_EagerDeviceContext", f"{_OPS}:Graph.device()"),
    "use `with tf.device(...):`",
)
_STRATEGY_SCOPE = _context_entry(
    "a tf.distribute strategy's scope()",
    OPEN_SCOPE,
    (f"{_DISTRIBUTE}:_CurrentDistributionContext",),
    "use `with strategy.scope():`",
)
# Keras' object registry: {pkg}.src.saving on Keras 2.13+, Keras 3 and tf_keras; keras.saving on Keras 2.12
# (TF 2.12's, before Keras moved its code under keras.src; no later Keras has that module).
_OBJECT_REGISTRATION = (
    "keras.src.saving.object_registration",
    "tf_keras.src.saving.object_registration",
    "keras.saving.object_registration",
)

_CUSTOM_OBJECT_SCOPE = _context_entry(
    "keras.utils.custom_object_scope",
    REGISTRY,
    tuple(f"{home}:CustomObjectScope" for home in _OBJECT_REGISTRATION),
    "use `with keras.utils.custom_object_scope(...):`",
)


def _global_strategy_scope() -> Any:
    ops = _loaded(_OPS)
    graph = ops.get_default_graph()
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


# ---------------------------------------------------------------- behaviour switches (EI306)


def _tensor_module() -> str:
    for name in _TENSOR_HOMES:
        module = sys.modules.get(name)
        if module is not None and hasattr(getattr(module, "Tensor", None), "_USE_EQUALITY"):
            return name
    raise Unavailable("Tensor._USE_EQUALITY")


def _set_equality(value: bool) -> None:
    _attr(_tensor_module(), "Tensor")._USE_EQUALITY = value


_TENSOR_EQUALITY = Entry(
    "tensor equality (tf.compat.v1.disable_tensor_equality())",
    BEHAVIOUR_SWITCH,
    lambda: bool(_attr(_tensor_module(), "Tensor")._USE_EQUALITY),
    _set_equality,
    "tf.compat.v1.enable_tensor_equality() / disable_tensor_equality() back to {old}",
    setters=tuple(
        f"{home}:{name}" for home in _TENSOR_HOMES for name in ("disable_tensor_equality", "enable_tensor_equality")
    ),
)
_SHAPE = "tensorflow.python.framework.tensor_shape"
_TENSORSHAPE = _module_global(
    _SHAPE,
    "_TENSORSHAPE_V2_OVERRIDE",
    "v2 TensorShape (tf.compat.v1.disable_v2_tensorshape())",
    BEHAVIOUR_SWITCH,
    ("disable_v2_tensorshape", "enable_v2_tensorshape"),
    "tf.compat.v1.enable_v2_tensorshape() (was {old})",
)
_CF_UTIL = "tensorflow.python.ops.control_flow_util"
_CF_TOGGLES = "tensorflow.python.ops.control_flow_v2_toggles"
_CONTROL_FLOW = Entry(
    "control flow v2 (tf.compat.v1.disable_control_flow_v2())",
    BEHAVIOUR_SWITCH,
    lambda: bool(_attr(_CF_UTIL, "ENABLE_CONTROL_FLOW_V2")),
    lambda value: _setattr(_CF_UTIL, "ENABLE_CONTROL_FLOW_V2", value),
    "tf.compat.v1.enable_control_flow_v2() (was {old})",
    setters=(
        f"{_CF_TOGGLES}:disable_control_flow_v2",
        f"{_CF_TOGGLES}:enable_control_flow_v2",
        f"{_CF_UTIL}:enable_control_flow_v2",
    ),
)
# TF 2.16+ keeps the switch in resource_variables_toggle (variable_scope re-exports its setters).
_RESOURCE_HOMES = ("tensorflow.python.ops.resource_variables_toggle", "tensorflow.python.ops.variable_scope")


def _resource_home() -> Any:
    for name in _RESOURCE_HOMES:
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "_DEFAULT_USE_RESOURCE"):
            return module
    raise Unavailable("_DEFAULT_USE_RESOURCE")


_RESOURCE_VARIABLES = Entry(
    "resource variables (tf.compat.v1.disable_resource_variables())",
    BEHAVIOUR_SWITCH,
    lambda: bool(_resource_home()._DEFAULT_USE_RESOURCE),
    lambda value: setattr(_resource_home(), "_DEFAULT_USE_RESOURCE", value),
    "tf.compat.v1.enable_resource_variables() (was {old})",
    setters=tuple(
        f"{home}:{name}"
        for home in _RESOURCE_HOMES
        for name in ("disable_resource_variables", "enable_resource_variables")
    ),
)
_TF2 = "tensorflow.python.tf2"
_V2_COMPAT = "tensorflow.python.compat.v2_compat"
# What disable_v2_behavior() points at the V1 classes, beside the switches (each an entry of its own).
_DATASETS = (
    ("dataset_ops", "Dataset", "DatasetV1", "DatasetV2"),
    ("readers", "FixedLengthRecordDataset", "FixedLengthRecordDatasetV1", "FixedLengthRecordDatasetV2"),
    ("readers", "TFRecordDataset", "TFRecordDatasetV1", "TFRecordDatasetV2"),
    ("readers", "TextLineDataset", "TextLineDatasetV1", "TextLineDatasetV2"),
    ("counter", "Counter", "CounterV1", "CounterV2"),
    ("interleave_ops", "choose_from_datasets", "choose_from_datasets_v1", "choose_from_datasets_v2"),
    ("interleave_ops", "sample_from_datasets", "sample_from_datasets_v1", "sample_from_datasets_v2"),
    ("random_ops", "RandomDataset", "RandomDatasetV1", "RandomDatasetV2"),
    ("exp_readers", "CsvDataset", "CsvDatasetV1", "CsvDatasetV2"),
    ("exp_readers", "SqlDataset", "SqlDatasetV1", "SqlDatasetV2"),
    (
        "exp_readers",
        "make_batched_features_dataset",
        "make_batched_features_dataset_v1",
        "make_batched_features_dataset_v2",
    ),
    ("exp_readers", "make_csv_dataset", "make_csv_dataset_v1", "make_csv_dataset_v2"),
)


def _read_v2_behavior() -> tuple[Any, bool]:
    """``tf2``'s own switch, and whether tf.data's classes are the V2 ones."""
    compat = sys.modules.get(_V2_COMPAT)
    datasets = getattr(compat, "dataset_ops", None)
    v2_data = datasets is None or datasets.Dataset is getattr(datasets, "DatasetV2", None)
    tf2 = _loaded(_TF2)
    force = tf2._force_enable if hasattr(tf2, "_force_enable") else bool(tf2.enabled())  # TF < 2.13 / C++
    return force, v2_data


def _put_v2_behavior(value: tuple[Any, bool]) -> None:
    """The V2 behaviour without enable_v2_behavior(): that would switch eager mode too (EI105's), and
    each switch is an entry of its own."""
    force, v2_data = value
    tf2 = _loaded(_TF2)
    if hasattr(tf2, "_force_enable"):
        tf2._force_enable = force
    elif bool(tf2.enabled()) != force:
        (tf2.enable if force else tf2.disable)()
    compat = sys.modules.get(_V2_COMPAT)
    if compat is None:
        return
    for module_name, attr, v1, v2 in _DATASETS:
        module = getattr(compat, module_name, None)
        target = getattr(module, v2 if v2_data else v1, None)
        if target is not None:
            setattr(module, attr, target)


_V2_BEHAVIOR = Entry(
    "TF2 behaviour (tf.compat.v1.disable_v2_behavior(): tf2.enabled() and tf.data's V1 classes)",
    BEHAVIOUR_SWITCH,
    _read_v2_behavior,
    _put_v2_behavior,
    "call disable_v2_behavior() once for the whole suite, in conftest.py",
    setters=(
        f"{_TF2}:disable",
        f"{_TF2}:enable",
        f"{_V2_COMPAT}:disable_v2_behavior",
        f"{_V2_COMPAT}:enable_v2_behavior",
    ),
    show=lambda value: f"tf2.enabled() {value[0]!r}, tf.data {'V2' if value[1] else 'V1'}",
)

_NP_CONFIG = "tensorflow.python.ops.numpy_ops.np_config"
_NP_DTYPES = "tensorflow.python.ops.numpy_ops.np_dtypes"
# What np_math_ops.enable_numpy_methods_on_tensor() sets on tf.Tensor.
_NUMPY_METHODS = (
    "T", "ndim", "size", "__pos__", "tolist", "transpose", "flatten", "reshape", "ravel", "clip", "astype",
    "__round__", "max", "mean", "min", "data",
)  # fmt: skip


# What enable_numpy_behavior() sets for dtype promotion, in ops: a PromoMode on TF 2.13+, a bool on TF 2.12.
_PROMOTION = ("_dtype_conversion_mode", "_numpy_style_type_promotion")


def _promotion(ops: Any) -> str:
    for name in _PROMOTION:
        if hasattr(ops, name):
            return name
    raise Unavailable("dtype promotion mode")


def _read_numpy_behavior() -> tuple[Any, Any, Any, frozenset[str]]:
    ops = _loaded(_OPS)
    tensor = _attr(_tensor_module(), "Tensor")
    methods = frozenset(name for name in _NUMPY_METHODS if name in tensor.__dict__)
    prefer = getattr(sys.modules.get(_NP_DTYPES), "_prefer_float32", None)
    return getattr(ops, _promotion(ops)), ops._numpy_style_slicing, prefer, methods


def _put_numpy_behavior(value: tuple[Any, Any, Any, frozenset[str]]) -> None:
    mode, slicing, prefer, methods = value
    ops = _loaded(_OPS)
    setattr(ops, _promotion(ops), mode)
    ops._numpy_style_slicing = slicing
    if prefer is not None:
        _setattr(_NP_DTYPES, "_prefer_float32", prefer)
    tensor = _attr(_tensor_module(), "Tensor")
    for name in _NUMPY_METHODS:
        if name in tensor.__dict__ and name not in methods:
            delattr(tensor, name)  # what enable_numpy_behavior added to tf.Tensor


_NUMPY_BEHAVIOR = Entry(
    "NumPy behaviour (tf.experimental.numpy.experimental_enable_numpy_behavior())",
    BEHAVIOUR_SWITCH,
    _read_numpy_behavior,
    _put_numpy_behavior,
    "enable it once for the whole suite, in conftest.py (TF has no public way to disable it)",
    setters=(f"{_NP_CONFIG}:enable_numpy_behavior",),
    show=lambda value: "enabled" if "T" in value[3] or value[1] else "disabled",
)


def _context_or_none() -> Any:
    """The eager context, or None while TF has not created it (it is never created here)."""
    return _attr(_CONTEXT, "context_safe")()


def _context() -> Any:
    return _attr(_CONTEXT, "context")()  # for an undo: the context exists by then


def _put_async(value: bool) -> None:
    ctx = _context()
    ctx.executor.wait()  # pending ops finish (and raise) before the mode switches back
    ctx.execution_mode = _attr(_CONTEXT, "ASYNC" if value else "SYNC")


_ASYNC = Entry(
    "asynchronous execution (tf.config.experimental.set_synchronous_execution(False))",
    BEHAVIOUR_SWITCH,
    lambda: bool(ctx.is_async()) if (ctx := _context_or_none()) is not None else False,
    _put_async,
    "tf.config.experimental.set_synchronous_execution(True) in a finally (async was {old})",
    setters=(f"{_CONFIG}:set_synchronous_execution",),
)


def _put_log_placement(value: Any) -> None:
    _context().log_device_placement = bool(value)


_LOG_PLACEMENT = Entry(
    "tf.debugging.get_log_device_placement()",
    BEHAVIOUR_SWITCH,
    lambda: bool(ctx._log_device_placement) if (ctx := _context_or_none()) is not None else False,
    _put_log_placement,
    "tf.debugging.set_log_device_placement({old}) in a finally",
    setters=(f"{_CONTEXT}:set_log_device_placement",),
)


# ---------------------------------------------------------------- registries (EI307)


def _custom_objects() -> dict[str, Any]:
    for name, attr in (
        ("keras.src.saving.object_registration", "GLOBAL_CUSTOM_OBJECTS"),  # Keras 3
        ("keras.src.saving.object_registration", "_GLOBAL_CUSTOM_OBJECTS"),  # Keras 2.13+
        ("tf_keras.src.saving.object_registration", "_GLOBAL_CUSTOM_OBJECTS"),
        ("keras.saving.object_registration", "_GLOBAL_CUSTOM_OBJECTS"),  # Keras 2.12
    ):
        found = getattr(sys.modules.get(name), attr, None)
        if isinstance(found, dict):
            return found
    raise Unavailable("Keras custom objects")


def _put_custom_objects(value: dict[str, Any]) -> None:
    registry = _custom_objects()
    registry.clear()
    registry.update(value)


def _show_objects(value: dict[str, Any]) -> str:
    return f"{len(value)} object(s)"


def _changed_objects(old: dict[str, Any], new: dict[str, Any]) -> str:
    added = sorted(set(new) - set(old))
    gone = sorted(set(old) - set(new))
    changed = sorted(k for k in set(old) & set(new) if old[k] is not new[k])
    parts = (("added", added), ("removed", gone), ("replaced", changed))
    return ", ".join(f"{word} {names}" for word, names in parts if names)


_CUSTOM_OBJECTS = Entry(
    "Keras custom objects (keras.utils.get_custom_objects())",
    REGISTRY,
    lambda: dict(_custom_objects()),
    _put_custom_objects,
    "pass custom_objects= or use `with keras.utils.custom_object_scope(...):` (register at import time, not in a test)",
    setters=tuple(
        f"{home}:{name}"
        for home in _OBJECT_REGISTRATION
        for name in ("get_custom_objects", "register_keras_serializable")
    ),
    show=_show_objects,
    same=lambda old, new: old.keys() == new.keys() and all(old[k] is new[k] for k in old),
)

_FLAGVALUES = "absl.flags._flagvalues"


def _read_flags() -> dict[str, Any]:
    flags = _attr("absl.flags", "FLAGS")
    return {name: flag.value for name, flag in flags._flags().items()}


def _flags_same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    # A flag defined during the test is not a change of a value; one removed is not either.
    return all(old[name] == new[name] for name in old.keys() & new.keys())


def _put_flags(value: dict[str, Any]) -> None:
    flags = _attr("absl.flags", "FLAGS")
    registered = flags._flags()
    for name, old in value.items():
        flag = registered.get(name)
        if flag is not None and flag.value != old:
            flag.value = old


def _changed_flags(old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = [name for name in sorted(old.keys() & new.keys()) if old[name] != new[name]]
    return ", ".join(f"--{name}={new[name]!r} (was {old[name]!r})" for name in changed[:5])


_FLAGS = Entry(
    "absl / tf.compat.v1.flags flag values",
    REGISTRY,
    _read_flags,
    _put_flags,
    "use absl.testing.flagsaver (`@flagsaver.flagsaver` or `with flagsaver.flagsaver(name=value):`) or "
    "monkeypatch.setattr(FLAGS, name, value)",
    setters=(f"{_FLAGVALUES}:FlagValues.__setattr__", f"{_FLAGVALUES}:FlagValues.__call__"),
    show=lambda value: f"{len(value)} flag(s)",
    same=_flags_same,
)


# ---------------------------------------------------------------- irreversible (EI308)

_DEBUG_MODE = "tensorflow.python.data.ops.debug_mode"
_DATA_DEBUG = Entry(
    "tf.data debug mode (tf.data.experimental.enable_debug_mode())",
    IRREVERSIBLE,
    lambda: bool(_attr(_DEBUG_MODE, "DEBUG_MODE")),
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
    ctx = _context_or_none()
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


ENTRIES: tuple[Entry, ...] = (
    *_setting_entries(),
    _SUMMARY_WRITER,
    _SUMMARY_STEP,
    _RECORD_IF,
    _NAME_SCOPE,
    _DEVICE,
    _STRATEGY_SCOPE,
    _SET_STRATEGY,
    _TENSOR_EQUALITY,
    _TENSORSHAPE,
    _CONTROL_FLOW,
    _RESOURCE_VARIABLES,
    _V2_BEHAVIOR,
    _NUMPY_BEHAVIOR,
    _ASYNC,
    _LOG_PLACEMENT,
    _CUSTOM_OBJECTS,
    _CUSTOM_OBJECT_SCOPE,
    _FLAGS,
    _DATA_DEBUG,
    _SERVER,
    _DEVICES,
)

# Details beyond ``show``: what changed inside a registry.
DETAILS = {_CUSTOM_OBJECTS: _changed_objects, _FLAGS: _changed_flags}
