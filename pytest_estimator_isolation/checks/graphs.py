"""EI102-EI104, EI106: the global default graph and the graph-context stack.

In graph mode a later test then fails with ``ValueError: Variable w already exists, disallowed``,
``RuntimeError: Graph is finalized and cannot be modified``, or an ``AssertionError`` from
``reset_default_graph()`` about nested graphs. A ``tf.test.TestCase`` may build in (and finalize) the
default graph: its ``setUp`` resets it, so that is TF's contract, tidied (EI106) rather than flagged."""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import pytest

from .. import _tf
from ..dispatch import check_hook
from ..leaks import Leak, LeakKind
from ..scopes import Scope
from . import RunInfo

GRAPH_OPS = LeakKind(
    code="EI102",
    name="default-graph-ops",
    meaning="ops or variables were added to the global default graph (a later test sees them)",
    fix="build in a private graph: the `tf_graph` fixture or `with tf.Graph().as_default():`",
    symptoms=("already exists, disallowed", "Tensor must be from the same graph"),
    compared=True,
)
GRAPH_FINALIZED = LeakKind(
    code="EI103",
    name="finalized-default-graph",
    meaning="the global default graph was finalized (later tests cannot add ops to it)",
    fix="finalize only a private graph (`tf_graph` fixture), never tf.compat.v1.get_default_graph()",
    symptoms=("Graph is finalized and cannot be modified",),
    compared=True,
)
GRAPH_CONTEXT = LeakKind(
    code="EI104",
    name="graph-context",
    meaning="a graph.as_default() context was entered and never exited (later tests build in that graph)",
    fix="use `with graph.as_default():` so the context is always exited, or the `tf_graph` fixture",
    symptoms=("to clear nested graphs", "executing_eagerly", "must be from the same graph"),
    compared=True,
)
TESTCASE_GRAPH = LeakKind(
    code="EI106",
    name="testcase-default-graph",
    meaning="(tidied) a tf.test.TestCase built in, or finalized, the default graph TF gives it; TF resets it "
    "at the next TestCase's setUp, the plugin right after the test, so a plain test that follows starts clean",
    fix="nothing to fix: this is TensorFlow's own contract",
    severity="info",
    pollutes=False,
)

KINDS = (GRAPH_OPS, GRAPH_FINALIZED, GRAPH_CONTEXT, TESTCASE_GRAPH)

_BEFORE = pytest.StashKey["_tf.GraphState"]()


class GraphsCheck:
    name = "estimator_isolation.graphs"

    def __init__(self) -> None:
        self._suite_eager: bool | None = None  # the execution mode the first test started in

    @check_hook()
    def pytest_estimator_isolation_snapshot(self, scope: Scope) -> None:
        scope.stash[_BEFORE] = _tf.graph_state()
        if self._suite_eager is None and scope.kind == "test":
            self._suite_eager = _tf.eager_default()

    @check_hook()
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        before = scope.stash.get(_BEFORE, _tf.PRISTINE)  # no snapshot: TF was imported during the scope
        after = _tf.graph_state()
        if after == before:
            return []
        leaks = [*_contexts(scope, before, after), *_default_graph(scope, before, after)]
        if self._suite_eager and _tf.eager_default() is False:
            # The suite runs eagerly, but eager execution is off: whoever switched it off has its EI105
            # (this scope, or an earlier test that left it in place: warn mode, an allowed kind). What
            # lands in the default graph meanwhile is that leak's consequence, not a leak of its own.
            leaks = [leak for leak in leaks if leak.kind not in (GRAPH_OPS, GRAPH_FINALIZED)]
        if leaks and _tf.is_tf_testcase(scope.cls):  # the class is looked up only when it matters
            leaks = [_under_contract(leak) if leak.kind in (GRAPH_OPS, GRAPH_FINALIZED) else leak for leak in leaks]
        return leaks

    @check_hook()
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        for leak in leaks:
            if leak.kind is GRAPH_CONTEXT and leak.handle:
                _tf.exit_contexts(leak.handle)
        _tf.reset_default_graph()
        # A generator suspended inside TF's own `context.graph_mode()` (e.g. a half-read
        # Estimator.predict() kept alive) also left this thread out of eager mode.
        if _tf.graph_state().stack == 0 and _tf.eager_default():
            _tf.set_thread_eager(True)

    @check_hook()
    def pytest_estimator_isolation_still_in_place(self, leak: Leak) -> bool | None:
        if leak.kind not in KINDS:
            return None
        if leak.kind is GRAPH_CONTEXT:
            return not leak.handle or any(cm in _tf.open_contexts(0) for cm in leak.handle)
        graph = _tf.global_graph()
        if graph is None or leak.handle is None or graph is not leak.handle():
            return False
        return bool(graph.finalized) if leak.kind is GRAPH_FINALIZED else True


def _under_contract(leak: Leak) -> Leak:
    what = f"{leak.what}; reset after the test (tf.test.TestCase contract)"
    return Leak(TESTCASE_GRAPH, leak.owner, what, leak.where, leak.stack)


def _contexts(scope: Scope, before: _tf.GraphState, after: _tf.GraphState) -> list[Leak]:
    if after.stack <= before.stack:
        return []
    opened = _tf.open_contexts(before.contexts)
    # A leaked InteractiveSession's own graph context is the session check's to report and undo.
    mine = [cm for cm in opened if not cm.by_session]
    untracked = (after.stack - before.stack) - len(opened)
    leaks = []
    if mine:
        innermost = mine[-1]
        what = (
            f"{len(mine)} graph.as_default() context(s) entered and never exited (tf.executing_eagerly() stays False)"
        )
        where = innermost.site[0] if innermost.site else None
        leaks.append(Leak(GRAPH_CONTEXT, scope.owner, what, where, innermost.site, handle=mine))
    if untracked > 0:
        what = f"the default-graph stack is {untracked} deeper than before the {scope.kind}"
        leaks.append(Leak(GRAPH_CONTEXT, scope.owner, what))
    return leaks


def _default_graph(scope: Scope, before: _tf.GraphState, after: _tf.GraphState) -> list[Leak]:
    graph = _tf.global_graph()
    if graph is None or after.graph is None:
        return []
    same = after.graph == before.graph
    leaks = []
    since = before.version if same else 0
    ref = weakref.ref(graph)
    if after.version > since:
        # Reading which ops were added, and where, must not stop the leak itself from being reported
        # (and so the default graph from being reset): TF objects differ between versions.
        unread: Exception | None = None
        try:
            count, sample = _tf.ops_since(graph, since)
        except Exception as exc:
            count, sample, unread = after.version - since, [], exc
        if count:
            names = ", ".join(repr(_tf.op_name(op)) for op in sample) + (", ..." if count > len(sample) else "")
            stack = _tf.op_site(sample[0]) if sample else ()
            what = f"{count} op(s) added to the global default graph: {names}"
            if unread is not None:
                what = f"the global default graph grew by {count} op(s) (their names could not be read: {unread!r})"
            leaks.append(Leak(GRAPH_OPS, scope.owner, what, stack[0] if stack else None, stack, handle=ref))
    if after.finalized and not (same and before.finalized):
        stack = _tf.finalize_site(graph)
        what = "the global default graph is finalized"
        leaks.append(Leak(GRAPH_FINALIZED, scope.owner, what, stack[0] if stack else None, stack, handle=ref))
    return leaks


def make(run: RunInfo) -> GraphsCheck:
    return GraphsCheck()
