"""The session tests of ../leaky, fixed: `tf_session` is closed after the test, and a session config
is a tf.compat.v1.ConfigProto."""

import pytest
import tensorflow as tf


def test_open_session(tf_graph, tf_session):
    x = tf.compat.v1.placeholder(tf.float32, [None])
    assert list(tf_session.run(x * 2.0, {x: [1.0]})) == [2.0]


def test_interactive_session(tf_graph, tf_session):
    # tf_session is the default session for the test body, so .eval() works as in a notebook.
    x = tf.constant([1.0, 2.0])
    assert list((x * 2.0).eval()) == [2.0, 4.0]


@pytest.mark.needs("estimator")
def test_session_config_from_the_article(model_dir):
    session_config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    config = tf.estimator.RunConfig(model_dir=model_dir, session_config=session_config)
    assert config.session_config.intra_op_parallelism_threads == 1
