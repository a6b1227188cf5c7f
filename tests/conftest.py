"""Helpers for the plugin's own tests. Anything that imports TensorFlow runs in a subprocess
(``runpytest_subprocess``): TF's global state must not leak into this run."""

from __future__ import annotations

import importlib.util
import os

import pytest

pytest_plugins = ["pytester"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HAS_TF = importlib.util.find_spec("tensorflow") is not None
HAS_ESTIMATOR = importlib.util.find_spec("tensorflow_estimator") is not None
HAS_XDIST = importlib.util.find_spec("xdist") is not None

requires_tf = pytest.mark.skipif(not HAS_TF, reason="needs tensorflow")
requires_estimator = pytest.mark.skipif(not HAS_ESTIMATOR, reason="needs tf.estimator (TensorFlow <= 2.15)")
requires_xdist = pytest.mark.skipif(not HAS_XDIST, reason="needs pytest-xdist")

# The inner runs must not be shuffled or cached by plugins of the outer environment.
QUIET = ("-p", "no:randomly", "-p", "no:cacheprovider")


@pytest.fixture
def run(pytester: pytest.Pytester):
    """Run pytest on the pytester dir in a fresh interpreter: ``run("--estimator-isolation")``."""

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess(*QUIET, *args)

    return run
