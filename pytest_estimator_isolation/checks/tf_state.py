"""EI301 and EI303-EI308: process-wide TF/Keras state a test changed and did not put back.

Every watched state is one entry of :data:`pytest_estimator_isolation._tf.entries.ENTRIES`: the Keras and
``tf.config`` settings (EI301: ``keras.mixed_precision.set_global_policy("mixed_float16")`` makes every
later Dense layer compute in float16), ``tf.summary``'s default writer, step and ``record_if`` (EI304),
scopes entered and never exited (EI305), the TF1/TF2 behaviour switches (EI306), Keras' custom objects
and absl flag values (EI307), and what TF cannot undo in-process (EI308); and the containers where TF and
Keras keep their settings (:mod:`pytest_estimator_isolation._tf.containers`), so that one nobody listed is
still seen: each of its items that changed is a finding of its own (EI301, EI307 for the default graph's
collections, EI308 for what cannot be written back). Nothing is read around a clean test: the entries'
setters (a container's writers, found in its module) record, as they run inside a test, the value before
the change (see :mod:`pytest_estimator_isolation._tf.state`); this check re-reads those entries only. The
environment variables TF and Keras read at call time (EI303, ``TF_CONFIG``, ...) are compared directly,
one read of ``os.environ``'s own mapping, in one function (:meth:`TFStateCheck._environment`).

A setter called outside any test (at import, in conftest.py, in a session fixture) sets the suite's
baseline. When TF/Keras is first imported inside a test, the value before the first change is the value
right after the import.

A leak left in place (warn mode, an allowed kind) is not blamed again on the scope that puts the state
back to what the leak replaced (Keras' own ``TestCase.setUp()`` resets the dtype policy; many tests set
the default ``image_data_format`` they need). A wider-scoped fixture is judged on what its own setup and
teardown changed, not on what the tests inside it did.

Undo never makes things worse: open scopes are exited newest first, then values (and container items)
are put back in the table's order (a default summary writer is unset, never closed: the writers check
closes what it owns, after this check, so never a default writer); asynchronous execution waits for
pending ops before it is switched back. An undo that fails is reported on the test (a problem), and the
next test is still judged.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from .. import _sites, _tf, problems, scopes
from ..dispatch import check_hook
from ..leaks import Leak, LeakKind, Site
from ..scopes import Scope
from . import RunInfo

if TYPE_CHECKING:  # at run time through _tf, imported when the check is made (after TF), not with its kinds
    from .._tf import state

GLOBAL_CONFIG = LeakKind(
    code="EI301",
    name="global-config",
    meaning="a global TensorFlow/Keras setting was changed and not restored (later tests run with it)",
    fix="save the old value and set it back in a try/finally or in a fixture's teardown (as monkeypatch "
    "does), or set it once for the whole suite in conftest.py",
    symptoms=("float16", "float64"),
    compared=True,
)
ENVIRONMENT = LeakKind(
    code="EI303",
    name="environment",
    meaning="an environment variable TensorFlow or Keras reads at call time (TF_CONFIG, TF_USE_LEGACY_KERAS, "
    "KERAS_BACKEND, AUTOGRAPH_STRICT_CONVERSION, AUTOGRAPH_VERBOSITY) was set or changed and not restored: every "
    "later call reads it (with TF_CONFIG, every later RunConfig() makes its Estimator a worker in a cluster)",
    fix="`monkeypatch.setenv('TF_CONFIG', ...)` (or `monkeypatch.delenv`), which puts it back after the test",
    symptoms=("TF_CONFIG", "cluster", "task_type", "worker"),
    compared=True,
)
SUMMARY_STATE = LeakKind(
    code="EI304",
    name="summary-state",
    meaning="tf.summary state was left set: a default writer (writer.set_as_default()), the default step "
    "(tf.summary.experimental.set_step) or tf.summary.record_if(...) left entered; later summaries go there",
    fix="`with writer.as_default(step):` and `with tf.summary.record_if(...):`, or set_step(None) in a try/finally",
    symptoms=("summary", "Resource", "does not exist", "step"),
    compared=True,
)
OPEN_SCOPE = LeakKind(
    code="EI305",
    name="open-scope",
    meaning="a scope was entered and never exited (tf.name_scope, tf.device, a tf.distribute strategy's "
    "scope(), tf.distribute.experimental_set_strategy): later tests build inside it",
    fix="use a `with` block so the scope is always exited; experimental_set_strategy(None) in a finally",
    symptoms=("name_scope", "device", "strategy", "Mixing different tf.distribute.Strategy objects"),
    compared=True,
)
BEHAVIOUR_SWITCH = LeakKind(
    code="EI306",
    name="behaviour-switch",
    meaning="a TF1/TF2 behaviour switch was flipped and left so (disable_v2_behavior, disable_tensor_equality, "
    "disable_v2_tensorshape, disable_control_flow_v2, disable_resource_variables, NumPy behaviour, "
    "asynchronous execution, log_device_placement): every later test runs with it",
    fix="flip it once for the whole suite in conftest.py, or put it back in a try/finally or a fixture's teardown",
    symptoms=("Tensor is unhashable", "TensorShape", "Dimension", "RefVariable", "has no attribute 'T'", "cond"),
    compared=True,
)
REGISTRY = LeakKind(
    code="EI307",
    name="registry",
    meaning="a process-wide registry was changed and not restored: Keras custom objects (get_custom_objects(), "
    "a custom_object_scope left entered), absl / tf.compat.v1.flags flag values, or the global default graph's "
    "collections (tf.compat.v1.add_to_collection, get_collection_ref(...).append)",
    fix="`with keras.utils.custom_object_scope(...):`; for flags, absl.testing.flagsaver "
    "(`@flagsaver.flagsaver` or `with flagsaver.flagsaver(name=value):`) or monkeypatch.setattr(FLAGS, ...); "
    "for collections, a private graph (`tf_graph` fixture or `with tf.Graph().as_default():`)",
    symptoms=("Unknown layer", "Unknown object", "custom_objects", "flag"),
    compared=True,
)
IRREVERSIBLE = LeakKind(
    code="EI308",
    name="irreversible-state",
    meaning="the test changed process-wide state TensorFlow cannot undo in-process (tf.data debug mode, a "
    "started tf.distribute.Server, visible devices, memory growth, thread pools): every later test in this "
    "process runs with it",
    fix="run that test in a process of its own: a separate pytest invocation (`pytest path::test`), or "
    "pytest-forked's @pytest.mark.forked on pytest 8 (pytest-forked 1.7.5 fails every test on pytest 9.2)",
    cleanable=False,
    compared=True,
)

KERAS_TESTCASE_STATE = LeakKind(
    code="EI309",
    name="keras-testcase-state",
    meaning="(tidied) a test of Keras 3's own TestCase (keras.src.testing.TestCase) changed Keras' global "
    "state (the dtype policy, interactive logging, ...); the next such test's setUp resets it "
    "(clear_session()), the plugin right after the test, so a plain test that follows starts clean",
    fix="nothing to fix: this is Keras' own contract",
    severity="info",
    tidy_in_warn=False,
    pollutes=False,
)

KINDS = (
    GLOBAL_CONFIG,
    ENVIRONMENT,
    SUMMARY_STATE,
    OPEN_SCOPE,
    BEHAVIOUR_SWITCH,
    REGISTRY,
    IRREVERSIBLE,
    KERAS_TESTCASE_STATE,
)
_BY_NAME = {kind.name: kind for kind in KINDS}

# Environment variables TF or Keras read anew at every call, so that one a test leaves set reaches every later
# test (and every process a later test starts). Those read once per process, or only by code that is not
# run in a test process, are left out (docs/watched-state.md says each one and why).
_ENV = (
    "TF_CONFIG",  # RunConfig(), the cluster resolvers and multi-worker strategies: a member of a cluster
    "TF_USE_LEGACY_KERAS",  # which Keras tf.keras is, decided at its first use (and in every subprocess)
    "KERAS_BACKEND",  # Keras 3's backend: keras.config.set_backend() writes it, re-imports and subprocesses read it
    "AUTOGRAPH_STRICT_CONVERSION",  # autograph raises instead of running a function unconverted
    "AUTOGRAPH_VERBOSITY",  # autograph's log level, read at every log call (unless set_verbosity was called)
)
_WATCHED = frozenset(_ENV)
_SEEN = pytest.StashKey[tuple[Any, ...]]()
_SITES = pytest.StashKey[dict[str, tuple[Site, ...]]]()  # where the scope last set or removed a watched variable

# os.environ.get() of a missing variable costs ~1.5 us (a KeyError raised and caught inside Mapping.get):
# the mapping's own dict, keyed as os.environ keys it, is read instead (~0.1 us), as os.environ itself does.
_DATA: Any = getattr(os.environ, "_data", None)
_encode: Any = getattr(os.environ, "encodekey", None)
_KEYS = tuple(map(_encode, _ENV)) if _DATA is not None and _encode is not None else ()


def _env() -> tuple[Any, ...]:
    """The watched variables' values, compared as os.environ stores them (bytes on POSIX)."""
    if _KEYS:
        return tuple(map(_DATA.get, _KEYS))
    return tuple(map(os.environ.get, _ENV))


def _env_of(environ: dict[Any, Any]) -> tuple[Any, ...]:
    """The watched variables' values in a copy of ``os.environ``'s own mapping (``scopes.ENVIRON``)."""
    return tuple(map(environ.get, _KEYS or _ENV))


def _decoded(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode(sys.getfilesystemencoding(), "surrogateescape")  # as os.environ decodes
    return value  # type: ignore[no-any-return]


def _since(scope: Scope, late: bool) -> tuple[str, str]:
    """How a finding words the old value's moment (``was X <when>``) and the change's (``changed <during>``):
    the scope's start, or, when TF/Keras was first imported inside the scope (``late``), that import."""
    if late:
        imported = f"TensorFlow/Keras was imported in this {scope.kind}"
        return f"when {imported}", f"since {imported}"
    return f"before the {scope.kind}", f"during the {scope.kind}"


def _shown(name: str, value: Any) -> str:
    """A value short enough to be read in a summary line (the whole of a TF_CONFIG is in the test)."""
    text = _decoded(value)
    if text is None:
        return "unset"
    if name == "TF_CONFIG":
        summary = _cluster(text)
        if summary:
            return f"set ({summary})"
    return repr(text) if len(text) <= 40 else f"{text[:37]!r}... ({len(text)} characters)"


def _cluster(text: str) -> str:
    """What a TF_CONFIG makes of this process: ``a cluster of 1 chief, 2 worker; this process is worker 0``."""
    try:
        config = json.loads(text)
        jobs = ", ".join(f"{len(tasks)} {job}" for job, tasks in config.get("cluster", {}).items())
        task = config.get("task", {})
    except (ValueError, AttributeError, TypeError):
        return ""
    if not jobs:
        return ""
    me = f"; this process is {task.get('type')} {task.get('index', 0)}" if task.get("type") else ""
    return f"a cluster of {jobs}{me}"


def _note_environ_write(key: Any) -> None:
    scope = scopes.current()
    if scope is not None:
        scope.stash.setdefault(_SITES, {})[key] = _sites.user_stack(3)


def _watch_environ_writes() -> None:
    """Record where a test sets or removes a watched variable (``os.environ[...] = ...``, ``monkeypatch``,
    ``pop``, ``update``: all go through the mapping's ``__setitem__`` / ``__delitem__``), so that EI303
    names it. Once per process; a write outside any test, or of another variable, costs one set lookup."""
    cls: Any = type(os.environ)
    if getattr(cls.__setitem__, "__estimator_isolation__", False):
        return
    setitem, delitem = cls.__setitem__, cls.__delitem__

    def __setitem__(self: Any, key: Any, value: Any) -> None:
        setitem(self, key, value)
        if key in _WATCHED and scopes._active:
            try:
                _note_environ_write(key)
            except Exception as exc:
                problems.report(f"environment tracking failed: {exc!r}")

    def __delitem__(self: Any, key: Any) -> None:
        delitem(self, key)
        if key in _WATCHED and scopes._active:
            try:
                _note_environ_write(key)
            except Exception as exc:
                problems.report(f"environment tracking failed: {exc!r}")

    wrapper: Any
    for name, wrapper, original in (("__setitem__", __setitem__, setitem), ("__delitem__", __delitem__, delitem)):
        functools.update_wrapper(wrapper, original)
        wrapper.__estimator_isolation__ = True
        setattr(cls, name, wrapper)


class TFStateCheck:
    name = "estimator_isolation.tf_state"

    def __init__(self) -> None:
        _tf.state.install(_tf.entries.ENTRIES)
        _watch_environ_writes()
        self._env_at_import = _env()
        self._replaced: dict[Any, Any] = {}  # by entry or variable: the value a leak left in place replaced
        # What Keras 3's own TestCase resets at every setUp: a container's items, and the entries it knows.
        self._keras_resets = {
            known
            for entry in _tf.entries.ENTRIES
            if getattr(entry.container, "keras_testcase_resets", False)
            for known in (entry, *entry.container.known.values())
        }

    @check_hook()
    def pytest_estimator_isolation_snapshot(self, scope: Scope) -> None:
        scope.stash[_SEEN] = _env()

    @check_hook()
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        stash = scope.stash
        seen = stash.get(_SEEN, None)
        late = seen is None  # the check began inside this scope: TF/Keras was imported in it
        if late and scopes.ENVIRON in stash:  # the environment as the test started, noted before TF
            seen = _env_of(stash[scopes.ENVIRON])
        touched = stash.get(_tf.state.TOUCHED, None)
        if touched is None and (seen is None or seen == _env()):
            return []
        if seen is None:
            leaks = self._environment(scope, self._env_at_import, _since(scope, late=True)[0])
        else:
            leaks = self._environment(scope, seen, _since(scope, late=False)[0])
        if touched:
            del stash[_tf.state.TOUCHED]  # judged once (a fixture failing in setup is judged at once)
            for entry, change in touched.items():
                leaks.extend(self._entry(scope, entry, change, late))
        return leaks

    def _environment(self, scope: Scope, before: tuple[str | None, ...], when: str) -> list[Leak]:
        """EI303: the watched variables that differ from ``before`` (their values before the scope, as
        :func:`_env` reads them), each with where the scope last wrote it, if it went through os.environ."""
        leaks = []
        sites = scope.stash.get(_SITES, {})
        for name, old, new in zip(_ENV, before, _env()):
            if old == new or self._put_back(name, old, new):
                continue
            what = f"os.environ[{name!r}] is {_shown(name, new)}, was {_shown(name, old)} {when}"
            stack = sites.get(name, ())
            where = stack[0] if stack else None
            leaks.append(Leak(ENVIRONMENT, scope.owner, what, where, stack, handle=("env", name, _decoded(old))))
        return leaks

    def _put_back(self, key: Any, old: Any, new: Any, same: Any = None) -> bool:
        """``new`` is what an earlier leak, left in place, replaced: this scope put it back."""
        if key not in self._replaced:
            self._replaced[key] = old
            return False
        replaced = self._replaced[key]
        if same(replaced, new) if same is not None else replaced == new:
            del self._replaced[key]
            return True
        return False

    def _entry(self, scope: Scope, entry: state.Entry, change: state.Change, late: bool) -> list[Leak]:
        when, during = _since(scope, late)
        try:
            now = entry.read()
        except Exception:  # no longer readable (a module torn down): nothing to compare
            return []
        if entry.container is not None:  # what changed inside it, item by item
            return self._items(scope, entry, change, now, when)
        old = change.before
        if entry.same(old, now):
            return []
        if entry.contexts:
            return [
                Leak(
                    _BY_NAME[entry.kind],
                    scope.owner,
                    f"{entry.name} entered and never exited; {entry.undo}",
                    o.stack[0] if o.stack else None,
                    o.stack,
                    subject=entry.name,
                    handle=("context", entry, o),
                )
                for o in now
                if o not in old
            ]
        if self._put_back(entry, old, now, entry.same):
            return []
        shown = entry.show(old)
        detail = _tf.entries.DETAILS.get(entry)
        if detail is not None:  # a registry: what in it changed
            what = f"{entry.name} changed {during}: {detail(old, now)}; {entry.undo.format(old=shown)}"
        elif entry.put is None:
            what = (
                f"{entry.name}: {entry.show(now)}, was {shown} {when}; TensorFlow cannot undo this in-process, "
                "every later test in this process runs with it"
            )
        else:
            what = f"{entry.name} is {entry.show(now)}, was {shown} {when}; {entry.undo.format(old=shown)}"
        stack = change.stack
        kind = self._kind(scope, entry, _BY_NAME[entry.kind])
        return [Leak(kind, scope.owner, what, stack[0] if stack else None, stack, handle=("value", entry, old))]

    def _kind(self, scope: Scope, entry: state.Entry, kind: LeakKind) -> LeakKind:
        """A change Keras 3's own TestCase resets at the next test's setUp is Keras' contract (EI309)."""
        if entry in self._keras_resets and kind is not IRREVERSIBLE and _tf.is_keras_testcase(scope.cls):
            return KERAS_TESTCASE_STATE
        return kind

    def _items(self, scope: Scope, entry: state.Entry, change: state.Change, now: Any, when: str) -> list[Leak]:
        """What changed inside a container (an item the table knows is its entry's to report)."""
        container = entry.container
        if container.testcase_resets and _tf.is_tf_testcase(scope.cls):
            return []  # TF's own contract: the next TestCase's setUp resets it (EI106's for ops)
        stack = change.stack
        leaks = []
        for item in container.changed(change.before, now):
            key, old, new = item
            if self._put_back((entry, key), old, new, _tf.containers.same):
                continue
            what = container.what(key, old, new, when)
            if container.irreversible(key):
                kind = IRREVERSIBLE
                what += "; TensorFlow cannot undo this in-process, every later test in this process runs with it"
            else:
                kind = self._kind(scope, entry, _BY_NAME[container.kind])
                setter = container.setter(key, old)
                what += f"; set it back with {setter}" if setter else f"; {container.fix(key)}"
            subject = f"{container.title} {key}"
            where = stack[0] if stack else None
            leaks.append(Leak(kind, scope.owner, what, where, stack, subject=subject, handle=("item", entry, item)))
        return leaks

    @check_hook(tryfirst=True)  # tryfirst: a default writer is unset before the writers check closes it
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        contexts = [leak.handle[2] for leak in leaks if leak.handle[0] == "context"]
        if contexts:
            _tf.state.exit_opened(contexts)
        with _tf.state.quiet():
            for leak in leaks:
                what, entry, old = leak.handle
                try:
                    if what == "env":
                        if old is None:
                            os.environ.pop(entry, None)
                        else:
                            os.environ[entry] = old
                    elif what == "value" and entry.put is not None:
                        entry.put(old)
                    elif what == "item":
                        entry.container.put(old.key, old.old)
                    else:
                        continue
                except Exception as exc:
                    problems.report(f"could not undo {getattr(entry, 'name', entry)}: {exc!r}")
                    continue
                key = (entry, old.key) if what == "item" else entry
                if key in self._replaced:
                    del self._replaced[key]  # every leak of it is undone

    @check_hook()
    def pytest_estimator_isolation_still_in_place(self, leak: Leak) -> bool | None:
        if leak.kind not in KINDS:
            return None
        what: str
        entry: Any
        what, entry, old = leak.handle
        try:
            if what == "env":
                return bool(os.environ.get(entry) != old)  # old: decoded
            if what == "context":
                return bool(old in _tf.state.opened(entry.name))
            if what == "item":
                return not _tf.containers.same(old.old, entry.container.read(old.key))
            return not entry.same(old, entry.read())
        except Exception:
            return None


__all__ = ["KINDS", "TFStateCheck"]


def make(run: RunInfo) -> TFStateCheck:
    return TFStateCheck()
