"""Keeps examples/ honest: every leaky example passes without the plugin and is flagged with its code by
it, and every fixed example is clean."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import requires_estimator, requires_tf

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

LEAKY = {
    "test_estimators.py::test_train": {"EI203"},
    "test_estimators.py::test_train_again": {"EI201", "EI203"},
    "test_estimators.py::test_finetune": {"EI202"},
    "test_estimators.py::test_no_model_dir": {"EI204"},
    "test_graphs.py::test_default_graph": {"EI102"},
    "test_graphs.py::test_legacy_graph_mode": {"EI105"},
    "test_graphs.py::test_finalized_default_graph": {"EI103"},
    "test_sessions.py::test_open_session": {"EI109"},  # a local: closed by garbage collection, a warning
    "test_sessions.py::test_interactive_session": {"EI101"},
    "test_sessions.py::test_session_config_from_the_article": {"EI109"},
    "test_writers.py::test_summary_writer": {"EI401"},
    "test_writers.py::test_tf_summary_writer": {"EI401"},
    "test_checkpoints.py::test_checkpoint_train": {"EI207"},
    "test_checkpoints.py::test_checkpoint_train_again": {"EI205", "EI207"},
    "test_checkpoints.py::test_keras_fit": {"EI207"},
    "test_checkpoints.py::test_keras_fit_again": {"EI205", "EI207"},
}
CHECKPOINTS = {test: codes for test, codes in LEAKY.items() if test.startswith("test_checkpoints.py")}  # any TF
WARNINGS = {"EI109", "EI204"}  # warning severity: reported, but the test does not fail in strict mode
FIXED = len(LEAKY)  # examples/fixed has the same tests, fixed


@pytest.fixture
def examples(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """examples/ copied into the pytester dir, which is also the inner run's working directory."""
    ignore = shutil.ignore_patterns("__pycache__", "model_dir")
    shutil.copytree(EXAMPLES, pytester.path, dirs_exist_ok=True, ignore=ignore)
    # A private temp dir: the dirs TF makes for model_dir=None land here, and the cwd's ./model_dir is
    # outside it, as in a real checkout.
    tmp = pytester.mkdir("tmp")
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    return pytester.path


@requires_estimator
def test_leaky_examples_pass_without_the_plugin(examples: Path, run_pytest) -> None:
    # A ./model_dir the demo did not create must survive it.
    mine = examples / "model_dir" / "keep.txt"
    mine.parent.mkdir()
    mine.write_text("not the demo's")
    result = run_pytest("leaky", "-s", "-p", "no:estimator_isolation")
    result.assert_outcomes(passed=len(LEAKY))
    result.stdout.fnmatch_lines(["*global_step after training 2 steps: 4 *"])  # the silent warm start
    result.stdout.fnmatch_lines(["*step after training 2 steps from a fresh start: 5 *"])  # a silent resume
    assert mine.read_text() == "not the demo's"


@requires_estimator
def test_the_plugin_flags_every_leaky_example_and_no_fixed_one(examples: Path, run_pytest) -> None:
    result = run_pytest("leaky", "fixed", "--estimator-isolation", "--estimator-isolation-report=report.json")
    failing = sum(1 for codes in LEAKY.values() if codes - WARNINGS)
    result.assert_outcomes(passed=len(LEAKY) + FIXED, errors=failing)
    assert result.ret == 1

    found: dict[str, set[str]] = {}
    for leak in json.loads((examples / "report.json").read_text())["leaks"]:
        assert leak["fix"], leak
        assert leak["outcome"] == ("warned" if leak["code"] in WARNINGS else "failed"), leak
        found.setdefault(leak["owner"], set()).add(leak["code"])
    assert found == {f"leaky/{test}": codes for test, codes in LEAKY.items()}  # and nothing in fixed/
    # The writers FileWriterCache kept for the Estimator tests: closed after each test, never blamed.
    tidied = json.loads((examples / "report.json").read_text())["tidied"]
    assert tidied["freed"]["writers"] == tidied["freed"]["threads"] > 0
    result.stdout.fnmatch_lines(["tidied quietly after * test(s)*EI402 cached-summary-writer*freed *"])
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_train_again*", "*EI201 shared-model-dir*", "*fix: *"])
    assert not (examples / "model_dir").exists()  # created by this run, so removed after it


@requires_tf
def test_the_checkpoint_examples_on_any_tf(examples: Path, run_pytest) -> None:
    """tf.train.Checkpoint and Keras, no Estimator: the same on TF 2.15 (Keras 2) and TF 2.21 (Keras 3)."""
    files = ("leaky/test_checkpoints.py", "fixed/test_checkpoints.py")
    result = run_pytest(files[0], "-s", "-p", "no:estimator_isolation")
    result.assert_outcomes(passed=len(CHECKPOINTS))
    result.stdout.fnmatch_lines(["*step after training 2 steps from a fresh start: 5 *"])
    result.stdout.fnmatch_lines(["*loss of the first epoch: * (a fresh model's is 30.0: *"])

    result = run_pytest(*files, "--estimator-isolation", "--estimator-isolation-report=report.json")
    result.assert_outcomes(passed=2 * len(CHECKPOINTS), errors=len(CHECKPOINTS))
    found: dict[str, set[str]] = {}
    for leak in json.loads((examples / "report.json").read_text())["leaks"]:
        found.setdefault(leak["owner"], set()).add(leak["code"])
    assert found == {f"leaky/{test}": codes for test, codes in CHECKPOINTS.items()}  # and nothing in fixed/
    assert not (examples / "model.weights.h5").exists()  # made by the run, so removed after it
    assert not (examples / "tmp" / "estimator_isolation_demo_ckpts").exists()
