"""The graph tests of ../leaky, fixed: build in a private graph (the `tf_graph` fixture), which is the
default graph for the test body and graph mode without switching eager execution off."""

import tensorflow as tf


def test_default_graph(tf_graph, tf_session):
    x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
    y = tf.multiply(x, 2.0, name="y")
    assert list(tf_session.run(y, {x: [1.0, 2.0]})) == [2.0, 4.0]


def test_legacy_graph_mode(tf_graph, tf_session):
    assert not tf.executing_eagerly()  # inside tf_graph; the process stays in eager mode
    x = tf.compat.v1.placeholder(tf.float32, [None])
    assert list(tf_session.run(x * 2.0, {x: [1.0]})) == [2.0]


def test_finalized_default_graph(tf_graph):
    tf.constant(1.0)
    tf_graph.finalize()  # a private graph: finalizing it affects no other test
    assert tf_graph.finalized
