"""Process-wide Keras and ``tf.config`` settings, read from loaded modules only: the EI301 entries of
:mod:`.entries` (each :class:`Setting` names the setters that change it; see :mod:`.state`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from .. import problems
from ._core import _CONFIG, Unavailable, _loaded, context, context_or_none, equal
from .eager import eager_default
from .graphs import reset_default_graph
from .keras_state import keras_settings
from .state import Entry, quiet

_KERAS = ("keras", "tf_keras")  # Keras 3 (TF >= 2.16) or Keras 2 (tf.keras up to TF 2.15); legacy tf_keras
_NUMERICS = "tensorflow.python.debug.lib.check_numerics_callback"
_OP_CALLBACKS = "tensorflow.python.framework.op_callbacks"
GLOBAL_CONFIG = "global-config"  # the name of their kind (declared in checks/tf_state.py)


Reader = Callable[[], Any]


def _bool(read: Reader) -> Reader:
    """``bool(read())``; ``read`` itself if it returns a bool (one Python call less on every read)."""
    return read if isinstance(read(), bool) else lambda: bool(read())


@dataclass(frozen=True)
class Setting:
    """One process-wide TF/Keras setting. ``bind()`` finds the loaded modules and getters it lives in
    (or raises :class:`Unavailable` / ``AttributeError``) and returns a reader of its current value;
    ``get()`` does both. Neither imports nor builds anything. ``put(value)`` restores a value ``get``
    returned. ``undo`` tells the user how to set it back (``{old}``: the old value as ``show`` writes it)."""

    name: str
    bind: Callable[[], Reader]
    put: Callable[[Any], None]
    undo: str
    show: Callable[[Any], str] = repr
    same: Callable[[Any, Any], bool] = equal
    setters: tuple[str, ...] = ()  # "module:function" calls that change it (see .state)

    def get(self) -> Any:
        return self.bind()()

    def entry(self) -> Entry:
        return Entry(
            self.name,
            GLOBAL_CONFIG,
            self.get,
            self.put,
            f"set it back with {self.undo}",
            setters=self.setters,
            show=self.show,
            same=self.same,
        )


# Where Keras keeps floatx/epsilon/image_data_format, as module globals: Keras 2.13+ and tf_keras,
# Keras 2.12, Keras 3. Reading them costs ~0.1 us; the public getters up to ~40 us each inside pytest's
# warnings capture (Keras 2's API wrappers), and they are read around every test. Keras 3 alone has
# max_epochs and max_steps_per_epoch (set with keras.config.set_*: every later fit() is capped silently).
_KERAS_CONFIG = ("{pkg}.src.backend_config", "{pkg}.backend_config", "{pkg}.src.backend.config")
_KERAS_GLOBAL = {
    "floatx": "_FLOATX",
    "epsilon": "_EPSILON",
    "image_data_format": "_IMAGE_DATA_FORMAT",
    "max_epochs": "_MAX_EPOCHS",
    "max_steps_per_epoch": "_MAX_STEPS_PER_EPOCH",
}


def _bind_keras_option(pkg: str, option: str, api: str = "backend") -> Reader:
    attr = _KERAS_GLOBAL[option]
    for name in _KERAS_CONFIG:
        module = sys.modules.get(name.format(pkg=pkg))
        if module is not None and hasattr(module, attr):
            return partial(getattr, module, attr)  # the setter replaces the global: read it each time
    if api != "backend":  # a keras.config-only setting: this Keras (2, or an older 3) lacks it
        raise Unavailable(f"{pkg} {option}")
    read: Reader = getattr(_loaded(pkg).backend, option)  # a layout not known here: the public getter
    return read


def _keras_option(pkg: str, option: str, api: str = "backend") -> Setting:
    """``keras.backend.floatx()`` and friends (the same setter in Keras 2 and 3), or ``api="config"``:
    a Keras 3 ``keras.config`` setting."""
    return Setting(
        f"{pkg}.{api}.{option}()",
        lambda: _bind_keras_option(pkg, option, api),
        lambda value: getattr(getattr(_loaded(pkg), api), f"set_{option}")(value),
        f"{pkg}.{api}.set_{option}({{old}})",
        setters=tuple(f"{name.format(pkg=pkg)}:set_{option}" for name in _KERAS_CONFIG),
    )


@dataclass(frozen=True)
class DtypePolicy:
    """Keras' global dtype policy: the one set explicitly and its name (None and "": unset, layers get
    ``floatx()``, looked up only when a change is reported)."""

    explicit: Any
    name: str


_UNSET_POLICY = DtypePolicy(None, "")


def _policy_home(pkg: str) -> tuple[Any, bool]:
    state = sys.modules.get(f"{pkg}.src.backend.common.global_state")
    if state is not None:  # Keras 3: a thread-local attribute
        return state, True
    for name in (f"{pkg}.src.mixed_precision.policy", f"{pkg}.mixed_precision.policy"):  # Keras 2.13+, 2.12
        module = sys.modules.get(name)
        if module is not None:
            return module, False
    raise Unavailable(f"{pkg} dtype policy")


def _bind_policy(pkg: str) -> Reader:
    # Not keras.mixed_precision.global_policy(): in Keras 3 reading it fixes the policy from floatx().
    # Keras 3's clear_session() replaces the thread-local tracker: get_global_attribute reads the new one.
    home, keras3 = _policy_home(pkg)
    explicit: Reader
    if keras3:
        explicit = partial(home.get_global_attribute, "dtype_policy")
    else:
        explicit = partial(getattr, home, "_global_policy")
    last = _UNSET_POLICY

    def read() -> DtypePolicy:
        nonlocal last
        policy = explicit()
        if policy is None:
            return _UNSET_POLICY
        if policy is not last.explicit:  # else the same (frozen) value again: cheaper to compare
            last = DtypePolicy(policy, str(policy.name))
        return last

    return read


def _policy_name(pkg: str, value: DtypePolicy) -> str:
    """The name layers get: an unset policy's is ``floatx()``, looked up when a change is compared or shown."""
    return value.name if value.explicit is not None else str(_bind_keras_option(pkg, "floatx")())


def _put_policy(pkg: str, value: DtypePolicy) -> None:
    home, keras3 = _policy_home(pkg)
    if keras3:
        home.set_global_attribute("dtype_policy", value.explicit)
    else:
        home.set_global_policy(value.explicit)


def _same_policy(pkg: str, old: DtypePolicy, new: DtypePolicy) -> bool:
    # Keras fixes an unset policy from floatx() the first time a layer asks, so compare the names layers
    # get. Both unset and floatx() changed: that is the floatx leak, reported once, under floatx.
    if old.explicit is None and new.explicit is None:
        return True
    return _policy_name(pkg, old) == _policy_name(pkg, new)


def _keras_policy(pkg: str) -> Setting:
    return Setting(
        f"{pkg}.mixed_precision.global_policy()",
        lambda: _bind_policy(pkg),
        lambda value: _put_policy(pkg, value),
        f"{pkg}.mixed_precision.set_global_policy({{old}})",
        show=lambda value: repr(_policy_name(pkg, value)),
        same=partial(_same_policy, pkg),
        setters=(
            f"{pkg}.src.mixed_precision.policy:set_global_policy",  # Keras 2.13+
            f"{pkg}.mixed_precision.policy:set_global_policy",  # Keras 2.12
            f"{pkg}.src.dtype_policies.dtype_policy:set_dtype_policy",  # Keras 3
            f"{pkg}.src.backend.common.global_state:clear_session",  # Keras 3's resets the policy
        ),
    )


def _keras2_backend(pkg: str) -> Any:
    """Keras 2's backend module (tf.keras up to TF 2.15, tf_keras); Keras 3 has no learning phase."""
    if f"{pkg}.src.backend.common.global_state" in sys.modules:
        raise Unavailable(f"{pkg} 3 has no learning phase")
    for name in (f"{pkg}.src.backend", f"{pkg}.backend"):  # Keras 2.13+, 2.12
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "_GRAPH_LEARNING_PHASES"):
            return module
    raise Unavailable(f"{pkg} learning phase")


_PHASE_UNSET = (False, None)


def _read_learning_phase(backend: Any) -> tuple[bool, Any]:
    """Set by ``set_learning_phase``: the flag and the value of the eager pseudo-graph (per thread);
    unset, the value is not used. ``clear_session()`` replaces the dict: both are read from the module
    each time."""
    dummy = backend._DUMMY_EAGER_GRAPH
    if not dummy.learning_phase_is_set:
        return _PHASE_UNSET
    return True, backend._GRAPH_LEARNING_PHASES.get(dummy.key)


def _put_learning_phase(pkg: str, value: tuple[bool, Any]) -> None:
    backend = _keras2_backend(pkg)
    dummy = backend._DUMMY_EAGER_GRAPH
    dummy.learning_phase_is_set, phase = value
    if phase is None:
        backend._GRAPH_LEARNING_PHASES.pop(dummy.key, None)
    else:
        backend._GRAPH_LEARNING_PHASES[dummy.key] = phase


def _keras_learning_phase(pkg: str) -> Setting:
    return Setting(
        f"{pkg}.backend.learning_phase()",
        lambda: partial(_read_learning_phase, _keras2_backend(pkg)),
        lambda value: _put_learning_phase(pkg, value),
        "pass training= to the layers instead of set_learning_phase (deprecated); "
        f"{pkg}.backend.clear_session() unsets it",
        show=lambda value: repr(value[1]) if value[0] else "unset",
        setters=tuple(
            f"{home}:{name}"
            for home in (f"{pkg}.src.backend", f"{pkg}.backend")
            for name in ("set_learning_phase", "deprecated_internal_set_learning_phase", "clear_session")
        ),
    )


def _tf_config() -> Any:
    return _loaded("tensorflow").config


# The context's private fields hold what was set explicitly (None: TF's default); its public getters
# build a whole ConfigProto (~12 us each), too slow to call around every test.


def _read_jit() -> bool:
    ctx = context_or_none()
    return False if ctx is None else bool(ctx._optimizer_jit)


def _put_jit(value: bool) -> None:
    context().optimizer_jit = value


def _read_soft_placement() -> bool | None:
    ctx = context_or_none()
    if ctx is None:
        return None
    value: bool | None = ctx._soft_device_placement
    return value


def _soft_placement(value: bool | None) -> bool:
    """Unset, soft placement follows the execution mode (the eager check reports a changed mode)."""
    return bool(eager_default()) if value is None else bool(value)


def _put_soft_placement(value: bool | None) -> None:
    context().soft_device_placement = _soft_placement(value)


_PLAIN_OPTIONS = {"disable_model_pruning": False, "disable_meta_optimizer": False, "min_graph_nodes": 0}
_NO_OPTIONS: dict[str, Any] = {}  # never changed: what every read without options returns


def _read_options() -> dict[str, Any]:
    """Options set explicitly; a plain bool/int option set to its default is the same as unset (the
    on/off "toggles" are not: unset means the optimizer's own default)."""
    ctx = context_or_none()
    raw: dict[str, Any] = {} if ctx is None else ctx._optimizer_experimental_options
    if not raw:
        return _NO_OPTIONS
    return {key: value for key, value in raw.items() if value is not None and _PLAIN_OPTIONS.get(key) != value}


def _put_options(value: dict[str, Any]) -> None:
    ctx = context()
    ctx._optimizer_experimental_options.clear()
    ctx.set_optimizer_experimental_options(dict(value))


def _read_numerics(module: Any) -> Any:
    # The thread-local's attributes are its __dict__; a dict miss costs less than getattr's AttributeError.
    return module._state.__dict__.get("check_numerics_callback")


def _put_numerics(callback: Any) -> None:
    module = _loaded(_NUMERICS)
    module.disable_check_numerics()
    if callback is not None:
        module._state.check_numerics_callback = callback
        _loaded(_OP_CALLBACKS).add_op_callback(callback.callback)


# Two flags TF keeps in C++, read through pybind11 (only when a test called one of their setters).
_TF32 = "tensorflow.python.util._pywrap_tensor_float_32_execution"
_DETERMINISM = "tensorflow.python.util._pywrap_determinism"


def _bind_flag(name: str) -> Reader:
    is_enabled = _loaded(name).is_enabled
    return lambda: bool(is_enabled())


def _put_determinism(value: bool) -> None:
    config = _loaded(_CONFIG)
    (config.enable_op_determinism if value else config.disable_op_determinism)()


_KERAS_OPTIONS: dict[tuple[str, str], Setting] = {
    **{
        (pkg, name): setting
        for pkg in _KERAS
        for name, setting in (
            ("floatx", _keras_option(pkg, "floatx")),
            ("epsilon", _keras_option(pkg, "epsilon")),
            ("image_data_format", _keras_option(pkg, "image_data_format")),
            ("policy", _keras_policy(pkg)),
            ("learning_phase", _keras_learning_phase(pkg)),
        )
    },
    ("keras", "max_epochs"): _keras_option("keras", "max_epochs", api="config"),
    ("keras", "max_steps_per_epoch"): _keras_option("keras", "max_steps_per_epoch", api="config"),
}
_TF_SETTINGS: dict[str, Setting] = {
    "run_eagerly": Setting(
        "tf.config.functions_run_eagerly()",
        lambda: _bool(_tf_config().functions_run_eagerly),
        lambda value: _tf_config().run_functions_eagerly(value),
        "tf.config.run_functions_eagerly({old})",
        setters=(
            "tensorflow.python.eager.polymorphic_function.eager_function_run:run_functions_eagerly",
            "tensorflow.python.eager.def_function:run_functions_eagerly",
        ),
    ),
    "jit": Setting(
        "tf.config.optimizer.get_jit()",
        lambda: _read_jit,
        _put_jit,
        "tf.config.optimizer.set_jit({old})",
        show=lambda value: repr("autoclustering" if value else ""),
        setters=(f"{_CONFIG}:set_optimizer_jit",),
    ),
    "options": Setting(
        "tf.config.optimizer.get_experimental_options()",
        lambda: _read_options,
        _put_options,
        "tf.config.optimizer.set_experimental_options() (an option that was unset cannot be unset again: "
        "set it once for the whole suite, in conftest.py)",
        setters=(f"{_CONFIG}:set_optimizer_experimental_options",),
    ),
    "soft_placement": Setting(
        "tf.config.get_soft_device_placement()",
        lambda: _read_soft_placement,
        _put_soft_placement,
        "tf.config.set_soft_device_placement({old})",
        show=lambda value: repr(_soft_placement(value)),
        same=lambda old, new: _soft_placement(old) == _soft_placement(new),
        setters=(f"{_CONFIG}:set_soft_device_placement",),
    ),
    "tf32": Setting(
        "tf.config.experimental.tensor_float_32_execution_enabled()",
        lambda: _bind_flag(_TF32),
        lambda value: _tf_config().experimental.enable_tensor_float_32_execution(value),
        "tf.config.experimental.enable_tensor_float_32_execution({old})",
        setters=(f"{_CONFIG}:enable_tensor_float_32_execution",),
    ),
    "determinism": Setting(
        "op determinism (tf.config.experimental.enable_op_determinism())",
        lambda: _bind_flag(_DETERMINISM),
        _put_determinism,
        "tensorflow.python.framework.config.disable_op_determinism() (there is no public undo: enable "
        "determinism once for the whole suite, in conftest.py)",
        setters=(f"{_CONFIG}:enable_op_determinism", f"{_CONFIG}:disable_op_determinism"),
    ),
    "check_numerics": Setting(
        "check numerics (tf.debugging.enable_check_numerics())",
        lambda: partial(_read_numerics, _loaded(_NUMERICS)),
        _put_numerics,
        "tf.debugging.disable_check_numerics() (or enable_check_numerics())",
        show=lambda value: "enabled" if value is not None else "disabled",
        same=lambda old, new: (old is None) == (new is None),
        setters=(f"{_NUMERICS}:enable_check_numerics", f"{_NUMERICS}:disable_check_numerics"),
    ),
}

SETTINGS: tuple[Setting, ...] = (*_KERAS_OPTIONS.values(), *_TF_SETTINGS.values())
SETTING_ENTRIES: tuple[Entry, ...] = tuple(setting.entry() for setting in SETTINGS)
# The same entries by what they are, for the containers that hold them (.containers).
KERAS_SETTINGS: dict[tuple[str, str], Entry] = dict(zip(_KERAS_OPTIONS, SETTING_ENTRIES))
TF_SETTINGS: dict[str, Entry] = dict(zip(_TF_SETTINGS, SETTING_ENTRIES[len(_KERAS_OPTIONS) :]))


def keras_clear_session() -> None:
    """``clear_session()`` on every Keras already imported (never imports one): fresh layer-name counters
    and Keras graph state. The global dtype policy and Keras 3's other global settings are settings, not
    state, so they are kept (Keras 3 would reset them), and memory is not garbage collected (that alone
    costs ~0.2 s with TF loaded). The plugin's own setter calls: not a test's change (quiet)."""
    with quiet():
        for pkg in _KERAS:
            _clear_session(pkg)


def _clear_session(pkg: str) -> None:
    backend = getattr(sys.modules.get(pkg), "backend", None)
    clear = getattr(backend, "clear_session", None)
    if clear is None:
        return
    state = sys.modules.get(f"{pkg}.src.backend.common.global_state")
    try:
        if state is None:  # Keras 2
            clear()
            if eager_default() is False:  # it built a learning-phase placeholder in the global graph
                reset_default_graph()  # Keras makes another when it needs one
        else:
            kept = keras_settings()  # the dtype policy and every other setting, not the scratch
            try:
                clear(free_memory=False)
            finally:
                for name, value in kept.items():
                    setattr(state.GLOBAL_STATE_TRACKER, name, value)
    except AssertionError:  # reset_default_graph() inside a graph context: the names are what matter
        reset_uids = getattr(backend, "reset_uids", None)  # Keras 2 stopped before resetting them
        if reset_uids is not None:
            reset_uids()
    except Exception as exc:
        problems.report(f"{pkg}.backend.clear_session() failed: {exc!r}")


def keras_loaded() -> bool:
    return any(pkg in sys.modules for pkg in _KERAS)
