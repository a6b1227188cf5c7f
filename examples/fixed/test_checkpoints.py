"""The checkpoint tests of ../leaky, fixed: every test saves under its own ``tmp_path``, so every test
starts from step 0 whatever ran before it, and nothing outlives the run."""

import numpy as np
import tensorflow as tf


def train(directory, steps):
    step = tf.Variable(0)
    checkpoint = tf.train.Checkpoint(step=step)
    manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2)
    checkpoint.restore(manager.latest_checkpoint)  # resumes only from this test's own checkpoints
    for _ in range(steps):
        step.assign_add(1)
    manager.save()
    return int(step)


def test_checkpoint_train(tmp_path):
    assert train(str(tmp_path / "ckpts"), 3) == 3  # now deterministic: a fresh start


def test_checkpoint_train_again(tmp_path):
    assert train(str(tmp_path / "ckpts"), 2) == 2
    assert train(str(tmp_path / "ckpts"), 2) == 4  # resuming from its own checkpoint is fine


def fit(weights, epochs=1):
    model = tf.keras.Sequential([tf.keras.layers.Input((1,)), tf.keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile("sgd", "mse")
    x = np.array([[1.0], [2.0], [3.0], [4.0]], "float32")
    checkpoint = tf.keras.callbacks.ModelCheckpoint(str(weights), save_weights_only=True)
    return model.fit(x, 2 * x, epochs=epochs, verbose=0, callbacks=[checkpoint]).history["loss"][0]


def test_keras_fit(tmp_path):
    assert fit(tmp_path / "model.weights.h5") == 30.0  # a fresh model (zero weights) on y = 2x


def test_keras_fit_again(tmp_path):
    assert fit(tmp_path / "model.weights.h5") == 30.0
