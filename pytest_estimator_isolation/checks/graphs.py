"""EI102-EI104: the global default graph and the graph-context stack.

In graph mode a later test then fails with ``ValueError: Variable w already exists, disallowed``,
``RuntimeError: Graph is finalized and cannot be modified``, or an ``AssertionError`` from
``reset_default_graph()`` about nested graphs."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from .. import _tf
from ..leaks import Leak, LeakKind
from ..scopes import Scope

GRAPH_OPS = LeakKind(
    code="EI102",
    name="default-graph-ops",
    meaning="ops or variables were added to the global default graph (a later test sees them)",
    fix="build in a private graph: the `tf_graph` fixture or `with tf.Graph().as_default():`",
    symptoms=("already exists, disallowed", "Tensor must be from the same graph"),
)
GRAPH_FINALIZED = LeakKind(
    code="EI103",
    name="finalized-default-graph",
    meaning="the global default graph was finalized (later tests cannot add ops to it)",
    fix="finalize only a private graph (`tf_graph` fixture), never tf.compat.v1.get_default_graph()",
    symptoms=("Graph is finalized and cannot be modified",),
)
GRAPH_CONTEXT = LeakKind(
    code="EI104",
    name="graph-context",
    meaning="a graph.as_default() context was entered and never exited (later tests build in that graph)",
    fix="use `with graph.as_default():` so the context is always exited, or the `tf_graph` fixture",
    symptoms=("to clear nested graphs", "executing_eagerly", "must be from the same graph"),
)

_BEFORE = pytest.StashKey[_tf.GraphState]()


class GraphsCheck:
    @pytest.hookimpl
    def pytest_estimator_isolation_kinds(self) -> Sequence[LeakKind]:
        return [GRAPH_OPS, GRAPH_FINALIZED, GRAPH_CONTEXT]

    @pytest.hookimpl
    def pytest_estimator_isolation_snapshot(self, scope: Scope) -> None:
        scope.stash[_BEFORE] = _tf.graph_state()

    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        before = scope.stash.get(_BEFORE, None)
        after = _tf.graph_state()
        if before is None or after == before:
            return []
        return [*_contexts(scope, before, after), *_default_graph(scope, before, after)]

    @pytest.hookimpl
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        reset = False
        for leak in leaks:
            if leak.kind is GRAPH_CONTEXT and leak.handle:
                _tf.exit_contexts(leak.handle)
            reset = reset or leak.kind in (GRAPH_OPS, GRAPH_FINALIZED, GRAPH_CONTEXT)
        if reset:
            _tf.reset_default_graph()
            # A generator suspended inside TF's own `context.graph_mode()` (e.g. a half-read
            # Estimator.predict() kept alive) also left this thread out of eager mode.
            if _tf.graph_state().stack == 0 and _tf.eager_default():
                _tf.set_thread_eager(True)


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
        what = f"the default-graph stack is {untracked} deeper than before the test"
        leaks.append(Leak(GRAPH_CONTEXT, scope.owner, what))
    return leaks


def _default_graph(scope: Scope, before: _tf.GraphState, after: _tf.GraphState) -> list[Leak]:
    graph = _tf.global_graph()
    if graph is None or after.graph is None:
        return []
    same = after.graph == before.graph
    leaks = []
    since = before.version if same else 0
    if after.version > since:
        count, sample = _tf.ops_since(graph, since)
        if count:
            names = ", ".join(repr(op.name) for op in sample) + (", ..." if count > len(sample) else "")
            stack = _tf.op_site(sample[0])
            what = f"{count} op(s) added to the global default graph: {names}"
            leaks.append(Leak(GRAPH_OPS, scope.owner, what, stack[0] if stack else None, stack))
    if after.finalized and not (same and before.finalized):
        stack = _tf.finalize_site(graph)
        what = "the global default graph is finalized"
        leaks.append(Leak(GRAPH_FINALIZED, scope.owner, what, stack[0] if stack else None, stack))
    return leaks
