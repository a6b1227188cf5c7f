"""What the plugin's own tests share: markers for what the environment has, and the inner-run flags."""

from __future__ import annotations

import importlib.util

import pytest

HAS_TF = importlib.util.find_spec("tensorflow") is not None
HAS_ESTIMATOR = importlib.util.find_spec("tensorflow_estimator") is not None
HAS_XDIST = importlib.util.find_spec("xdist") is not None
HAS_RANDOMLY = importlib.util.find_spec("pytest_randomly") is not None

requires_tf = pytest.mark.skipif(not HAS_TF, reason="needs tensorflow")
requires_estimator = pytest.mark.skipif(not HAS_ESTIMATOR, reason="needs tf.estimator (TensorFlow <= 2.15)")
requires_xdist = pytest.mark.skipif(not HAS_XDIST, reason="needs pytest-xdist")
requires_randomly = pytest.mark.skipif(not HAS_RANDOMLY, reason="needs pytest-randomly")

# The inner runs must not be shuffled or cached by plugins of the outer environment.
QUIET = ("-p", "no:randomly", "-p", "no:cacheprovider")
