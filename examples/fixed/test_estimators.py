"""The Estimator tests of ../leaky, fixed with the plugin's fixtures: every Estimator gets a fresh
model_dir of its own, so every test starts from step 0 whatever ran before it."""

import pytest
import tensorflow as tf

pytestmark = pytest.mark.needs("estimator")  # skipped on TF >= 2.16, with its reason


def test_train(make_estimator, feature_columns, input_fn):
    estimator = make_estimator(tf.estimator.LinearRegressor, feature_columns=feature_columns)
    estimator.train(input_fn, steps=2)
    assert estimator.get_variable_value("global_step") == 2  # now deterministic: a fresh start
    assert estimator.get_variable_value("linear/linear_model/x/weights")[0, 0] > 0


def test_train_again(make_estimator, feature_columns, input_fn):
    estimator = make_estimator(tf.estimator.LinearRegressor, feature_columns=feature_columns)
    estimator.train(input_fn, steps=2)
    assert estimator.get_variable_value("global_step") == 2


def test_finetune(trained_model_dir, copy_model_dir, make_estimator, feature_columns, input_fn):
    # Fine-tune a private copy; the shared trained model stays as the fixture made it.
    before = tf.train.load_variable(trained_model_dir, "global_step")
    model_dir = copy_model_dir(trained_model_dir)
    estimator = make_estimator(tf.estimator.LinearRegressor, model_dir=model_dir, feature_columns=feature_columns)
    estimator.train(input_fn, steps=1)
    assert estimator.get_variable_value("global_step") == before + 1
    assert tf.train.load_variable(trained_model_dir, "global_step") == before


def test_no_model_dir(make_estimator, feature_columns, input_fn):
    estimator = make_estimator(tf.estimator.LinearRegressor, feature_columns=feature_columns)
    estimator.train(input_fn, steps=2)
    assert estimator.get_variable_value("global_step") == 2
