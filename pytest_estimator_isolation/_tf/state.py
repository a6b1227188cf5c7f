"""Process-wide TF/Keras state a test can leave changed: one :class:`Entry` each, recorded as it changes.

An entry says where a state lives and how to read it (``read``), how to put an old value back (``put``;
None: TF cannot undo it), which setters and context entries change it (``setters``), and what to tell
the user (``undo``). Nothing reads an entry around a clean test. The setters are wrapped once per
process, when the module that defines them is first imported; a call inside a test (``scopes.current()``)
marks the entry *touched* in that scope and records, once, its value before the change and where the
user's code made it. The check (:mod:`..checks.tf_state`) re-reads only the touched entries after the
scope and compares: a value put back by a ``finally``, ``monkeypatch`` or absl's ``flagsaver``, even one
that bypassed the setter, is seen as put back. A setter called outside any test (at import, in
conftest.py, in a session fixture) sets the suite's baseline: nothing is recorded. The cost of a clean
test is therefore one stash lookup, however many entries there are.

Aliases. TF and Keras export one setter under many names (``tf.config.run_functions_eagerly`` lives in
five module namespaces; ``keras.backend.set_floatx`` in three), through ``tf_export`` tables and lazy
loaders. A setter is replaced in the module that defines it and, by identity, in every loaded module
of the same package that holds it (one pass, 8-30 ms on TF 2.15's ~2900 modules, once per package
import); modules loaded later copy the already-replaced function from its home. Swapping the
function's ``__code__`` instead would reach references captured elsewhere too, but needs a trampoline
with the same free variables as each setter (``record_if`` has one) and names injected into TF's module
globals: more fragile for no case seen. Methods (``set_as_default``, ``__enter__``/``__exit__``) are
replaced on their class, which every alias shares.

Containers (:mod:`.containers`). An entry may stand for a whole container: its setters (*writers*) are
found by ``discover`` once its module has finished importing (a function that stores a module global, a
property setter, Keras' ``set_global_attribute``); its ``route`` tells from a call's arguments which
entries that call can change (none for scratch and private graphs; an item the table knows: that entry),
or the table's entries for the items it holds are touched along (``also``).

Contexts. ``__enter__`` of a scope class is recorded only when its caller is not TF or Keras itself
(TF enters and exits name scopes around every op): one frame test, then the user's frame as the site.
An open context is exited, newest first, by the check's undo.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest

from .. import _imports, _sites, problems, scopes
from ..leaks import Site
from ._core import _wrap, equal, patched

Reader = Callable[[], Any]


@dataclass(frozen=True, eq=False)
class Entry:
    """One process-wide state. ``setters``: ``"module:function"`` or ``"module:Class.method"`` that change
    it (a name this TF/Keras lacks is skipped). ``contexts``: ``"module:Class"`` whose ``__enter__``
    opens one (or ``"module:Class.method()"``: a method returning such a context manager): the entry's value is then
    the tuple of contexts opened in tests and not exited. ``undo``: the fix shown, ``{old}`` being the old
    value as ``show`` writes it. ``read`` raises (``LookupError``, ``AttributeError``) where the state
    does not exist on this version: the entry is skipped."""

    name: str
    kind: str  # the name of its kind (declared in checks/tf_state.py)
    read: Reader
    put: Callable[[Any], None] | None
    undo: str
    setters: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()
    show: Callable[[Any], str] = repr
    same: Callable[[Any, Any], bool] = equal
    after: Callable[[], None] | None = None  # called after each setter call that returned (a counter)
    # A container (:mod:`.containers`): ``read`` snapshots all of it, and the check asks ``container``
    # what in it changed. Its setters are found when ``home`` is imported, by ``discover(module)``;
    # ``route(args)``: the entries one call of them can change (None: this entry and ``also``, always);
    # ``also``: the table's entries for items it holds, touched along so that they keep their own message.
    container: Any = None
    home: str = ""
    discover: Callable[[Any], tuple[str, ...]] | None = None
    route: Callable[[tuple[Any, ...]], tuple[Entry, ...]] | None = None
    also: tuple[Entry, ...] = ()


class Change(NamedTuple):
    """An entry's value before the first change in a scope, and where the user's code changed it."""

    before: Any
    stack: tuple[Site, ...]


TOUCHED = pytest.StashKey[dict[Entry, Change]]()

_quiet = [0]  # > 0 while the plugin itself undoes a leak: its own setter calls are nobody's change


class quiet:
    """Setter calls made inside are not recorded (the check's undo)."""

    def __enter__(self) -> None:
        _quiet[0] += 1

    def __exit__(self, *exc: object) -> None:
        _quiet[0] -= 1


def touch(entries: Iterable[Entry]) -> None:
    """A setter of ``entries`` is about to run: record each one's value, once per scope."""
    scope = scopes.current()
    if scope is None or _quiet[0]:
        return
    stash = scope.stash
    touched = stash.get(TOUCHED, None)
    if touched is None:
        touched = stash[TOUCHED] = {}
    stack: tuple[Site, ...] | None = None
    for entry in entries:
        if entry in touched:
            continue
        try:
            before = entry.read()
        except LookupError:  # not loaded, or this TF/Keras lacks it: skip it silently
            continue
        except Exception as exc:  # a TF internal it reads was renamed: say so once, never guess
            problems.report(f"{entry.name} is not checked on this TF/Keras: {exc!r}")
            continue
        if stack is None:
            stack = _sites.user_stack(3)
        touched[entry] = Change(before, stack)


# ---------------------------------------------------------------- open contexts


class Opened:
    """A context entered in a test and not exited (yet): what to exit, and where it was entered."""

    __slots__ = ("cm", "entry", "exit", "stack")

    def __init__(self, cm: Any, entry: Entry, exit: Callable[..., Any], stack: tuple[Site, ...]) -> None:
        self.cm, self.entry, self.exit, self.stack = cm, entry, exit, stack


_opened: list[Opened] = []  # oldest first


def opened(entry_name: str) -> tuple[Opened, ...]:
    return tuple(o for o in _opened if o.entry.name == entry_name)


def _forget(cm: Any) -> None:
    for i in range(len(_opened) - 1, -1, -1):
        if _opened[i].cm is cm:
            del _opened[i]
            return


_LIBRARY = ("tensorflow", "tensorflow_estimator", "keras", "tf_keras", "tensorboard")
_by_library: dict[str, bool] = {}


def _from_library(filename: str) -> bool:
    """Whether ``filename`` is the code of the loaded TF, Keras or TensorBoard: by where those packages were
    imported from, not by a folder name (a user's ``my_project/keras/layers_test.py`` is not Keras)."""
    known = _by_library.get(filename)
    if known is None:
        homes = []
        for name in _LIBRARY:
            module = sys.modules.get(name)
            homes += [os.path.join(path, "") for path in getattr(module, "__path__", ())]
        known = _by_library[filename] = filename.startswith(tuple(homes))
    return known


def _entering(cm: Any, entry: Entry, exit: Callable[..., Any]) -> None:
    """``cm`` was just entered (called from its ``__enter__``, two frames below the caller)."""
    if _quiet[0] or scopes.current() is None or _from_library(sys._getframe(2).f_code.co_filename):
        return
    touch((entry,))
    _opened.append(Opened(cm, entry, exit, _sites.user_stack(3, limit=1)))


def exit_opened(contexts: Iterable[Opened]) -> None:
    """Exit ``contexts``, newest first (a scope's exit checks it is the innermost)."""
    with quiet():
        for o in sorted(contexts, key=_opened_order, reverse=True):
            try:
                o.exit(o.cm, None, None, None)
            except Exception as exc:
                problems.report(f"could not exit {o.entry.name} entered at {o.stack[:1]}: {exc!r}")
            _forget(o.cm)


def _opened_order(o: Opened) -> int:
    try:
        return _opened.index(o)
    except ValueError:
        return -1


class _Tracked:
    """The context manager a wrapped method returns (``Graph.device()``), to know it was entered."""

    __slots__ = ("_cm", "_entry")

    def __init__(self, cm: Any, entry: Entry) -> None:
        self._cm, self._entry = cm, entry

    def __enter__(self) -> Any:
        result = self._cm.__enter__()
        try:
            _entering(self, self._entry, _Tracked.__exit__)
        except Exception as exc:
            problems.report(f"{self._entry.name} tracking failed: {exc!r}")
        return result

    def __exit__(self, *exc: Any) -> Any:
        if _opened:
            _forget(self)
        return self._cm.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cm, name)


# ---------------------------------------------------------------- patching


def _setter(original: Any, entries: tuple[Entry, ...]) -> Any:
    counters = [entry.after for entry in entries if entry.after is not None]
    always = tuple(dict.fromkeys(e for entry in entries if entry.route is None for e in (entry, *entry.also)))
    routes = [entry.route for entry in entries if entry.route is not None]

    def setter(*args: Any, **kwargs: Any) -> Any:
        if not _quiet[0] and scopes._active:
            try:
                touch(always)
            except Exception as exc:
                problems.report(f"{entries[0].name} tracking failed: {exc!r}")
        result = original(*args, **kwargs)
        if counters:
            for count in counters:
                count()
        return result

    def routed_setter(*args: Any, **kwargs: Any) -> Any:
        # A container's writer: only some calls can change it (Keras' scratch and private graphs cannot),
        # which its route tells from the arguments before anything else is done.
        if not _quiet[0] and scopes._active:
            try:
                found = always
                for route in routes:
                    found += route(args)
                if found:
                    touch(found)
            except Exception as exc:
                problems.report(f"{entries[0].name} tracking failed: {exc!r}")
        return original(*args, **kwargs)

    if routes:
        setter = routed_setter
    functools.update_wrapper(setter, original)
    setter.__estimator_isolation__ = True  # type: ignore[attr-defined]
    return setter


def _enter(original: Any, entry: Entry, exit_: Any) -> Any:
    def __enter__(self: Any) -> Any:
        result = original(self)
        if scopes._active:
            try:
                _entering(self, entry, exit_)
            except Exception as exc:
                problems.report(f"{entry.name} tracking failed: {exc!r}")
        return result

    return __enter__


def _exit(original: Any) -> Any:
    def __exit__(self: Any, *exc: Any) -> Any:
        if _opened:
            _forget(self)
        return original(self, *exc)

    return __exit__


def _returning_tracked(original: Any, entry: Entry) -> Any:
    def method(*args: Any, **kwargs: Any) -> Any:
        return _Tracked(original(*args, **kwargs), entry)

    return method


def _resolve(spec: str) -> tuple[Any, str] | None:
    """``(owner, attribute)`` for ``"module:name"`` / ``"module:Class.name"``, or None (not loaded, or
    not in this version)."""
    module_name, _, path = spec.partition(":")
    owner: Any = sys.modules.get(module_name)
    if owner is None:
        return None
    *classes, attr = path.split(".")
    for cls in classes:
        owner = owner.__dict__.get(cls) if hasattr(owner, "__dict__") else None
        if owner is None:
            return None
    if not isinstance(getattr(owner, "__dict__", None), (dict, type(type.__dict__))) or attr not in owner.__dict__:
        return None
    return owner, attr


_done: set[str] = set()
_waiting: set[str] = set()


_discovered: dict[int, tuple[str, ...]] = {}  # by id of a container's entry: the setters it found


def _setters_of(entry: Entry) -> tuple[str, ...]:
    """The entry's setters; a container's are found once its home module is loaded."""
    if entry.discover is None:
        return entry.setters
    found = _discovered.get(id(entry))
    if found is None:
        home = sys.modules.get(entry.home)
        if home is None or getattr(getattr(home, "__spec__", None), "_initializing", False):
            _wait(f"{entry.home}:")  # still being imported: the patch that ends TF's or Keras' import looks again
            return entry.setters
        try:
            found = entry.discover(home)
        except Exception as exc:  # a TF/Keras internal it inspects changed: say so once, watch the rest
            problems.report(f"{entry.name} is not watched on this TF/Keras: {exc!r}")
            found = ()
        _discovered[id(entry)] = found
    return entry.setters + found


def _patch(entries: Iterable[Entry]) -> None:
    """Wrap every setter and context of ``entries`` whose module is loaded; wait for the others' import."""
    setters: dict[str, list[Entry]] = {}
    for entry in entries:
        for spec in _setters_of(entry):
            setters.setdefault(spec, []).append(entry)
    replaced: dict[int, tuple[Any, Any]] = {}
    for spec, owners in setters.items():
        if spec in _done:
            continue
        found = _resolve(spec)
        if found is None:
            _wait(spec)
            continue
        _done.add(spec)
        owner, attr = found
        original = owner.__dict__[attr]
        if isinstance(original, property):  # a property's setter (the eager context's settings)
            if original.fset is not None and not getattr(original.fset, "__estimator_isolation__", False):
                fset = _setter(original.fset, tuple(owners))
                setattr(owner, attr, property(original.fget, fset, original.fdel, original.__doc__))
            continue
        if patched(owner, attr):
            continue
        wrapper = _setter(original, tuple(owners))
        setattr(owner, attr, wrapper)
        if isinstance(owner, type):
            continue  # a method: every alias shares the class
        replaced[id(original)] = (original, wrapper)
    for entry in entries:
        for spec in entry.contexts:
            if spec in _done:
                continue
            found = _resolve(spec.removesuffix("()"))
            if found is None:
                _wait(spec)
                continue
            _done.add(spec)
            _patch_context(*found, entry, returns=spec.endswith("()"))
    if replaced:
        _replace_aliases(replaced)


def _patch_context(owner: Any, attr: str, entry: Entry, returns: bool) -> None:
    if returns:  # a method returning a context manager
        if not patched(owner, attr):
            _wrap(owner, attr, _returning_tracked(owner.__dict__[attr], entry))
        return
    cls: Any = owner.__dict__[attr]
    if not isinstance(cls, type) or patched(cls, "__enter__"):
        return
    original_exit: Any = getattr(cls, "__exit__")  # noqa: B009  (mypy: a class, not its instances)
    _wrap(cls, "__enter__", _enter(getattr(cls, "__enter__"), entry, original_exit))  # noqa: B009
    _wrap(cls, "__exit__", _exit(original_exit))


def _wait(spec: str) -> None:
    module_name = spec.partition(":")[0]
    if module_name not in sys.modules and module_name not in _waiting:
        _waiting.add(module_name)
        _imports.when_imported(module_name, _patch_all)


_scanned: set[int] = set()  # ids of the modules already scanned (kept alive by sys.modules)


def _replace_aliases(replaced: dict[int, tuple[Any, Any]]) -> None:
    """Every loaded module that holds a replaced function gets its wrapper instead (not only TF's own:
    ``tf.summary`` is TensorBoard's module, re-exporting TF's functions). ``map(id, ...)`` and a set
    intersection keep the pass in C; an object's ``__eq__`` is never called. A module scanned once is
    not scanned again: a setter patched later is imported after it (its home module is patched as soon
    as it is loaded), so only modules loaded since can hold it."""
    ids = set(replaced)
    for module in list(sys.modules.values()):
        if id(module) in _scanned:
            continue
        _scanned.add(id(module))
        names = getattr(module, "__dict__", None)
        if not isinstance(names, dict) or ids.isdisjoint(map(id, names.values())):
            continue
        for key, value in list(names.items()):
            pair = replaced.get(id(value))
            if pair is not None and value is pair[0]:
                names[key] = pair[1]


_table: tuple[Entry, ...] = ()  # what install() was given: the entries whose setters are wrapped


def install(table: tuple[Entry, ...]) -> None:
    """Wrap the setters of ``table`` as TF, Keras and absl are imported (idempotent; imports nothing)."""
    global _table
    _table = table
    for name in ("tensorflow", "keras", "tf_keras", "absl.flags"):
        _imports.when_imported(name, _patch_all)


def _patch_all(_module: Any = None) -> None:
    _patch(_table)
