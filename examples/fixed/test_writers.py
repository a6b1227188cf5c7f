"""The summary-writer tests of ../leaky, fixed: every writer is closed by the test that opened it."""

import pytest
import tensorflow as tf


def test_summary_writer(tmp_path):
    with tf.Graph().as_default() as graph:
        with tf.compat.v1.summary.FileWriter(str(tmp_path / "logs"), graph) as writer:
            writer.flush()


@pytest.mark.needs("tensorboard")
def test_tf_summary_writer(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "logs"))
    with writer.as_default():
        tf.summary.scalar("loss", 0.5, step=1)
    writer.close()


@pytest.mark.needs("tensorboard")
def test_default_writer(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "logs"))
    with writer.as_default():  # the default writer for this block only
        tf.summary.scalar("loss", 0.5, step=1)
    writer.close()
