"""What the leaky and the fixed examples share: one feature and y = 2x."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported

import pytest
import tensorflow as tf

tf.get_logger().setLevel("ERROR")


def _input_fn() -> tf.data.Dataset:
    x = [[1.0], [2.0], [3.0], [4.0]]
    return tf.data.Dataset.from_tensor_slices(({"x": x}, [[2 * row[0]] for row in x])).batch(4).repeat()


@pytest.fixture(scope="session")
def feature_columns() -> list:
    return [tf.feature_column.numeric_column("x")]


@pytest.fixture(scope="session")
def input_fn():
    return _input_fn
