"""Everything that touches TensorFlow internals, in one place, lazily and version-aware (TF 2.12-2.21).

Nothing here imports TensorFlow: each function looks at ``sys.modules`` and answers "not loaded" until
the suite itself has imported TF. Private attributes are looked up defensively: a missing one records a
:func:`problem` (shown once as a warning) and disables what needs it, never raising into user code.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from . import _imports, _sites

_OPS = "tensorflow.python.framework.ops"
_CONTEXT = "tensorflow.python.eager.context"
_SESSION = "tensorflow.python.client.session"

_problems: list[str] = []


def problem(message: str) -> None:
    """Note that part of the instrumentation is unavailable on this TF (reported once, never raised)."""
    if message not in _problems:
        _problems.append(message)


def take_problems() -> list[str]:
    out = _problems[:]
    _problems.clear()
    return out


def loaded() -> bool:
    return _OPS in sys.modules


def version() -> str | None:
    tf = sys.modules.get("tensorflow")
    found = getattr(tf, "__version__", None)
    return found if isinstance(found, str) else None


def _module(name: str) -> Any:
    return sys.modules.get(name)


# --------------------------------------------------------------------------- graphs and contexts


@dataclass(frozen=True)
class GraphState:
    """The global default graph and the graph-context stack of the calling thread."""

    graph: weakref.ReferenceType[Any] | None  # the global default graph; None until TF creates one
    version: int  # how many ops it holds (Graph.version)
    finalized: bool
    contexts: int  # graph contexts entered through Graph.as_default() and not exited
    stack: int  # depth of TF's own default-graph stack


PRISTINE = GraphState(graph=None, version=0, finalized=False, contexts=0, stack=0)

_local = threading.local()


def _entered() -> list[TrackedContext]:
    stack: list[TrackedContext] | None = getattr(_local, "entered", None)
    if stack is None:
        stack = _local.entered = []
    return stack


class TrackedContext:
    """Wraps the context manager ``Graph.as_default()`` returns, to know where an unexited one was
    entered and to be able to exit it in cleanup (truncating TF's stacks by hand would be undone later,
    when the abandoned generator is garbage collected)."""

    def __init__(self, cm: Any, graph: Any, site: tuple[str, ...], by_session: bool) -> None:
        self._cm = cm
        self.graph = graph
        self.site = site
        self.by_session = by_session

    def __enter__(self) -> Any:
        result = self._cm.__enter__()
        _entered().append(self)
        return result

    def __exit__(self, *exc: Any) -> Any:
        stack = _entered()
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is self:
                del stack[i]
                break
        return self._cm.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cm, name)


def _global_graph(ops: Any) -> Any:
    return getattr(ops._default_graph_stack, "_global_default_graph", None)


def graph_state() -> GraphState:
    ops = _module(_OPS)
    if ops is None:
        return PRISTINE
    try:
        graph = _global_graph(ops)
        return GraphState(
            graph=None if graph is None else weakref.ref(graph),
            version=0 if graph is None else graph.version,
            finalized=False if graph is None else graph.finalized,
            contexts=len(_entered()),
            stack=len(ops._default_graph_stack.stack),
        )
    except AttributeError as exc:
        problem(f"default-graph checks disabled on TF {version()}: {exc}")
        return PRISTINE


def global_graph() -> Any:
    ops = _module(_OPS)
    return None if ops is None else _global_graph(ops)


def ops_since(graph: Any, since_version: int, limit: int = 5) -> tuple[int, list[Any]]:
    """How many ops were added to ``graph`` after ``since_version``, and the first ``limit`` of them
    (``get_operations()`` lists ops in creation order)."""
    added = graph.get_operations()[since_version:]
    return len(added), added[:limit]


def op_site(op: Any) -> tuple[str, ...]:
    """The user frames of an op's creation traceback (TF records one for every graph op)."""
    try:
        frames = op.traceback
    except Exception:
        return ()
    out = []
    for frame in reversed(list(frames)):
        filename, lineno, name = frame.filename, frame.lineno, frame.name
        if _sites.is_user(filename):
            out.append(f"{_sites.relative(filename)}:{lineno} in {name}")
    return tuple(out[:8])


_finalized_at: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()


def finalize_site(graph: Any) -> tuple[str, ...]:
    return _finalized_at.get(graph, ())


def open_contexts(since: int) -> list[TrackedContext]:
    return _entered()[since:]


def exit_contexts(contexts: list[TrackedContext]) -> None:
    for cm in reversed(contexts):
        try:
            cm.__exit__(None, None, None)
        except Exception as exc:
            problem(f"could not exit a leaked graph context: {exc!r}")


def reset_default_graph() -> None:
    ops = _module(_OPS)
    if ops is None:
        return
    if ops._default_graph_stack.is_cleared():
        ops.reset_default_graph()
    else:  # contexts entered by code we did not see; start the thread's stack afresh
        ops._default_graph_stack.reset()


def _patch_graphs(ops: ModuleType) -> None:
    graph_cls: Any = ops.Graph
    original = graph_cls.as_default
    if getattr(original, "__estimator_isolation__", False):
        return
    interactive_init: list[Any] = []

    def as_default(self: Any) -> Any:
        cm = original(self)
        try:
            if self.building_function:  # tf.function traces always exit their own graphs
                return cm
            caller = sys._getframe(1).f_code
            if not interactive_init:
                session = _module(_SESSION)
                if session is not None:
                    interactive_init.append(session.InteractiveSession.__init__.__code__)
            by_session = bool(interactive_init) and caller is interactive_init[0]
            return TrackedContext(cm, self, _sites.user_stack(2), by_session)
        except Exception as exc:
            problem(f"graph-context tracking failed: {exc!r}")
            return cm

    finalize = graph_cls.finalize

    def finalize_(self: Any) -> None:
        finalize(self)
        try:
            if not self.building_function:
                _finalized_at[self] = _sites.user_stack(2)
        except Exception as exc:
            problem(f"finalize tracking failed: {exc!r}")

    _wrap(graph_cls, "as_default", as_default)
    _wrap(graph_cls, "finalize", finalize_)


def _wrap(cls: Any, name: str, func: Any) -> None:
    original = getattr(cls, name)
    func.__estimator_isolation__ = True
    func.__wrapped__ = original
    func.__doc__ = original.__doc__
    func.__name__ = original.__name__
    setattr(cls, name, func)


# --------------------------------------------------------------------------- eager mode

_initial_eager: list[bool] = []


def _note_initial_mode(context: ModuleType) -> None:
    _initial_eager.append(context.default_execution_mode == context.EAGER_MODE)


def eager_default() -> bool | None:
    """The process-wide execution mode (``disable_eager_execution`` flips it); None if TF is not loaded."""
    context = _module(_CONTEXT)
    if context is None:
        return None
    return bool(context.default_execution_mode == context.EAGER_MODE)


def eager_at_import() -> bool:
    return _initial_eager[0] if _initial_eager else True


def set_thread_eager(eager: bool) -> None:
    context = _module(_CONTEXT)
    ctx = context.context_safe() if context is not None else None
    if ctx is not None:
        ctx._thread_local_data.is_eager = eager


def set_eager_default(eager: bool) -> None:
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return
    if eager:
        reset_default_graph()  # enable_eager_execution refuses once a global graph exists
        tf.compat.v1.enable_eager_execution()
        set_thread_eager(True)
    else:
        tf.compat.v1.disable_eager_execution()


# --------------------------------------------------------------------------- sessions

SessionHook = Callable[[Any], None]


def instrument_sessions(on_create: SessionHook, on_close: SessionHook, on_collect: SessionHook) -> None:
    """Call ``on_create(session)`` after every ``tf.compat.v1.Session``/``InteractiveSession`` is built,
    ``on_close(session)`` when code closes it, and ``on_collect(session)`` when garbage collection does."""

    def patch(module: ModuleType) -> None:
        base: Any = module.BaseSession
        if getattr(base.__init__, "__estimator_isolation__", False):
            return
        init, close, delete = base.__init__, base.close, base.__del__
        collecting: set[int] = set()

        def safe(hook: SessionHook, session: Any) -> None:
            try:
                hook(session)
            except Exception as exc:
                problem(f"session tracking failed: {exc!r}")

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            safe(on_create, self)

        def close_(self: Any) -> None:
            if id(self) not in collecting:
                safe(on_close, self)
            close(self)

        def __del__(self: Any) -> None:
            collecting.add(id(self))
            try:
                if not getattr(self, "_closed", True):
                    safe(on_collect, self)
                delete(self)
            finally:
                collecting.discard(id(self))

        _wrap(base, "__init__", __init__)
        _wrap(base, "close", close_)
        _wrap(base, "__del__", __del__)

    _imports.when_imported(_SESSION, patch)


def close_session(session: Any) -> None:
    try:
        session.close()
    except Exception as exc:
        problem(f"could not close a leaked session: {exc!r}")


def is_interactive(session: Any) -> bool:
    module = _module(_SESSION)
    return module is not None and isinstance(session, module.InteractiveSession)


def install() -> None:
    """Start watching for TF (idempotent); cheap, and imports nothing."""
    _imports.when_imported(_CONTEXT, _note_initial_mode)
    _imports.when_imported(_OPS, _patch_graphs)


# --------------------------------------------------------------------------- estimators

_ESTIMATOR = "tensorflow_estimator.python.estimator.estimator"

EstimatorHook = Callable[[Any], None]


def instrument_estimators(
    on_init: Callable[[Any, bool], None], on_train: EstimatorHook, on_evaluate: EstimatorHook
) -> None:
    """Call ``on_init(estimator, temporary)`` after every ``Estimator`` (canned ones included) is built,
    ``temporary`` telling that none was given a model_dir so TF made one with ``tempfile.mkdtemp()``; and
    ``on_train(estimator)`` / ``on_evaluate(estimator)`` as ``train`` / ``evaluate`` start (which
    ``tf.estimator.train_and_evaluate`` calls too). Never changes what the Estimator does."""

    def patch(module: ModuleType) -> None:
        import inspect
        import os
        import tempfile

        cls: Any = module.Estimator
        if getattr(cls.__init__, "__estimator_isolation__", False):
            return
        init, train, evaluate = cls.__init__, cls.train, cls.evaluate
        signature = inspect.signature(init)

        def safe(hook: Callable[..., None], *args: Any) -> None:
            try:
                hook(*args)
            except Exception as exc:
                problem(f"Estimator tracking failed: {exc!r}")

        def created(estimator: Any, args: Any, kwargs: Any) -> None:
            given = signature.bind(estimator, *args, **kwargs).arguments
            if given.get("model_dir") or getattr(given.get("config"), "model_dir", None):
                on_init(estimator, False)
                return
            # No model_dir given: TF took one from TF_CONFIG, or made one with tempfile.mkdtemp().
            made = os.path.dirname(os.path.realpath(estimator.model_dir))
            on_init(estimator, made == os.path.realpath(tempfile.gettempdir()))

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            safe(created, self, args, kwargs)

        def train_(self: Any, *args: Any, **kwargs: Any) -> Any:
            safe(on_train, self)
            return train(self, *args, **kwargs)

        def evaluate_(self: Any, *args: Any, **kwargs: Any) -> Any:
            safe(on_evaluate, self)
            return evaluate(self, *args, **kwargs)

        _wrap(cls, "__init__", __init__)
        _wrap(cls, "train", train_)
        _wrap(cls, "evaluate", evaluate_)

    _imports.when_imported(_ESTIMATOR, patch)


# --------------------------------------------------------------------------- keras and tf.config

_KERAS = ("keras", "tf_keras")  # Keras 3 (TF >= 2.16) or Keras 2 (tf.keras up to TF 2.15); legacy tf_keras
_NUMERICS = "tensorflow.python.debug.lib.check_numerics_callback"
_OP_CALLBACKS = "tensorflow.python.framework.op_callbacks"
_FRAMEWORK_CONFIG = "tensorflow.python.framework.config"


class Unavailable(LookupError):
    """The library is not loaded, or this version lacks the setting: skip it silently."""


def _loaded(name: str) -> Any:
    module = sys.modules.get(name)
    if module is None:
        raise Unavailable(name)
    return module


def _equal(old: Any, new: Any) -> bool:
    return bool(old == new)


@dataclass(frozen=True)
class Setting:
    """One process-wide TF/Keras setting. ``get()`` reads its value without importing or building anything
    (or raises :class:`Unavailable` / ``AttributeError``); ``put(value)`` restores a value ``get`` returned.
    ``undo`` tells the user how to set it back (``{old}``: the old value as ``show`` writes it)."""

    name: str
    needs: str  # the module that must be loaded for the setting to exist
    get: Callable[[], Any]
    put: Callable[[Any], None]
    undo: str
    show: Callable[[Any], str] = repr
    same: Callable[[Any, Any], bool] = _equal


def _keras_option(pkg: str, option: str) -> Setting:
    """``keras.backend.floatx()`` and friends: the same public getter and setter in Keras 2 and 3."""
    return Setting(
        f"{pkg}.backend.{option}()",
        pkg,
        lambda: getattr(_loaded(pkg).backend, option)(),
        lambda value: getattr(_loaded(pkg).backend, f"set_{option}")(value),
        f"{pkg}.backend.set_{option}({{old}})",
    )


@dataclass(frozen=True)
class Policy:
    """The global dtype policy: the one set explicitly (None: unset), and the name layers get."""

    explicit: Any
    name: str


def _policy_home(pkg: str) -> tuple[Any, bool]:
    state = sys.modules.get(f"{pkg}.src.backend.common.global_state")
    if state is not None:  # Keras 3: a thread-local attribute
        return state, True
    for name in (f"{pkg}.src.mixed_precision.policy", f"{pkg}.mixed_precision.policy"):  # Keras 2.13+, 2.12
        module = sys.modules.get(name)
        if module is not None:
            return module, False
    raise Unavailable(f"{pkg} dtype policy")


def _get_policy(pkg: str) -> Policy:
    # Not keras.mixed_precision.global_policy(): in Keras 3 reading it fixes the policy from floatx().
    home, keras3 = _policy_home(pkg)
    explicit = home.get_global_attribute("dtype_policy") if keras3 else home._global_policy
    name = explicit.name if explicit is not None else _loaded(pkg).backend.floatx()
    return Policy(explicit, str(name))


def _put_policy(pkg: str, value: Policy) -> None:
    home, keras3 = _policy_home(pkg)
    if keras3:
        home.set_global_attribute("dtype_policy", value.explicit)
    else:
        home.set_global_policy(value.explicit)


def _same_policy(old: Policy, new: Policy) -> bool:
    # Keras fixes an unset policy from floatx() the first time a layer asks, so compare the names layers
    # get. Both unset and floatx() changed: that is the floatx leak, reported once, under floatx.
    return old.name == new.name or (old.explicit is None and new.explicit is None)


def _keras_policy(pkg: str) -> Setting:
    return Setting(
        f"{pkg}.mixed_precision.global_policy()",
        pkg,
        lambda: _get_policy(pkg),
        lambda value: _put_policy(pkg, value),
        f"{pkg}.mixed_precision.set_global_policy({{old}})",
        show=lambda value: repr(value.name),
        same=_same_policy,
    )


def _tf_config() -> Any:
    return _loaded("tensorflow").config


def _context_safe() -> Any:
    """The eager context, or None while TF has not created it (it is never created here)."""
    return _loaded(_CONTEXT).context_safe()


def _context() -> Any:
    return _loaded(_CONTEXT).context()


# The context's private fields hold what was set explicitly (None: TF's default); its public getters
# build a whole ConfigProto (~12 us each), too slow to call around every test.


def _get_jit() -> bool:
    ctx = _context_safe()
    return False if ctx is None else bool(ctx._optimizer_jit)


def _put_jit(value: bool) -> None:
    _context().optimizer_jit = value


def _get_soft_placement() -> bool | None:
    ctx = _context_safe()
    if ctx is None:
        return None
    value: bool | None = ctx._soft_device_placement
    return value


def _soft_placement(value: bool | None) -> bool:
    """Unset, soft placement follows the execution mode (the eager check reports a changed mode)."""
    return bool(eager_default()) if value is None else bool(value)


def _put_soft_placement(value: bool | None) -> None:
    _context().soft_device_placement = _soft_placement(value)


_PLAIN_OPTIONS = {"disable_model_pruning": False, "disable_meta_optimizer": False, "min_graph_nodes": 0}


def _get_options() -> dict[str, Any]:
    """Options set explicitly; a plain bool/int option set to its default is the same as unset (the
    on/off "toggles" are not: unset means the optimizer's own default)."""
    ctx = _context_safe()
    raw: dict[str, Any] = {} if ctx is None else ctx._optimizer_experimental_options
    return {key: value for key, value in raw.items() if value is not None and _PLAIN_OPTIONS.get(key) != value}


def _put_options(value: dict[str, Any]) -> None:
    ctx = _context()
    ctx._optimizer_experimental_options.clear()
    ctx.set_optimizer_experimental_options(dict(value))


def _get_numerics() -> Any:
    return getattr(_loaded(_NUMERICS)._state, "check_numerics_callback", None)  # thread-local


def _put_numerics(callback: Any) -> None:
    module = _loaded(_NUMERICS)
    module.disable_check_numerics()
    if callback is not None:
        module._state.check_numerics_callback = callback
        _loaded(_OP_CALLBACKS).add_op_callback(callback.callback)


def _put_determinism(value: bool) -> None:
    config = _loaded(_FRAMEWORK_CONFIG)
    (config.enable_op_determinism if value else config.disable_op_determinism)()


SETTINGS: tuple[Setting, ...] = (
    *(
        setting
        for pkg in _KERAS
        for setting in (
            _keras_option(pkg, "floatx"),
            _keras_option(pkg, "epsilon"),
            _keras_option(pkg, "image_data_format"),
            _keras_policy(pkg),
        )
    ),
    Setting(
        "tf.config.functions_run_eagerly()",
        "tensorflow",
        lambda: bool(_tf_config().functions_run_eagerly()),
        lambda value: _tf_config().run_functions_eagerly(value),
        "tf.config.run_functions_eagerly({old})",
    ),
    Setting(
        "tf.config.optimizer.get_jit()",
        _CONTEXT,
        _get_jit,
        _put_jit,
        "tf.config.optimizer.set_jit({old})",
        show=lambda value: repr("autoclustering" if value else ""),
    ),
    Setting(
        "tf.config.optimizer.get_experimental_options()",
        _CONTEXT,
        _get_options,
        _put_options,
        "tf.config.optimizer.set_experimental_options() (an option that was unset cannot be unset again: "
        "set it once for the whole suite, in conftest.py)",
    ),
    Setting(
        "tf.config.get_soft_device_placement()",
        _CONTEXT,
        _get_soft_placement,
        _put_soft_placement,
        "tf.config.set_soft_device_placement({old})",
        show=lambda value: repr(_soft_placement(value)),
        same=lambda old, new: _soft_placement(old) == _soft_placement(new),
    ),
    Setting(
        "tf.config.experimental.tensor_float_32_execution_enabled()",
        "tensorflow",
        lambda: bool(_tf_config().experimental.tensor_float_32_execution_enabled()),
        lambda value: _tf_config().experimental.enable_tensor_float_32_execution(value),
        "tf.config.experimental.enable_tensor_float_32_execution({old})",
    ),
    Setting(
        "op determinism (tf.config.experimental.enable_op_determinism())",
        _FRAMEWORK_CONFIG,
        lambda: bool(_loaded(_FRAMEWORK_CONFIG).is_op_determinism_enabled()),
        _put_determinism,
        "tensorflow.python.framework.config.disable_op_determinism() (there is no public undo: enable "
        "determinism once for the whole suite, in conftest.py)",
    ),
    Setting(
        "check numerics (tf.debugging.enable_check_numerics())",
        _NUMERICS,
        _get_numerics,
        _put_numerics,
        "tf.debugging.disable_check_numerics() (or enable_check_numerics())",
        show=lambda value: "enabled" if value is not None else "disabled",
        same=lambda old, new: (old is None) == (new is None),
    ),
)


def read_settings() -> dict[str, Any]:
    """The value of every setting the loaded TF/Keras has, by name; empty until one is imported."""
    modules = sys.modules
    if "tensorflow" not in modules and "keras" not in modules and "tf_keras" not in modules:
        return {}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.needs in modules:
            try:
                values[setting.name] = setting.get()
            except (Unavailable, AttributeError):
                pass
    return values


_at_import: dict[str, Any] = {}


def _note_settings(_module: ModuleType) -> None:
    for name, value in read_settings().items():
        _at_import.setdefault(name, value)


def settings_at_import() -> dict[str, Any]:
    """Each setting's value right after TF/Keras was imported (for a scope that imported it)."""
    return _at_import


def watch_settings() -> None:
    """Record the settings' values as TF and Keras finish importing (idempotent; imports nothing)."""
    for name in ("tensorflow", *_KERAS):
        _imports.when_imported(name, _note_settings)


def keras_clear_session() -> None:
    """``clear_session()`` on every Keras already imported (never imports one): fresh layer-name counters
    and Keras graph state. The global dtype policy is a setting, not state, so it is kept (Keras 3 would
    reset it), and memory is not garbage collected (that alone costs ~0.2 s with TF loaded)."""
    for pkg in _KERAS:
        backend = getattr(sys.modules.get(pkg), "backend", None)
        clear = getattr(backend, "clear_session", None)
        if clear is None:
            continue
        state = sys.modules.get(f"{pkg}.src.backend.common.global_state")
        try:
            if state is None:  # Keras 2
                clear()
                if eager_default() is False:  # it built a learning-phase placeholder in the global graph
                    reset_default_graph()  # Keras makes another when it needs one
            else:
                policy = state.get_global_attribute("dtype_policy")
                try:
                    clear(free_memory=False)
                finally:
                    state.set_global_attribute("dtype_policy", policy)
        except AssertionError:  # reset_default_graph() inside a graph context: the names are what matter
            reset_uids = getattr(backend, "reset_uids", None)  # Keras 2 stopped before resetting them
            if reset_uids is not None:
                reset_uids()
        except Exception as exc:
            problem(f"{pkg}.backend.clear_session() failed: {exc!r}")


def keras_loaded() -> bool:
    return any(pkg in sys.modules for pkg in _KERAS)
