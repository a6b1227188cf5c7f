"""Estimator model_dir hazards. Each test passes, alone or in any order, without the plugin: the harm
is silent. Run with ``--estimator-isolation`` to see each one flagged, with its fix."""

import pytest
import tensorflow as tf

pytestmark = pytest.mark.needs("estimator")  # skipped on TF >= 2.16, with its reason

MODEL_DIR = "model_dir"  # relative: lands in the directory pytest runs from, and outlives the run


def test_train(feature_columns, input_fn):
    estimator = tf.estimator.LinearRegressor(feature_columns, model_dir=MODEL_DIR)
    estimator.train(input_fn, steps=2)
    assert estimator.get_variable_value("linear/linear_model/x/weights")[0, 0] > 0


def test_train_again(feature_columns, input_fn):
    # The seed article says a second Estimator on the same model_dir raises RuntimeError. It raises
    # nothing: it restores the checkpoint test_train left there and trains on from it (a warm start).
    estimator = tf.estimator.LinearRegressor(feature_columns, model_dir=MODEL_DIR)
    estimator.train(input_fn, steps=2)
    step = estimator.get_variable_value("global_step")
    print(f"global_step after training 2 steps: {step} (more than 2: warm-started from an earlier test)")
    assert estimator.get_variable_value("linear/linear_model/x/weights")[0, 0] > 0


def test_finetune(trained_model_dir, feature_columns, input_fn):
    # Fine-tunes the session's trained model in place: every test after this one that uses
    # trained_model_dir gets the fine-tuned weights, so results depend on test order.
    before = tf.train.load_variable(trained_model_dir, "global_step")
    estimator = tf.estimator.LinearRegressor(feature_columns, model_dir=trained_model_dir)
    estimator.train(input_fn, steps=1)
    assert estimator.get_variable_value("global_step") == before + 1


def test_no_model_dir(feature_columns, input_fn):
    # No model_dir: TensorFlow trains in a fresh directory under /tmp and never deletes it.
    estimator = tf.estimator.LinearRegressor(feature_columns)
    estimator.train(input_fn, steps=2)
    assert estimator.get_variable_value("global_step") == 2
