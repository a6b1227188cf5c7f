"""Keeps examples/ honest on every TF: every leaky example that runs here passes without the plugin and is
flagged with its code by it, every fixed example is clean, what this TF lacks skips with one reason, and the
lines examples/README.md quotes for this TF are the lines the demo prints."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from helpers import HAS_ESTIMATOR, requires_tf

pytestmark = requires_tf

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None

# The leaky examples and the codes each one gets, by what they need. examples/fixed has the same tests, fixed.
ESTIMATOR = {  # tf.estimator: TF <= 2.15 (TF 2.16 removed it); elsewhere skipped, with one reason
    "test_estimators.py::test_train": {"EI203"},
    "test_estimators.py::test_train_again": {"EI201", "EI203"},
    "test_estimators.py::test_finetune": {"EI202"},
    "test_estimators.py::test_no_model_dir": {"EI204"},
    "test_sessions.py::test_session_config_from_the_article": {"EI109"},
}
TENSORBOARD = {  # tf.summary.scalar: TensorBoard, which tensorflow-cpu 2.21 does not install (the demo extra does)
    "test_writers.py::test_tf_summary_writer": {"EI401"},
    "test_writers.py::test_default_writer": {"EI304"},
}
EVERY_TF = {
    "test_global_state.py::test_mixed_precision": {"EI301"},
    "test_global_state.py::test_numpy_behavior": {"EI306"},
    "test_global_state.py::test_custom_object": {"EI307"},
    "test_global_state.py::test_tf_config": {"EI303"},
    "test_graphs.py::test_default_graph": {"EI102"},
    "test_graphs.py::test_legacy_graph_mode": {"EI105"},
    "test_graphs.py::test_finalized_default_graph": {"EI103"},
    "test_sessions.py::test_open_session": {"EI109"},  # a local: closed by garbage collection, a warning
    "test_sessions.py::test_interactive_session": {"EI101"},
    "test_writers.py::test_summary_writer": {"EI401"},
    "test_checkpoints.py::test_checkpoint_train": {"EI207"},
    "test_checkpoints.py::test_checkpoint_train_again": {"EI205", "EI207"},
    "test_checkpoints.py::test_keras_fit": {"EI207"},
    "test_checkpoints.py::test_keras_fit_again": {"EI205", "EI207"},
}
# What runs here (the release check imports these three names too).
LEAKY = {**EVERY_TF, **(ESTIMATOR if HAS_ESTIMATOR else {}), **(TENSORBOARD if HAS_TENSORBOARD else {})}
WARNINGS = {"EI109", "EI204"}  # warning severity: reported, but the test does not fail in strict mode
FIXED = len(LEAKY)
SKIPPED = {  # the reason each group skips with, and how many tests (leaky and fixed) it skips here
    "tf.estimator was removed in TF 2.16": 0 if HAS_ESTIMATOR else 2 * len(ESTIMATOR),
    "tf.summary.scalar needs TensorBoard": 0 if HAS_TENSORBOARD else 2 * len(TENSORBOARD),
}


def _tensorflow() -> str:
    for name in ("tensorflow-cpu", "tensorflow"):
        try:
            return version(name)
        except PackageNotFoundError:
            pass
    return "?"


# Which of examples/README.md's quoted outputs this environment prints (None: none of them, only the counts
# above are checked): the two TFs the `demo` extra installs, and TF 2.21 without TensorBoard.
if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true"):
    VARIANT = None
elif _tensorflow() == "2.15.1":
    VARIANT = "tf 2.15.1"
elif _tensorflow() == "2.21.0":
    VARIANT = "tf 2.21.0" if HAS_TENSORBOARD else "tf 2.21.0 without tensorboard"
else:
    VARIANT = None


@pytest.fixture
def examples(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """examples/ copied into the pytester dir, which is the inner run's working directory: `pytest examples`
    runs there as the README says."""
    ignore = shutil.ignore_patterns("__pycache__", "model_dir")
    shutil.copytree(EXAMPLES, pytester.path / "examples", ignore=ignore)
    # A private temp dir: the dirs TF makes for model_dir=None land here, and the cwd's ./model_dir is
    # outside it, as in a real checkout.
    tmp = pytester.mkdir("tmp")
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    return pytester.path


def _skip_lines(result: pytest.RunResult) -> dict[str, str]:
    """The short summary's SKIPPED lines, by the reasons above: one line each, or none."""
    found: dict[str, str] = {}
    for line in result.outlines:
        if line.startswith("SKIPPED"):
            reason = next((r for r in SKIPPED if r in line), None)
            assert reason is not None, f"a skip this test does not know of: {line}"
            assert reason not in found, f"two lines for one reason: {found[reason]}, {line}"
            found[reason] = line
    return found


def _assert_skips(result: pytest.RunResult, ran: str) -> None:
    expected = {reason: n for reason, n in SKIPPED.items() if n}
    if ran == "leaky":
        expected = {reason: n // 2 for reason, n in expected.items()}
    lines = _skip_lines(result)
    assert set(lines) == set(expected), lines
    for reason, line in lines.items():
        assert line.startswith(f"SKIPPED [{expected[reason]}] examples/conftest.py:"), line  # one line, one place


def test_leaky_examples_pass_without_the_plugin(examples: Path, run_pytest) -> None:
    # A ./model_dir the demo did not create must survive it.
    mine = examples / "model_dir" / "keep.txt"
    mine.parent.mkdir()
    mine.write_text("not the demo's")
    result = run_pytest("examples/leaky", "-s", "-p", "no:estimator_isolation")
    result.assert_outcomes(passed=len(LEAKY), skipped=sum(SKIPPED.values()) // 2)
    _assert_skips(result, "leaky")
    if HAS_ESTIMATOR:
        result.stdout.fnmatch_lines(["*global_step after training 2 steps: 4 *"])  # the silent warm start
    result.stdout.fnmatch_lines(["*step after training 2 steps from a fresh start: 5 *"])  # a silent resume
    result.stdout.fnmatch_lines(["*loss of the first epoch: * (a fresh model's is 30.0: *"])
    assert mine.read_text() == "not the demo's"


def test_the_plugin_flags_every_leaky_example_and_no_fixed_one(examples: Path, run_pytest) -> None:
    result = run_pytest("examples", "--estimator-isolation", "--estimator-isolation-report=report.json")
    failing = sum(1 for codes in LEAKY.values() if codes - WARNINGS)
    warned = sum(len(codes & WARNINGS) for codes in LEAKY.values())
    result.assert_outcomes(passed=len(LEAKY) + FIXED, errors=failing, skipped=sum(SKIPPED.values()), warnings=warned)
    assert result.ret == 1
    _assert_skips(result, "all")

    report = json.loads((examples / "report.json").read_text())
    found: dict[str, set[str]] = {}
    for leak in report["leaks"]:
        assert leak["fix"], leak
        assert leak["outcome"] == ("warned" if leak["code"] in WARNINGS else "failed"), leak
        found.setdefault(leak["owner"], set()).add(leak["code"])
    assert found == {f"leaky/{test}": codes for test, codes in LEAKY.items()}  # and nothing in fixed/
    if HAS_ESTIMATOR:
        # The writers FileWriterCache kept for the Estimator tests: closed after each test, never blamed.
        tidied = report["tidied"]
        assert tidied["freed"]["writers"] == tidied["freed"]["threads"] > 0
        result.stdout.fnmatch_lines(["tidied quietly after * test(s)*EI402 cached-summary-writer*freed *"])
        result.stdout.fnmatch_lines(["*ERROR at teardown of test_train_again*", "*EI201 shared-model-dir*", "*fix: *"])
    # Created by this run, so removed after it.
    assert not (examples / "model_dir").exists()
    assert not (examples / "model.weights.h5").exists()
    assert not (examples / "tmp" / "estimator_isolation_demo_ckpts").exists()

    if VARIANT is not None:  # the lines examples/README.md quotes for this TF are what it printed
        out = result.stdout.str()
        for line in readme_output(VARIANT):
            pattern = r"in [\d.]+s".join(map(re.escape, line.split("in TIME")))
            assert re.search(pattern, out), (
                f"examples/README.md quotes, for {VARIANT}:\n{line}\nThe demo printed:\n{out}"
            )


def readme_output(variant: str) -> list[str]:
    """The lines examples/README.md quotes under ``<!-- demo output: VARIANT -->`` (its next code block);
    ``in TIME`` stands for pytest's timing."""
    text = (EXAMPLES / "README.md").read_text()
    marker = f"<!-- demo output: {variant} -->"
    assert marker in text, f"examples/README.md quotes no output for {variant}"
    block = text.split(marker, 1)[1].split("```", 2)[1]
    lines = [line for line in block.splitlines()[1:] if line.strip()]  # after the fence's language tag
    assert lines, variant
    return lines


def test_the_readme_quotes_each_variant() -> None:
    for variant in ("tf 2.15.1", "tf 2.21.0", "tf 2.21.0 without tensorboard"):
        assert readme_output(variant)
