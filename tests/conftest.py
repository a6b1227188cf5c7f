"""Fixtures for the plugin's own tests, in two tiers. A test whose inner run imports TensorFlow carries the
`tf` marker (helpers.requires_tf and its kin) and runs that inner pytest in a fresh interpreter
(``runpytest_subprocess``): TF's global state must not leak into this run. Every other inner run is
in-process (``runpytest``), which is what makes the fast tier, ``pytest -m "not tf"``, run in seconds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from helpers import CHECKOUT, NEEDS, QUIET

import pytest_estimator_isolation

if not Path(pytest_estimator_isolation.__file__).resolve().is_relative_to(CHECKOUT):
    raise pytest.UsageError(
        f"these tests would test {pytest_estimator_isolation.__file__}, not the checkout {CHECKOUT}: run them "
        "from the checkout's root (python -m pytest), or put it first on PYTHONPATH"
    )

pytest_plugins = ["pytester"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip a `tf` test where the environment lacks what its marker names (TF, tf.estimator, Keras 2)."""
    for item in items:
        for mark in item.iter_markers("tf"):
            for need in mark.args:
                available, reason = NEEDS[need]
                if not available:
                    item.add_marker(pytest.mark.skip(reason=reason))


class _ImportsTensorFlow:
    """Registered in an in-process inner run: whether TensorFlow was imported by its end."""

    imported = False

    def pytest_unconfigure(self) -> None:
        self.imported = "tensorflow" in sys.modules


def checkout_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A subprocess imports the plugin from this checkout, not from whatever is installed (pytester runs it
    in its own directory, where the checkout is not on sys.path)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")])))


@pytest.fixture(autouse=True)
def _not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs print as on a developer's machine: pytest does not cut the short summary's lines to the
    terminal's width when ``CI`` or ``BUILD_NUMBER`` is set, and tests count lines of that output."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)


@pytest.fixture
def run_pytest(pytester: pytest.Pytester, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Run pytest on the pytester dir: ``run_pytest("--estimator-isolation")``. In a fresh interpreter for a `tf`
    test; in this process otherwise, and then the inner run must leave this process as it found it."""
    if request.node.get_closest_marker("tf") is not None:
        checkout_first(monkeypatch)

        def run_pytest(*args: str) -> pytest.RunResult:
            return pytester.runpytest_subprocess(*QUIET, *args)

        return run_pytest

    def run_in_process(*args: str) -> pytest.RunResult:
        meta_path = list(sys.meta_path)
        watch = _ImportsTensorFlow()
        # no_reraise_ctrlc: an inner KeyboardInterrupt ends that run (exit status 2), not this one.
        result = pytester.runpytest(*QUIET, *args, plugins=[watch], no_reraise_ctrlc=True)
        assert not watch.imported, "this inner run imported TensorFlow: mark the test `tf` (helpers.requires_tf)"
        assert sys.meta_path == meta_path, "the inner run left an import hook behind"
        return result

    return run_in_process
