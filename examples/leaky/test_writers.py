"""Summary writers left open. Each test passes without the plugin, but every run of it keeps an event file
open (and, for FileWriter, an EventLoggerThread running) until the process ends: a long suite runs out of
file descriptors ("Too many open files"). Run with ``--estimator-isolation`` to see each one flagged."""

import pytest
import tensorflow as tf


def test_summary_writer(tmp_path):
    with tf.Graph().as_default() as graph:
        writer = tf.compat.v1.summary.FileWriter(str(tmp_path / "logs"), graph)  # never closed
        writer.flush()


_writers = {}


def summary_writer(logdir):
    """A helper that reuses one writer per directory, and so keeps every writer it ever made."""
    if logdir not in _writers:
        _writers[logdir] = tf.summary.create_file_writer(logdir)
    return _writers[logdir]


@pytest.mark.needs("tensorboard")
def test_tf_summary_writer(tmp_path):
    with summary_writer(str(tmp_path / "logs")).as_default():
        tf.summary.scalar("loss", 0.5, step=1)


@pytest.mark.needs("tensorboard")
def test_default_writer(tmp_path):
    # Notebook style: the writer stays the default writer after the test. A later test's tf.summary calls
    # write into this test's directory, and once the writer is closed they raise (NotFoundError: Resource
    # ... does not exist).
    writer = tf.summary.create_file_writer(str(tmp_path / "logs"))
    writer.set_as_default()
    tf.summary.scalar("loss", 0.5, step=1)
    writer.close()
