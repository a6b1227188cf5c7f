"""One baseline for every order and schedule: written once, it gates runs in random order (seeds 1-3)
and under -n 2, and writing it again gives the same bytes, and the JSON report says the same. These inner runs
import TensorFlow."""

from __future__ import annotations

import importlib.util
import json

import pytest
from helpers import requires_estimator, requires_xdist
from test_model_dirs import CONFTEST

HAS_RANDOMLY = importlib.util.find_spec("pytest_randomly") is not None

SHARED_ROOT = """

def shared_root(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base  # one dir for every xdist worker
"""

SHARED = """
from conftest import shared_root, train

def test_a(tmp_path_factory):
    train(str(shared_root(tmp_path_factory) / "shared_model"))

def test_b(tmp_path_factory):
    train(str(shared_root(tmp_path_factory) / "shared_model"))

def test_c(tmp_path_factory):
    train(str(shared_root(tmp_path_factory) / "shared_model"))
"""

OTHERS = """
import tensorflow as tf
from conftest import train

kept = []

def test_session_leak():
    kept.append(tf.compat.v1.Session())

def test_persistent():
    train("persistent_model")

def test_clean(model_dir):
    train(model_dir)
"""

BASELINE = {
    "schema": 2,
    "leaks": [
        {"kind": "open-session", "owner": "test_others.py::test_session_leak"},
        {"kind": "persistent-model-dir", "owner": "test_others.py::test_persistent"},
        {
            "kind": "shared-model-dir",
            "subject": "<tmp>/shared_model",
            "owners": ["test_shared.py::test_a", "test_shared.py::test_b", "test_shared.py::test_c"],
        },
    ],
}


@requires_estimator
@requires_xdist
@pytest.mark.skipif(not HAS_RANDOMLY, reason="needs pytest-randomly")
def test_one_baseline_gates_every_order_and_schedule(pytester, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(pytester.mkdir("systmp")))  # so ./persistent_model is outside temp dirs
    pytester.makeconftest(CONFTEST + SHARED_ROOT)
    pytester.makepyfile(test_shared=SHARED, test_others=OTHERS)
    baseline = pytester.path / "baseline.json"
    common = ("-p", "no:cacheprovider", "--estimator-isolation", f"--estimator-isolation-baseline={baseline}")

    def run_pytest(*args):
        return pytester.runpytest_subprocess(*common, *args)

    result = run_pytest(
        "-p", "randomly", "--randomly-seed=1", "-p", "no:xdist", "--estimator-isolation-update-baseline"
    )
    assert result.ret == 0, result.stdout.str()
    written = baseline.read_bytes()
    assert json.loads(written) == BASELINE

    # The next runs find ./persistent_model trained by the last one (a stale checkpoint): covered by its EI203.
    for seed in (2, 3):
        result = run_pytest("-p", "randomly", f"--randomly-seed={seed}", "-p", "no:xdist", "-rE")
        assert result.ret == 0, result.stdout.str()
        result.stdout.fnmatch_lines(["*EI202 stale-checkpoint*already held checkpoint*"])
        result.stdout.no_fnmatch_line("*fixed since the baseline*")
    result = run_pytest(
        "-p", "no:randomly", "-n", "2", "--dist", "loadfile", "--estimator-isolation-report=report.json"
    )
    assert result.ret == 0, result.stdout.str()
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["run"]["tensorflow"].startswith("2.")  # known in the workers only
    assert {leak["outcome"] for leak in report["leaks"]} == {"baselined"}
    assert report["fixed"] == []

    result = run_pytest(
        "-p", "randomly", "--randomly-seed=3", "-p", "no:xdist", "--estimator-isolation-update-baseline"
    )
    result.stdout.fnmatch_lines(["baseline *baseline.json is up to date (3 entries)"])
    assert baseline.read_bytes() == written
