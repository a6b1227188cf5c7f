"""Default-graph hazards: in eager mode nothing fails, yet the next test inherits the graph state."""

import tensorflow as tf


def test_default_graph():
    # Builds in the global default graph: every later test that uses it finds these ops (and, in
    # graph mode, "Variable ... already exists" errors for reused names).
    graph = tf.compat.v1.get_default_graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        y = tf.multiply(x, 2.0, name="y")
    with tf.compat.v1.Session(graph=graph) as sess:
        assert list(sess.run(y, {x: [1.0, 2.0]})) == [2.0, 4.0]


def test_legacy_graph_mode():
    # TF1-style code that switches eager execution off for the whole process, not for this test.
    tf.compat.v1.disable_eager_execution()
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None])
        y = x * 2.0
    with tf.compat.v1.Session(graph=graph) as sess:
        assert list(sess.run(y, {x: [1.0]})) == [2.0]


def test_finalized_default_graph():
    # Finalizes the global default graph to prove nothing adds ops: later tests cannot build in it.
    graph = tf.compat.v1.get_default_graph()
    graph.finalize()
    assert graph.finalized
