"""Sessions that outlive their test."""

import pytest
import tensorflow as tf


def test_open_session():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None])
        y = x * 2.0
    sess = tf.compat.v1.Session(graph=graph)  # never closed: its threads and memory stay
    assert list(sess.run(y, {x: [1.0]})) == [2.0]


def test_interactive_session():
    # Notebook habit: the InteractiveSession stays the default session (and keeps its graph entered)
    # for every later test.
    sess = tf.compat.v1.InteractiveSession(graph=tf.Graph())
    x = tf.constant([1.0, 2.0])
    assert sess.graph is x.graph
    assert list((x * 2.0).eval()) == [2.0, 4.0]


@pytest.mark.needs("estimator")
def test_session_config_from_the_article():
    # The seed article's advice, RunConfig(session_config=sess.graph.as_graph_def()), raises
    # ValueError (a GraphDef is not a ConfigProto), and the session it opens is never closed.
    sess = tf.compat.v1.Session()
    with pytest.raises(ValueError, match="session_config must be instance of ConfigProto"):
        tf.estimator.RunConfig(session_config=sess.graph.as_graph_def())
