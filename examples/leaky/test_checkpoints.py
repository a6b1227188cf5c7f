"""Training state on disk in today's TensorFlow (no Estimator: TF 2.16+ has none). Each test passes, alone
or in any order, without the plugin: the harm is silent. Run with ``--estimator-isolation`` to see each one
flagged, with its fix."""

import os
import tempfile

import numpy as np
import tensorflow as tf

CKPT_DIR = os.path.join(tempfile.gettempdir(), "estimator_isolation_demo_ckpts")  # a fixed name: outlives the run
WEIGHTS = "model.weights.h5"  # relative: lands in the directory pytest runs from


def train(directory, steps):
    """Train a counter for ``steps`` steps, resuming from the latest checkpoint in ``directory``."""
    step = tf.Variable(0)
    checkpoint = tf.train.Checkpoint(step=step)
    manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2)
    checkpoint.restore(manager.latest_checkpoint)  # resume if there is one
    for _ in range(steps):
        step.assign_add(1)
    manager.save()
    return int(step)


def test_checkpoint_train():
    assert train(CKPT_DIR, 3) >= 3


def test_checkpoint_train_again():
    step = train(CKPT_DIR, 2)
    print(f"step after training 2 steps from a fresh start: {step} (more than 2: resumed from an earlier test)")
    assert step >= 2


def fit(epochs=1):
    """Fit a tiny Keras model, starting from the last ModelCheckpoint if there is one."""
    model = tf.keras.Sequential([tf.keras.layers.Input((1,)), tf.keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile("sgd", "mse")
    if os.path.exists(WEIGHTS):
        model.load_weights(WEIGHTS)  # resume if there is one
    x = np.array([[1.0], [2.0], [3.0], [4.0]], "float32")
    checkpoint = tf.keras.callbacks.ModelCheckpoint(WEIGHTS, save_weights_only=True)
    return model.fit(x, 2 * x, epochs=epochs, verbose=0, callbacks=[checkpoint]).history["loss"][0]


def test_keras_fit():
    assert fit() > 0


def test_keras_fit_again():
    loss = fit()
    print(f"loss of the first epoch: {loss:.1f} (a fresh model's is 30.0: it started from an earlier test's weights)")
    assert loss > 0
