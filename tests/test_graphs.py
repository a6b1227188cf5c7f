"""Default-graph pollution, finalized graphs and unbalanced graph contexts, in graph mode (the mode in
which they make later tests fail), plus the legit patterns that must stay clean."""

from __future__ import annotations

import pytest
from helpers import KERAS_2, read_report, requires_keras2, requires_tf

pytestmark = requires_tf

GRAPH_MODE_CONFTEST = """
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
"""

# Each polluter is followed by the victim that fails with the real TF error when nothing cleans up.
POLLUTERS_AND_VICTIMS = """
import tensorflow as tf

contexts = []

def test_pollutes_default_graph():
    tf.compat.v1.get_variable("w", shape=[2])

def test_victim_same_variable_name():
    tf.compat.v1.get_variable("w", shape=[2])  # ValueError: Variable w already exists
    tf.compat.v1.reset_default_graph()

def test_finalizes_default_graph():
    tf.compat.v1.get_default_graph().finalize()

def test_victim_builds_after_finalize():
    tf.constant(1.0)  # RuntimeError: Graph is finalized and cannot be modified
    tf.compat.v1.reset_default_graph()

def test_enters_graph_and_never_exits():
    context = tf.Graph().as_default()
    context.__enter__()
    contexts.append(context)  # e.g. kept on a class or module, as setUp() code does

def test_victim_resets_default_graph():
    tf.compat.v1.reset_default_graph()  # AssertionError: ... nested graphs
    assert tf.compat.v1.get_default_graph().get_operations() == []
"""


def _graph_mode_suite(pytester):
    pytester.makeconftest(GRAPH_MODE_CONFTEST)
    pytester.makepyfile(POLLUTERS_AND_VICTIMS)


@pytest.mark.tf_range
def test_graph_mode_leaks_fail_alone_and_never_cascade(pytester, run_pytest):
    _graph_mode_suite(pytester)
    result = run_pytest("--estimator-isolation", "-v")
    result.assert_outcomes(passed=6, errors=3)
    result.stdout.fnmatch_lines_random(
        [
            "*EI102 default-graph-ops: * op(s) added to the global default graph: 'w*",
            "*test_*.py:6 in test_pollutes_default_graph",
            "*EI103 finalized-default-graph: the global default graph is finalized",
            "*test_*.py:13 in test_finalizes_default_graph",
            "*EI104 graph-context: 1 graph.as_default() context(s) entered and never exited*",
            "*test_*.py:20 in test_enters_graph_and_never_exits",
        ]
    )
    for victim in ("same_variable_name", "builds_after_finalize", "resets_default_graph"):
        result.stdout.fnmatch_lines([f"*test_victim_{victim} PASSED*"])


def test_without_the_plugin_the_victims_fail(pytester, run_pytest):
    """The hazard is real: proves the victims above only pass because of the cleanup."""
    _graph_mode_suite(pytester)
    result = run_pytest("-p", "no:estimator_isolation")
    result.assert_outcomes(passed=3, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*Variable w already exists, disallowed*",
            "*Graph is finalized and cannot be modified*",
            "*Do not use tf.reset_default_graph() to clear nested graphs*",
        ]
    )


def test_warn_mode_warns_and_changes_nothing(pytester, run_pytest):
    _graph_mode_suite(pytester)
    result = run_pytest("--estimator-isolation=warn")
    result.assert_outcomes(passed=3, failed=3)
    result.stdout.fnmatch_lines_random(
        ["*EstimatorIsolationWarning: EI102 default-graph-ops*", "*EstimatorIsolationWarning: EI103*", "*EI104*"]
    )


def test_legit_graph_patterns_are_clean(pytester, run_pytest):
    pytester.makeconftest(GRAPH_MODE_CONFTEST)
    pytester.makepyfile(
        """
        import pytest
        import tensorflow as tf

        def test_private_graph():
            with tf.Graph().as_default() as g:
                tf.compat.v1.get_variable("w", shape=[2])
                g.finalize()

        def test_fixture_graph(tf_graph, tf_session):
            x = tf.compat.v1.get_variable("w", shape=[2])
            tf_session.run(tf.compat.v1.global_variables_initializer())
            assert tf_session.run(x).shape == (2,)

        def test_resets_before_and_after():
            tf.compat.v1.reset_default_graph()
            tf.compat.v1.get_variable("w", shape=[2])
            tf.compat.v1.reset_default_graph()

        @pytest.fixture(scope="module")
        def shared_graph():
            g = tf.Graph()
            with g.as_default():
                yield g

        def test_module_fixture_holding_a_graph_context(shared_graph):
            assert tf.compat.v1.get_default_graph() is shared_graph

        def test_after_module_fixture(shared_graph):
            tf.constant(1.0)
        """
    )
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=5)


def test_eager_code_is_clean(pytester, run_pytest):
    pytester.makepyfile(
        """
        import tensorflow as tf

        def test_eager_math():
            assert tf.executing_eagerly()
            assert float(tf.reduce_sum(tf.ones([3]))) == 3.0

        def test_tf_function():
            f = tf.function(lambda x: x * 2)
            assert int(f(tf.constant(2))) == 4
        """
    )
    run_pytest("--estimator-isolation").assert_outcomes(passed=2)


TESTCASE = """
import pytest
import tensorflow as tf
from tensorflow.python.framework import test_util

kept = []


class GraphModeTest(tf.test.TestCase):
    @test_util.run_deprecated_v1
    def test_z_builds_in_the_default_graph(self):  # runs last: no later setUp resets the graph
        w = tf.compat.v1.get_variable("w", shape=[2])
        with self.cached_session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            self.assertAllEqual(self.evaluate(tf.shape(w)), [2])

    @test_util.run_deprecated_v1
    def test_monitored_session_finalizes_the_default_graph(self):
        tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.train.MonitoredSession() as sess:
            pass

    def test_leaks_a_session_testcase_does_not_close(self):
        kept.append(tf.compat.v1.Session(graph=tf.Graph()))


def test_plain_test_after_them_starts_clean():
    assert tf.executing_eagerly()
    assert tf.compat.v1.get_default_graph().get_operations() == []
"""


@pytest.mark.tf_range
def test_tf_testcase_contract_is_not_flagged_but_what_it_does_not_undo_is(pytester, run_pytest):
    pytester.makepyfile(TESTCASE)
    result = run_pytest("--estimator-isolation", "--estimator-isolation-report=report.json", "-p", "no:randomly")
    result.assert_outcomes(passed=4, skipped=1, errors=1)  # skipped: TestCase.test_session, "not a test"
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of GraphModeTest.test_leaks_a_session_testcase_does_not_close*",
            "1 leak(s) in mode strict: 1 EI101 open-session | 1 failed",
            "tidied quietly after * test(s) (TF's own state, not failures): 2 EI106 testcase-default-graph*",
        ]
    )
    data = read_report(pytester)
    assert [leak["code"] for leak in data["leaks"]] == ["EI101"]
    assert data["tidied"]["kinds"]["EI106 testcase-default-graph"] == 2
    # Without the plugin the plain test inherits the TestCase's graph: the control run proves the hazard.
    control = run_pytest("-p", "no:estimator_isolation", "-p", "no:randomly")
    control.assert_outcomes(passed=3, skipped=1, failed=1)


# Found on real suites (larq, DeepCTR): the reproducers, reduced.
@pytest.mark.tf_range
@requires_keras2
def test_keras_clear_session_in_graph_mode_is_not_a_default_graph_leak(pytester, run_pytest):
    pytester.makepyfile(
        KERAS_2
        + """
from tensorflow.python.eager import context


@pytest.fixture
def graph_mode():  # larq's conftest
    with context.graph_mode():
        sess = tf.compat.v1.Session()
        with sess.as_default():
            yield
            tf.keras.backend.clear_session()  # re-adds Keras' learning-phase placeholder
        sess.close()


def test_builds_in_graph_mode(graph_mode):
    assert tf.compat.v1.placeholder(tf.float32, shape=[1]).graph is tf.compat.v1.get_default_graph()
"""
    )
    run_pytest("--estimator-isolation").assert_outcomes(passed=1)


def test_ops_imported_from_a_graph_def_are_reported_and_reset(pytester, run_pytest):
    """Imported ops have no creation traceback (``op.traceback is None``): the check still reports them,
    and still resets the default graph for the next test."""
    pytester.makepyfile(
        """
        import tensorflow as tf

        def test_imports_into_the_default_graph():
            g = tf.Graph()
            with g.as_default():
                tf.constant(1.0, name="c")
            tf.compat.v1.import_graph_def(g.as_graph_def(), name="imported")

        def test_victim_sees_an_empty_default_graph():
            assert tf.compat.v1.get_default_graph().get_operations() == []
        """
    )
    result = run_pytest("--estimator-isolation", "-v")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*EI102 default-graph-ops: 1 op(s) added to the global default graph*"])
    result.stdout.no_fnmatch_line("*EI900*")


class _Frame:
    def __init__(self, filename, lineno, name):
        self.filename, self.lineno, self.name = filename, lineno, name


class _Op:
    def __init__(self, traceback):
        self._traceback = traceback

    @property
    def traceback(self):
        if isinstance(self._traceback, Exception):
            raise self._traceback
        return self._traceback


def test_op_site_reads_every_shape_of_traceback_tf_gives():
    """TF versions give frame objects or tuples; imported ops give None; a broken one gives nothing."""
    import os

    from pytest_estimator_isolation._tf import op_site
    from pytest_estimator_isolation.leaks import Site

    user = os.path.join(os.getcwd(), "test_x.py")
    tf_file = os.sep + os.path.join("site-packages", "tensorflow", "python", "ops.py")
    assert op_site(_Op(None)) == ()
    assert op_site(_Op(RuntimeError("gone"))) == ()
    assert op_site(_Op([_Frame(user, 3, "test_x"), _Frame(tf_file, 9, "constant")])) == (
        Site("test_x.py", 3, "test_x"),
    )
    assert op_site(_Op([(user, 4, "test_y", "line"), (tf_file, 9, "constant", "")])) == (
        Site("test_x.py", 4, "test_y"),
    )
