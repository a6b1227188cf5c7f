"""The global default graph and the graph-context stack (``Graph.as_default`` / ``finalize`` patched)."""

from __future__ import annotations

import re
import sys
import threading
import weakref
from types import ModuleType
from typing import Any, NamedTuple

from .. import _sites, problems
from ..leaks import Site
from ._core import _OPS, _SESSION, _module, _wrap, patched, version


class GraphState(NamedTuple):
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

    def __init__(self, cm: Any, graph: Any, site: tuple[Site, ...], by_session: bool) -> None:
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
        stack = len(ops._default_graph_stack.stack)
        entered = getattr(_local, "entered", None)  # read around every test: not through _entered()
        contexts = len(entered) if entered else 0
        if graph is None:
            return GraphState(None, 0, False, contexts, stack)
        return GraphState(weakref.ref(graph), graph.version, graph.finalized, contexts, stack)
    except AttributeError as exc:
        problems.report(f"default-graph checks disabled on TF {version()}: {exc}")
        return PRISTINE


def is_tf_testcase(cls: type | None) -> bool:
    """Whether a test class is a ``tf.test.TestCase`` (whose ``setUp`` resets the default graph)."""
    test_util = _module("tensorflow.python.framework.test_util")
    base = getattr(test_util, "TensorFlowTestCase", None)
    return cls is not None and base is not None and issubclass(cls, base)


def placeholders_first(items: list[Any]) -> None:
    """Move TF's ``test_session`` placeholder (which every ``tf.test.TestCase`` inherits, pytest collects,
    and which only skips itself) to the front of its class's tests, in place. Otherwise it is often the
    last test of a module, and a ``setUpModule`` / ``setUpClass`` leak found at the teardown would be
    reported on it rather than on a test that ran."""
    test_util = _module("tensorflow.python.framework.test_util")
    placeholder = getattr(getattr(test_util, "TensorFlowTestCase", None), "test_session", None)
    if placeholder is None:
        return

    def is_placeholder(item: Any) -> bool:
        cls = getattr(item, "cls", None)
        return item.name == "test_session" and cls is not None and getattr(cls, "test_session", None) is placeholder

    if not any(is_placeholder(item) for item in items):
        return
    ordered: list[Any] = []
    start = 0
    for i in range(1, len(items) + 1):  # each run of consecutive items of one class, placeholders first
        if i == len(items) or items[i].parent is not items[start].parent:
            run = items[start:i]
            ordered.extend(sorted(run, key=lambda item: not is_placeholder(item)))
            start = i
    items[:] = ordered


def global_graph() -> Any:
    ops = _module(_OPS)
    return None if ops is None else _global_graph(ops)


# Keras 2's clear_session() in graph mode resets the default graph and puts its learning-phase
# placeholder in the fresh one: Keras' own bookkeeping, made by the documented way to reset Keras.
_KERAS_BOOKKEEPING = re.compile(r"keras_learning_phase(_\d+)?(/input)?$")


def ops_since(graph: Any, since_version: int, limit: int = 5) -> tuple[int, list[Any]]:
    """How many ops were added to ``graph`` after ``since_version``, and the first ``limit`` of them
    (``get_operations()`` lists ops in creation order); Keras' learning-phase placeholder is not counted."""
    added = [op for op in graph.get_operations()[since_version:] if not _KERAS_BOOKKEEPING.match(op_name(op))]
    return len(added), added[:limit]


def op_name(op: Any) -> str:
    try:
        return str(op.name)
    except Exception:
        return "?"


def op_site(op: Any) -> tuple[Site, ...]:
    """The user frames of an op's creation traceback. TF records one for every op it builds; an op
    imported from a GraphDef or a SavedModel has none (``op.traceback`` is None), and TF versions differ
    in what a frame is (a ``FrameSummary``-like object, or a ``(file, line, name, ...)`` tuple)."""
    try:
        frames = op.traceback
        out = []
        for frame in reversed(list(frames or ())):
            if isinstance(frame, tuple):
                filename, lineno, name = frame[0], frame[1], frame[2]
            else:
                filename, lineno, name = frame.filename, frame.lineno, frame.name
            if isinstance(filename, str) and _sites.is_user(filename):
                out.append(Site(_sites.relative(filename), int(lineno or 0), str(name)))
        return tuple(out[:8])
    except Exception:
        return ()


_finalized_at: weakref.WeakKeyDictionary[Any, tuple[Site, ...]] = weakref.WeakKeyDictionary()


def finalize_site(graph: Any) -> tuple[Site, ...]:
    return _finalized_at.get(graph, ())


def open_contexts(since: int) -> list[TrackedContext]:
    return _entered()[since:]


def exit_contexts(contexts: list[TrackedContext]) -> None:
    for cm in reversed(contexts):
        try:
            cm.__exit__(None, None, None)
        except Exception as exc:
            problems.report(f"could not exit a leaked graph context: {exc!r}")


def reset_default_graph() -> None:
    ops = _module(_OPS)
    if ops is None:
        return
    if ops._default_graph_stack.is_cleared():
        ops.reset_default_graph()
    else:  # contexts entered by code we did not see; start the thread's stack afresh
        ops._default_graph_stack.reset()


# TF enters a graph around every op it builds and always exits it again: those calls are most of the
# as_default() calls of a graph-mode test (~15 per small test), and tracking each would walk ~15 frames
# for a creation site. Their callers' code objects are compared by id (they live as long as TF).
_BALANCED_CALLERS = (
    ("tensorflow.python.framework.op_def_library", "_apply_op_helper"),
    (_OPS, "executing_eagerly_outside_functions"),
    (_OPS, "init_scope"),
    (_SESSION, "_FetchHandler.__init__"),  # every Session.run
)


def _code_of(module: str, name: str) -> Any:
    function: Any = sys.modules.get(module)
    for part in name.split("."):
        function = getattr(function, part, None)
    while hasattr(function, "__wrapped__"):  # tf_decorator / contextmanager wrappers
        function = function.__wrapped__
    return getattr(function, "__code__", None)


def _patch_graphs(ops: ModuleType) -> None:
    graph_cls: Any = ops.Graph
    original = graph_cls.as_default
    if patched(graph_cls, "as_default"):
        return
    interactive_init: list[Any] = []
    balanced: dict[int, Any] | None = None  # by id, the callers' code objects (kept alive), at the first call

    def as_default(self: Any) -> Any:
        nonlocal balanced
        cm = original(self)
        try:
            caller = sys._getframe(1).f_code
            if balanced is None:
                codes = [_code_of(module, name) for module, name in _BALANCED_CALLERS]
                balanced = {id(code): code for code in codes if code is not None}
            if id(caller) in balanced or self.building_function:  # tf.function traces exit their graphs
                return cm
            if not interactive_init:
                session = _module(_SESSION)
                if session is not None:
                    interactive_init.append(session.InteractiveSession.__init__.__code__)
            by_session = bool(interactive_init) and caller is interactive_init[0]
            # limit=1: the walk stops at the first user frame; Graph.as_default is called often
            return TrackedContext(cm, self, _sites.user_stack(2, limit=1), by_session)
        except Exception as exc:
            problems.report(f"graph-context tracking failed: {exc!r}")
            return cm

    finalize = graph_cls.finalize

    def finalize_(self: Any) -> None:
        finalize(self)
        try:
            if not self.building_function:
                _finalized_at[self] = _sites.user_stack(2, limit=1)
        except Exception as exc:
            problems.report(f"finalize tracking failed: {exc!r}")

    _wrap(graph_cls, "as_default", as_default)
    _wrap(graph_cls, "finalize", finalize_)
