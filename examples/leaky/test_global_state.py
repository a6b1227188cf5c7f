"""Process-wide TensorFlow and Keras state a test changes and never sets back. Each test passes, and so does
every test after it: nothing fails where the leak starts. Every later test in the process runs with the
changed state, so its result depends on which tests ran before it (order, -k, -n). These work on every TF
the plugin supports (Keras 2 and Keras 3). Run with ``--estimator-isolation`` to see each one flagged."""

import json
import os

import numpy as np
import tensorflow as tf


def test_mixed_precision():
    # A later test's Keras layers compute in float16, and its exact float32 asserts start failing.
    tf.keras.mixed_precision.set_global_policy("mixed_float16")
    layer = tf.keras.layers.Dense(1)
    assert layer(np.ones((1, 2), "float32")).dtype == tf.float16


def test_numpy_behavior():
    # NumPy type promotion and methods (x.reshape, x.T) on every tensor of every later test.
    tf.experimental.numpy.experimental_enable_numpy_behavior()
    assert tf.constant([[1.0, 2.0]]).T.shape == (2, 1)


def swish2(x):
    return x * tf.sigmoid(2.0 * x)


def test_custom_object():
    # Registered for good: a later test's load_model finds "swish2" although it never registered it, and
    # passes only when it runs after this test.
    tf.keras.utils.get_custom_objects()["swish2"] = swish2
    assert tf.keras.utils.get_registered_object("swish2") is swish2


def test_tf_config():
    # Every later cluster resolver (and, on TF <= 2.15, every RunConfig()) reads this cluster.
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": ["localhost:2222"]}, "task": {"type": "worker", "index": 0}})
    assert tf.distribute.cluster_resolver.TFConfigClusterResolver().task_type == "worker"
