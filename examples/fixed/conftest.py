from __future__ import annotations

import pytest
import tensorflow as tf


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory, feature_columns, input_fn) -> str:
    """A model trained once per session. Tests read it; to train it further they copy it first."""
    path = str(tmp_path_factory.mktemp("trained") / "model_dir")
    tf.estimator.LinearRegressor(feature_columns, model_dir=path).train(input_fn, steps=2)
    return path
