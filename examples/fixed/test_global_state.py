"""The global-state tests of ../leaky, fixed: each change is set back by the test (a fixture, monkeypatch, a
`with` block), so the next test starts with TensorFlow's defaults whatever ran before it."""

import json

import numpy as np
import pytest
import tensorflow as tf


@pytest.fixture
def mixed_precision():
    old = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    tf.keras.mixed_precision.set_global_policy(old)


def test_mixed_precision(mixed_precision):
    layer = tf.keras.layers.Dense(1)
    assert layer(np.ones((1, 2), "float32")).dtype == tf.float16


def test_numpy_behavior():
    # NumPy behaviour cannot be switched off again (TF has no disable): write the NumPy spelling instead.
    assert tf.transpose(tf.constant([[1.0, 2.0]])).shape == (2, 1)


def swish2(x):
    return x * tf.sigmoid(2.0 * x)


def test_custom_object():
    with tf.keras.utils.custom_object_scope({"swish2": swish2}):
        assert tf.keras.utils.get_registered_object("swish2") is swish2


def test_tf_config(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["localhost:2222"]}, "task": {"type": "worker", "index": 0}}))
    assert tf.distribute.cluster_resolver.TFConfigClusterResolver().task_type == "worker"
