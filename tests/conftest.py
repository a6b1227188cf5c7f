"""Fixtures for the plugin's own tests. Anything that imports TensorFlow runs in a subprocess
(``runpytest_subprocess``): TF's global state must not leak into this run."""

from __future__ import annotations

import os

import pytest
from helpers import QUIET

pytest_plugins = ["pytester"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture
def run(pytester: pytest.Pytester):
    """Run pytest on the pytester dir in a fresh interpreter: ``run("--estimator-isolation")``."""

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess(*QUIET, *args)

    return run
