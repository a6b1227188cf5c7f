"""Containers: the few places where TF and Keras keep process-wide settings, watched as a whole, so that a
setting nobody listed in the table is still seen, named and undone.

- Keras 3's ``global_state`` store (``keras.src.backend.common.global_state``, one thread-local object);
- the module globals of Keras 3's ``keras.src.backend.config``, and of tf.keras 2 / tf_keras's backend
  (``backend``, ``backend_config``): the globals some function of the module rebinds;
- the eager context's settings (every property of ``Context`` that has a setter, and the module globals
  of ``tensorflow.python.eager.context`` that its functions rebind), and ``tensorflow.python.framework.config``'s
  globals;
- the global default graph's collections (name -> items; compared by length).

Each is one :class:`.state.Entry` of the table, with no hand-written setter list: its *writers* are found
generically when its module is imported (the module's functions whose bytecode stores one of its globals,
``Context``'s property setters, Keras' ``set_global_attribute`` and ``clear_session``, the ``Graph``'s
collection methods incl. ``get_collection_ref``) and wrapped like the table's setters. So nothing is read
around a clean test, whatever the number of items: the first write in a test snapshots the whole container
(values kept, not copied), and the check diffs it after the test, identity first, equality only for what
changed. An item the table already knows (``floatx``, the dtype policy, ``soft_device_placement``, ...) is
left to its entry, which is touched along, so it keeps its own message.

Deliberately ignored (named below, next to each container): per-call scratch that Keras and TF set and
reset around every call (Keras' ``current_call_ctx``, the symbolic / stateless / autocast scopes, name
scope stacks, the eager context's per-thread ``scope_name`` / ``executor`` / ``function_call_options``),
counters and caches (name uids, saving skip sets, the device-parsing cache), warn-once flags, and seeds
(EI302's). A value written without any writer (``module._X = ...`` by hand) is not seen; ``os.environ``,
which has no writer to wrap, is compared around every test by the check itself.
"""

from __future__ import annotations

import dis
import enum
import inspect
import sys
import threading
import types
from collections.abc import Iterable
from typing import Any, NamedTuple

from ._core import _CONFIG, _CONTEXT, _OPS, _loaded, context_or_none
from .irreversible import _DEVICES
from .keras_state import GLOBAL_STATE, KERAS_DEFAULTS, keras_scratch, keras_setting_call
from .registries import _CUSTOM_OBJECT_SCOPE
from .settings import KERAS_SETTINGS, TF_SETTINGS
from .state import Entry, _from_library
from .switches import _ASYNC, _LOG_PLACEMENT

GLOBAL_CONFIG = "global-config"  # the names of their kinds (declared in checks/tf_state.py)
REGISTRY = "registry"
IRREVERSIBLE = "irreversible-state"


class _Missing:
    """An item that is not there (a key never set, a global deleted)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "unset"


MISSING: Any = _Missing()


class Item(NamedTuple):
    """One item of a container that changed: ``old`` is what :meth:`Container.put` writes back."""

    key: str
    old: Any
    new: Any


def same(old: Any, new: Any) -> bool:
    """Identity first; equality only for what is not the same object (an ``__eq__`` that raises or does not
    answer a bool, as NumPy arrays and tensors do, counts as changed)."""
    if old is new:
        return True
    try:
        return (old == new) is True
    except Exception:
        return False


def show(value: Any) -> str:
    if isinstance(value, enum.Enum) or (
        hasattr(type(value), "__members__") and isinstance(getattr(value, "name", None), str)
    ):
        return str(value.name)  # an enum (TF's are pybind11's): its name, not its repr
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_LITERALS = (type(None), bool, int, float, str)
# Keras 3's store and TF's default-graph stack are per thread: only what the thread that runs the tests
# writes is its test's (a tf.data or Keras worker thread has stores of its own, compared with nothing).
_MAIN = threading.main_thread().ident
_thread = threading.get_ident
_NOTHING: tuple[Entry, ...] = ()


class Container:
    """One container: how to snapshot it, what in a snapshot is an item, how to read and write one back.
    ``api``: the public namespaces (shown name, module) where a setter of an item is looked up by name.
    ``testcase_resets``: a ``tf.test.TestCase``'s ``setUp`` resets it (TF's own contract, as for EI106).
    ``keras_testcase_resets``: Keras 3's own ``TestCase.setUp`` resets it, and the table's entries it
    ``known``s (``clear_session()``: EI309, tidied)."""

    testcase_resets = False
    keras_testcase_resets = False

    def __init__(
        self,
        title: str,
        kind: str,
        home: str,
        *,
        known: dict[str, Entry] | None = None,
        api: tuple[tuple[str, str], ...] = (),
        routed: bool = False,
    ) -> None:
        self.title, self.kind, self.home = title, kind, home
        self.known = known or {}
        self.api = api
        self.entry = Entry(
            title,
            kind,
            self.snapshot,
            None,
            "",
            container=self,
            home=home,
            discover=self.discover,
            route=self.route if routed else None,
            also=tuple(dict.fromkeys(self.known.values())),
        )

    def route(self, args: tuple[Any, ...]) -> tuple[Entry, ...]:
        """The entries one call of a writer can change, from its arguments (``routed`` containers)."""
        return (self.entry,)

    def discover(self, module: Any) -> tuple[str, ...]:
        """The writers of this container (``"module:function"``, ``"module:Class.method"``)."""
        raise NotImplementedError

    def snapshot(self) -> Any:
        raise NotImplementedError

    def items(self, snapshot: Any) -> dict[str, Any]:
        """The items of a snapshot, by key: neither ignored nor known to the table."""
        raise NotImplementedError

    def read(self, key: str) -> Any:
        raise NotImplementedError

    def put(self, key: str, value: Any) -> None:
        raise NotImplementedError

    def default(self, key: str) -> Any:
        """What an item that is not there reads as."""
        return MISSING

    def irreversible(self, key: str) -> bool:
        return False

    def label(self, key: str) -> str:
        return f"`{key.strip('_').lower()}`"

    def show(self, key: str, value: Any) -> str:
        return show(self.default(key) if value is MISSING else value)

    def fix(self, key: str) -> str:
        return "put it back in a try/finally or a fixture's teardown"

    def what(self, key: str, old: Any, new: Any, when: str) -> str:
        """The leak's message, up to its fix."""
        return f"{self.title} {self.label(key)} is {self.show(key, new)}, was {self.show(key, old)} {when}"

    def writers_of(self, key: str) -> tuple[str, ...]:
        """The names of the functions found to write ``key`` (candidates for its public setter)."""
        return ()

    def changed(self, before: Any, after: Any) -> list[Item]:
        old, new = self.items(before), self.items(after)
        out = []
        for key in dict.fromkeys([*old, *new]):
            a, b = old.get(key, MISSING), new.get(key, MISSING)
            if a is b:
                continue
            if not same(self.default(key) if a is MISSING else a, self.default(key) if b is MISSING else b):
                out.append(Item(key, a, b))
        return out

    def setter(self, key: str, old: Any) -> str | None:
        """The public setter with a matching name, as a call that sets ``old`` back (``set_x(old)``,
        ``enable_x()`` / ``disable_x()``), or None."""
        value = self.default(key) if old is MISSING else old
        base = key.strip("_").lower()
        stem = base.removeprefix("enable_").removesuffix("_enabled")
        names = [f"set_{base}", f"set_{stem}"]
        if isinstance(value, bool):
            names.append(f"enable_{stem}" if value else f"disable_{stem}")
        for writer in self.writers_of(key):  # a function that writes it, the enable_/disable_ one that fits
            if not writer.startswith(("enable", "disable")) or writer.startswith("enable" if value else "disable"):
                names.append(writer)
        for shown, module_name in self.api:
            module = sys.modules.get(module_name)
            for name in dict.fromkeys(names):
                found = getattr(module, name, None) if module is not None else None
                if callable(found):
                    return f"{shown}.{name}({_argument(found, value)})"
        return None


def _argument(function: Any, value: Any) -> str:
    try:
        takes = bool(inspect.signature(inspect.unwrap(function)).parameters)
    except (TypeError, ValueError):
        takes = True
    if not takes:
        return ""
    return repr(value) if isinstance(value, _LITERALS) and value is not MISSING else "..."


# ---------------------------------------------------------------- module globals


def global_stores(module: Any) -> dict[str, set[str]]:
    """For each function of ``module`` (and each method of its classes) whose bytecode rebinds a module
    global (``global X; X = ...``): its qualified name and the globals it stores or deletes."""
    name = module.__name__
    found: dict[str, set[str]] = {}
    for value in list(vars(module).values()):
        functions: Iterable[Any] = (value,)
        if isinstance(value, type):
            if value.__module__ != name:
                continue
            functions = [getattr(v, "__func__", v) for v in vars(value).values()]
        for function in functions:
            code = getattr(inspect.unwrap(function), "__code__", None) if callable(function) else None
            if code is None or getattr(function, "__module__", None) != name:
                continue
            stored = _stored_globals(code)
            if stored:
                found.setdefault(function.__qualname__, set()).update(stored)
    return found


# The opcodes of ``global X; X = ...`` and ``del X``. Bytecode is two bytes an instruction (inline caches
# too), the opcode first: ``co_code[::2]`` is every opcode, so the rare function that stores a global is
# found without decoding the others (decoding every function of Keras' config modules cost 60-150 ms).
_GLOBAL_OPS = bytes(dis.opmap[name] for name in ("STORE_GLOBAL", "DELETE_GLOBAL"))


def _stored_globals(code: types.CodeType) -> set[str]:
    stored: set[str] = set()
    todo = [code]
    while todo:
        current = todo.pop()
        opcodes = current.co_code[::2]
        if any(op in opcodes for op in _GLOBAL_OPS):
            for instruction in dis.get_instructions(current):
                if instruction.opname in ("STORE_GLOBAL", "DELETE_GLOBAL"):
                    stored.add(instruction.argval)
        todo.extend(const for const in current.co_consts if isinstance(const, types.CodeType))
    return stored


class ModuleGlobals(Container):
    """The globals of one module that its own functions rebind; those functions are its writers.
    ``ignored``: globals that are caches or bookkeeping, deliberately not compared."""

    def __init__(
        self,
        title: str,
        module: str,
        *,
        ignored: Iterable[str] = (),
        known: dict[str, Entry] | None = None,
        api: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(title, GLOBAL_CONFIG, module, known=known, api=api)
        self.ignored = frozenset(ignored)
        self.names: tuple[str, ...] = ()  # the watched globals, found with the writers
        self._stores: dict[str, set[str]] = {}

    def discover(self, module: Any) -> tuple[str, ...]:
        self._stores = global_stores(module)
        self.names = tuple(sorted({n for names in self._stores.values() for n in names} - self.ignored))
        return tuple(f"{self.home}:{qualname}" for qualname, names in self._stores.items() if names - self.ignored)

    def writers_of(self, key: str) -> tuple[str, ...]:
        return tuple(sorted(name for name, names in self._stores.items() if key in names and "." not in name))

    def snapshot(self) -> dict[str, Any]:
        names = vars(_loaded(self.home))
        return {name: names.get(name, MISSING) for name in self.names}

    def items(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in snapshot.items() if key not in self.known}

    def read(self, key: str) -> Any:
        return vars(_loaded(self.home)).get(key, MISSING)

    def put(self, key: str, value: Any) -> None:
        module = _loaded(self.home)
        if value is MISSING:
            vars(module).pop(key, None)
        else:
            setattr(module, key, value)


# ---------------------------------------------------------------- Keras 3's global_state


class KerasGlobalState(Container):
    """Keras 3's ``global_state``: one ``threading.local`` (this thread's attributes), replaced by
    ``clear_session()``. Writers: ``set_global_attribute`` (not for scratch) and ``clear_session``."""

    keras_testcase_resets = True

    def __init__(self) -> None:
        super().__init__(
            "keras global state",
            GLOBAL_CONFIG,
            GLOBAL_STATE,
            known={
                "dtype_policy": KERAS_SETTINGS[("keras", "policy")],
                "custom_objects_scope_dict": _CUSTOM_OBJECT_SCOPE,
            },
            api=(("keras.config", "keras.config"), ("keras.distribution", "keras.distribution")),
            routed=True,
        )
        self._everything = (self.entry, *self.entry.also)

    def route(self, args: tuple[Any, ...]) -> tuple[Entry, ...]:
        """``set_global_attribute(name, value)``: nothing for scratch, for a write of another thread (its store
        is its own) or for one of Keras' own scopes setting and restoring an attribute around a call
        (``SafeModeScope`` on every deserialization); the table's entry for an item it knows; else this
        container. ``clear_session()``: everything (it resets all of them)."""
        if _thread() != _MAIN:
            return _NOTHING
        name = args[0] if args else None
        if not isinstance(name, str):
            return self._everything
        if not keras_setting_call(name) or sys._getframe(2).f_code.co_name in ("__enter__", "__exit__"):
            return _NOTHING  # (a scope left entered is the table's to see: custom_object_scope is an entry)
        known = self.known.get(name)
        return (self.entry,) if known is None else (known,)

    def discover(self, module: Any) -> tuple[str, ...]:
        return tuple(
            f"{self.home}:{name}" for name in ("set_global_attribute", "clear_session") if name in vars(module)
        )

    def _tracker(self) -> Any:
        return _loaded(self.home).GLOBAL_STATE_TRACKER

    def snapshot(self) -> dict[str, Any]:
        return dict(vars(self._tracker()))

    def items(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in snapshot.items() if key not in self.known and not keras_scratch(key)}

    def default(self, key: str) -> Any:
        return KERAS_DEFAULTS.get(key)  # get_global_attribute() reads None for an attribute never set

    def read(self, key: str) -> Any:
        return vars(self._tracker()).get(key, MISSING)

    def put(self, key: str, value: Any) -> None:
        tracker = self._tracker()
        if value is MISSING:
            vars(tracker).pop(key, None)
        else:
            setattr(tracker, key, value)

    def label(self, key: str) -> str:
        return f"`{key}`"


# ---------------------------------------------------------------- the eager context


# Deliberately ignored: the per-thread, per-call properties (the name scope, the executor, which reading
# would initialise the context, the function call options, the op-callback reentrancy flag), the context
# object itself and the device-parsing cache.
_CONTEXT_SCRATCH = frozenset(("scope_name", "executor", "function_call_options", "invoking_op_callbacks"))
_CONTEXT_IGNORED_GLOBALS = frozenset(("_context", "_device_parsing_cache"))
# Fixed when the context is initialised (their setters raise after), or kept in C++ with an "unset" state
# no setter can bring back (the MLIR bridge's rollout state): cannot be written back, EI308.
_CONTEXT_IRREVERSIBLE = frozenset(("use_tfrt", "operation_timeout_in_ms", "enable_mlir_bridge"))


def _twin(name: str) -> str:
    """A module global's property: ``_JIT_COMPILE_REWRITE_ENABLED`` -> ``jit_compile_rewrite``."""
    return name.strip("_").lower().removesuffix("_enabled")


class EagerContext(Container):
    """The eager context's settings: ``Context``'s properties that have a setter (read through their
    getters, written back through their setters) and the context module's globals (the defaults a new
    context starts from; one that mirrors a property is reported with it)."""

    def __init__(self) -> None:
        jit, soft = TF_SETTINGS["jit"], TF_SETTINGS["soft_placement"]
        super().__init__(
            "the eager context",
            GLOBAL_CONFIG,
            _CONTEXT,
            known={
                "optimizer_jit": jit,
                "soft_device_placement": soft,
                "log_device_placement": _LOG_PLACEMENT,
                "execution_mode": _ASYNC,
                "intra_op_parallelism_threads": _DEVICES,
                "inter_op_parallelism_threads": _DEVICES,
            },
            api=(
                ("tf.config", "tensorflow._api.v2.config"),
                ("tf.config.experimental", "tensorflow._api.v2.config.experimental"),
                ("tf.config.optimizer", "tensorflow._api.v2.config.optimizer"),
                ("tf.debugging", "tensorflow._api.v2.debugging"),
            ),
        )
        self.properties: tuple[str, ...] = ()
        self.globals: tuple[str, ...] = ()

    def discover(self, module: Any) -> tuple[str, ...]:
        cls = module.Context
        self.properties = tuple(
            name
            for name, value in vars(cls).items()
            if isinstance(value, property) and value.fset is not None and name not in _CONTEXT_SCRATCH
        )
        stores = global_stores(module)
        self.globals = tuple(sorted({n for names in stores.values() for n in names} - _CONTEXT_IGNORED_GLOBALS))
        functions = (name for name, names in stores.items() if names - _CONTEXT_IGNORED_GLOBALS)
        return (*(f"{self.home}:Context.{name}" for name in self.properties), *(f"{self.home}:{n}" for n in functions))

    def snapshot(self) -> dict[str, Any]:
        names = vars(_loaded(self.home))
        found = {name: names.get(name, MISSING) for name in self.globals}
        ctx = context_or_none()
        if ctx is not None:  # none yet: only the defaults a new one starts from are compared
            for name in self.properties:
                found[name] = _get(ctx, name)
        return found

    def items(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        return {
            key: value
            for key, value in snapshot.items()
            if key not in self.known and not (key in self.globals and _twin(key) in snapshot)
        }

    def changed(self, before: Any, after: Any) -> list[Item]:
        if not (before.keys() & set(self.properties)) or not (after.keys() & set(self.properties)):
            # The context was created (or replaced by a reset) meanwhile: compare what both have.
            common = before.keys() & after.keys()
            before = {k: v for k, v in before.items() if k in common}
            after = {k: v for k, v in after.items() if k in common}
        return super().changed(before, after)

    def read(self, key: str) -> Any:
        if key in self.globals:
            return vars(_loaded(self.home)).get(key, MISSING)
        ctx = context_or_none()
        return MISSING if ctx is None else _get(ctx, key)

    def put(self, key: str, value: Any) -> None:
        if value is MISSING:
            return
        if key in self.globals:
            setattr(_loaded(self.home), key, value)
            return
        ctx = context_or_none()
        if ctx is not None:
            setattr(ctx, key, value)
        for name in self.globals:  # the default it mirrors, which TF's own enable_/disable_ set together
            if _twin(name) == key and isinstance(value, bool):
                setattr(_loaded(self.home), name, value)

    def irreversible(self, key: str) -> bool:
        return key in _CONTEXT_IRREVERSIBLE

    def label(self, key: str) -> str:
        return f"`{_twin(key) if key in self.globals else key}`"


def _get(ctx: Any, name: str) -> Any:
    try:
        return getattr(ctx, name)
    except Exception:  # a getter this TF cannot answer now: not compared
        return MISSING


# ---------------------------------------------------------------- the global default graph's collections


_COLLECTION_METHODS = ("add_to_collection", "add_to_collections", "get_collection_ref", "clear_collection")
_COLLECTION_CALLS = frozenset((*_COLLECTION_METHODS, "get_collection"))
# Collections TF fills by itself, as a side effect of creating something (a lookup table's initializer, a
# saveable object, an asset file, a resource, a control-flow context), eagerly too: what a test asked for is
# the table or the resource, never the entry; no later TF2 test reads them.
_TF_BOOKKEEPING = frozenset(
    (
        "table_initializer",
        "saveable_objects",
        "asset_filepaths",
        "resources",
        "local_resources",
        "cond_context",
        "while_context",
        "streaming_model_ports",
    )
)


class GraphCollections(Container):
    """The global default graph's collections (``tf.compat.v1.add_to_collection`` / ``get_collection``):
    name -> items, compared by length. Writers: the ``Graph``'s collection methods, counted only when
    called on the global default graph (``get_collection_ref`` too: its caller appends to the list).
    A scope that added ops to that graph is left to EI102 / EI106, whose undo resets the graph; so is a
    ``tf.test.TestCase``, whose ``setUp`` resets the default graph (collections included)."""

    testcase_resets = True

    def __init__(self) -> None:
        super().__init__("the global default graph's collection", REGISTRY, _OPS, routed=True)
        self._stack: Any = None
        self._ops = ""  # tensorflow/python/framework/ops.py, whose module functions wrap the Graph's methods

    def discover(self, module: Any) -> tuple[str, ...]:
        self._stack = module._default_graph_stack
        self._ops = module.__file__
        graph = module.Graph
        return tuple(f"{self.home}:Graph.{name}" for name in _COLLECTION_METHODS if name in vars(graph))

    def route(self, args: tuple[Any, ...]) -> tuple[Entry, ...]:
        """A call on the global default graph, in the thread that runs the tests, asked for by code outside
        TF and Keras: ``tf.compat.v1.add_to_collection`` in a test is, ``tf.function`` sharing the variable
        collections with the graph it traces, a lookup table adding its initializer, is not."""
        if not args or args[0] is not getattr(self._stack, "_global_default_graph", None) or _thread() != _MAIN:
            return _NOTHING
        frame: types.FrameType | None = sys._getframe(2)  # the writer's caller (this, then the wrapper)
        while frame is not None and frame.f_code.co_name in _COLLECTION_CALLS and frame.f_code.co_filename == self._ops:
            frame = frame.f_back  # tf.compat.v1's own add_to_collection(s) / get_collection_ref: its caller
        if frame is None or _from_library(frame.f_code.co_filename):
            return _NOTHING
        return (self.entry,)

    def _graph(self) -> Any:
        return getattr(self._stack, "_global_default_graph", None)

    def snapshot(self) -> tuple[Any, int, dict[str, tuple[Any, ...]]]:
        graph = self._graph()
        if graph is None:
            return None, 0, {}
        return graph, graph.version, {name: tuple(items) for name, items in graph._collections.items()}

    def items(self, snapshot: Any) -> dict[str, Any]:
        # Deliberately ignored: TF's own collections (a private name, ``_SUMMARY_V2``, or a tuple key such as
        # the variable-scope store ``("__varscope",)``, which TF makes in the graph the first time it needs it),
        # and the bookkeeping TF appends to as a side effect, in eager mode too (see _TF_BOOKKEEPING).
        return {
            k: v
            for k, v in snapshot[2].items()
            if isinstance(k, str) and not k.startswith("_") and k not in _TF_BOOKKEEPING
        }

    def changed(self, before: Any, after: Any) -> list[Item]:
        old_graph, old_version, _ = before
        graph, version, _ = after
        if graph is None or (version != old_version if graph is old_graph else version):
            return []  # ops were added: EI102's (or EI106's), whose undo resets the default graph
        old, new = self.items(before) if graph is old_graph else {}, self.items(after)  # {}: reset meanwhile
        return [
            Item(name, old.get(name, ()), new.get(name, ()))
            for name in dict.fromkeys([*old, *new])
            if len(old.get(name, ())) != len(new.get(name, ()))
        ]

    def read(self, key: str) -> Any:
        graph = self._graph()
        return tuple(graph._collections.get(key, ())) if graph is not None else ()

    def put(self, key: str, value: Any) -> None:
        graph = self._graph()
        if graph is None:
            return
        collections = graph._collections
        if key in collections:
            collections[key][:] = value  # in place: a list get_collection_ref() handed out stays the one used
        elif value:
            collections[key] = list(value)

    def label(self, key: str) -> str:
        return repr(key)

    def what(self, key: str, old: Any, new: Any, when: str) -> str:
        return f"{self.title} {key!r} holds {len(new)} item(s), {len(old)} {when}"

    def fix(self, key: str) -> str:
        return "build in a private graph (the `tf_graph` fixture, or `with tf.Graph().as_default():`)"

    def setter(self, key: str, old: Any) -> str | None:
        return None


# ---------------------------------------------------------------- the table's containers


def _keras2(pkg: str) -> tuple[Container, ...]:
    """tf.keras 2 / tf_keras: the backend's globals (Keras 2.13+ under ``src``, 2.12 without)."""
    known = {
        "_FLOATX": KERAS_SETTINGS[(pkg, "floatx")],
        "_EPSILON": KERAS_SETTINGS[(pkg, "epsilon")],
        "_IMAGE_DATA_FORMAT": KERAS_SETTINGS[(pkg, "image_data_format")],
        "_GRAPH_LEARNING_PHASES": KERAS_SETTINGS[(pkg, "learning_phase")],
    }
    api = ((f"{pkg}.backend", f"{pkg}.backend"), (f"{pkg}.backend.experimental", f"{pkg}.backend.experimental"))
    # Deliberately ignored: the cache of local devices.
    return tuple(
        ModuleGlobals(f"{pkg} backend", home, ignored=("_LOCAL_DEVICES",), known=known, api=api)
        for home in (f"{pkg}.src.backend", f"{pkg}.backend", f"{pkg}.src.backend_config", f"{pkg}.backend_config")
    )


KERAS_CONFIG = ModuleGlobals(
    "keras config",
    "keras.src.backend.config",
    known={
        "_FLOATX": KERAS_SETTINGS[("keras", "floatx")],
        "_EPSILON": KERAS_SETTINGS[("keras", "epsilon")],
        "_IMAGE_DATA_FORMAT": KERAS_SETTINGS[("keras", "image_data_format")],
        "_MAX_EPOCHS": KERAS_SETTINGS[("keras", "max_epochs")],
        "_MAX_STEPS_PER_EPOCH": KERAS_SETTINGS[("keras", "max_steps_per_epoch")],
    },
    api=(("keras.config", "keras.config"), ("keras.backend", "keras.backend")),
)
KERAS_GLOBAL_STATE = KerasGlobalState()
EAGER_CONTEXT = EagerContext()
# Deliberately ignored: a warn-once flag.
TF_CONFIG_GLOBALS = ModuleGlobals("tf.config", _CONFIG, ignored=("_warned_windows_gpu",))
GRAPH_COLLECTIONS = GraphCollections()

CONTAINERS: tuple[Container, ...] = (
    KERAS_CONFIG,
    KERAS_GLOBAL_STATE,
    *_keras2("keras"),
    *_keras2("tf_keras"),
    EAGER_CONTEXT,
    TF_CONFIG_GLOBALS,
    GRAPH_COLLECTIONS,
)
ENTRIES = tuple(container.entry for container in CONTAINERS)
