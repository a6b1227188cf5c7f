"""What the leaky and the fixed examples share: one feature and y = 2x."""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported

import pytest
import tensorflow as tf

tf.get_logger().setLevel("ERROR")


def _input_fn() -> tf.data.Dataset:
    x = [[1.0], [2.0], [3.0], [4.0]]
    return tf.data.Dataset.from_tensor_slices(({"x": x}, [[2 * row[0]] for row in x])).batch(4).repeat()


# What some examples need that a TensorFlow may lack: tests marked @pytest.mark.needs("estimator") or
# needs("tensorboard") skip there, with one reason each (raised here, so the summary shows one line per reason).
MISSING = {}
if not hasattr(tf, "estimator"):
    MISSING["estimator"] = (
        f"tf.estimator was removed in TF 2.16 (this is TF {tf.__version__}): "
        "the Estimator examples need TF 2.15 (Python 3.9-3.11)"
    )
if importlib.util.find_spec("tensorboard") is None:  # tf.summary.scalar raises TBNotInstalledError without it
    MISSING["tensorboard"] = "tf.summary.scalar needs TensorBoard, which tensorflow-cpu 2.21 does not install"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(what): skip where TensorFlow lacks 'estimator' or 'tensorboard'")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        if mark.args[0] in MISSING:
            pytest.skip(MISSING[mark.args[0]])


@pytest.fixture(scope="session")
def feature_columns() -> list:
    return [tf.feature_column.numeric_column("x")]


@pytest.fixture(scope="session")
def input_fn():
    return _input_fn
