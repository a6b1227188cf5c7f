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
