"""TF1/TF2 behaviour switches (EI306), one entry each: tensor equality, v2 ``TensorShape``, control flow
v2, resource variables, TF2 behaviour itself (``tf2.enabled()`` and tf.data's V1 classes), NumPy
behaviour, asynchronous execution and ``log_device_placement``. ``disable_v2_behavior()`` flips several;
each is reported on its own (the execution mode is EI105's)."""

from __future__ import annotations

import sys
from typing import Any

from ._core import _CONFIG, _CONTEXT, _OPS, Unavailable, _loaded, context, context_or_none
from .state import Entry

BEHAVIOUR_SWITCH = "behaviour-switch"  # the name of their kind (declared in checks/tf_state.py)
_TENSOR_HOMES = ("tensorflow.python.framework.tensor", _OPS)  # TF 2.13+, 2.12


def _tensor_module() -> str:
    for name in _TENSOR_HOMES:
        module = sys.modules.get(name)
        if module is not None and hasattr(getattr(module, "Tensor", None), "_USE_EQUALITY"):
            return name
    raise Unavailable("Tensor._USE_EQUALITY")


def _set_equality(value: bool) -> None:
    _loaded(_tensor_module()).Tensor._USE_EQUALITY = value


_TENSOR_EQUALITY = Entry(
    "tensor equality (tf.compat.v1.disable_tensor_equality())",
    BEHAVIOUR_SWITCH,
    lambda: bool(_loaded(_tensor_module()).Tensor._USE_EQUALITY),
    _set_equality,
    "tf.compat.v1.enable_tensor_equality() / disable_tensor_equality() back to {old}",
    setters=tuple(
        f"{home}:{name}" for home in _TENSOR_HOMES for name in ("disable_tensor_equality", "enable_tensor_equality")
    ),
)
_SHAPE = "tensorflow.python.framework.tensor_shape"
_TENSORSHAPE = Entry(
    "v2 TensorShape (tf.compat.v1.disable_v2_tensorshape())",
    BEHAVIOUR_SWITCH,
    lambda: _loaded(_SHAPE)._TENSORSHAPE_V2_OVERRIDE,
    lambda value: setattr(_loaded(_SHAPE), "_TENSORSHAPE_V2_OVERRIDE", value),
    "tf.compat.v1.enable_v2_tensorshape() (was {old})",
    setters=(f"{_SHAPE}:disable_v2_tensorshape", f"{_SHAPE}:enable_v2_tensorshape"),
)
_CF_UTIL = "tensorflow.python.ops.control_flow_util"
_CF_TOGGLES = "tensorflow.python.ops.control_flow_v2_toggles"
_CONTROL_FLOW = Entry(
    "control flow v2 (tf.compat.v1.disable_control_flow_v2())",
    BEHAVIOUR_SWITCH,
    lambda: bool(_loaded(_CF_UTIL).ENABLE_CONTROL_FLOW_V2),
    lambda value: setattr(_loaded(_CF_UTIL), "ENABLE_CONTROL_FLOW_V2", value),
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
    tensor = _loaded(_tensor_module()).Tensor
    methods = frozenset(name for name in _NUMPY_METHODS if name in tensor.__dict__)
    prefer = getattr(sys.modules.get(_NP_DTYPES), "_prefer_float32", None)
    return getattr(ops, _promotion(ops)), ops._numpy_style_slicing, prefer, methods


def _put_numpy_behavior(value: tuple[Any, Any, Any, frozenset[str]]) -> None:
    mode, slicing, prefer, methods = value
    ops = _loaded(_OPS)
    setattr(ops, _promotion(ops), mode)
    ops._numpy_style_slicing = slicing
    if prefer is not None:
        _loaded(_NP_DTYPES)._prefer_float32 = prefer
    tensor = _loaded(_tensor_module()).Tensor
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


def _put_async(value: bool) -> None:
    ctx = context()
    ctx.executor.wait()  # pending ops finish (and raise) before the mode switches back
    ctx.execution_mode = getattr(_loaded(_CONTEXT), "ASYNC" if value else "SYNC")


_ASYNC = Entry(
    "asynchronous execution (tf.config.experimental.set_synchronous_execution(False))",
    BEHAVIOUR_SWITCH,
    lambda: bool(ctx.is_async()) if (ctx := context_or_none()) is not None else False,
    _put_async,
    "tf.config.experimental.set_synchronous_execution(True) in a finally (async was {old})",
    setters=(f"{_CONFIG}:set_synchronous_execution",),
)


def _put_log_placement(value: Any) -> None:
    context().log_device_placement = bool(value)


_LOG_PLACEMENT = Entry(
    "tf.debugging.get_log_device_placement()",
    BEHAVIOUR_SWITCH,
    lambda: bool(ctx._log_device_placement) if (ctx := context_or_none()) is not None else False,
    _put_log_placement,
    "tf.debugging.set_log_device_placement({old}) in a finally",
    setters=(f"{_CONTEXT}:set_log_device_placement",),
)


ENTRIES = (
    _TENSOR_EQUALITY,
    _TENSORSHAPE,
    _CONTROL_FLOW,
    _RESOURCE_VARIABLES,
    _V2_BEHAVIOR,
    _NUMPY_BEHAVIOR,
    _ASYNC,
    _LOG_PLACEMENT,
)
