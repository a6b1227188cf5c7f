"""States nobody listed, found in the containers where TF and Keras keep them (issue 29): the generated suite
of ``containers_suite`` (a polluter, a victim and a clean counterpart per state, where this TF/Keras has
it), run without the plugin, strict in file order, in random order and with ``-n 2``, and warn. No run may
end on a signal."""

from __future__ import annotations

import json
import os

import pytest
from containers_suite import CASES, CLEAN, LISTED, suite
from helpers import SUITE_MODULE as MODULE
from helpers import in_random_order, leaks_by_owner, outcomes, requires_randomly, requires_tf, requires_xdist

pytestmark = requires_tf


def run_suite(pytester: pytest.Pytester, run_pytest, *args: str) -> tuple[pytest.RunResult, list[str]]:
    pytester.makepyfile(test_suite=suite())
    result = run_pytest(*args, "--estimator-isolation-report=report.json")
    assert result.ret in (0, 1), f"the run ended with {result.ret} (a crash?)"
    assert "Fatal Python error" not in result.stderr.str()
    available = json.loads((pytester.path / "available.json").read_text())
    return result, [name for name in CASES if name in available]


def test_the_suite_has_at_least_twenty_states_nobody_listed():
    assert len(set(CASES) - LISTED) >= 20


def test_without_the_plugin_every_victim_fails(pytester, run_pytest):
    result, names = run_suite(pytester, run_pytest, "-rA")
    got = outcomes(result)
    victims = [name for name in names if CASES[name][3] is not None]
    assert {name: got.get(f"test_victim_{name}") for name in victims} == dict.fromkeys(victims, "failed")


def check_strict(pytester: pytest.Pytester, result: pytest.RunResult, names: list[str]) -> None:
    got = outcomes(result)
    leaks = leaks_by_owner(pytester)
    for name in names:
        code, _needs, _polluter, victim, clean = CASES[name]
        polluter = f"test_polluter_{name}"
        assert got.get(polluter) == "error", (polluter, got.get(polluter), leaks.get(polluter))
        assert {entry["code"] for entry in leaks[polluter]} == {code}, (polluter, leaks[polluter])
        assert all(entry["outcome"] == "failed" for entry in leaks[polluter])
        if victim is not None:
            assert got.get(f"test_victim_{name}") == "passed", (name, result.stdout.str()[-3000:])
        if clean is not None:
            assert got.get(f"test_clean_{name}") == "passed", name
    for name in CLEAN:
        assert got.get(f"test_scratch_{name}", "passed") == "passed", name
    assert not [owner for owner in leaks if not owner.startswith("test_polluter_")], leaks.keys()


def test_strict_names_each_polluter_and_every_victim_passes(pytester, run_pytest):
    result, names = run_suite(pytester, run_pytest, "-rA", "--estimator-isolation=strict")
    assert len(names) >= 14  # not vacuous: TF 2.15 has 15 of the cases, TF 2.21 21
    check_strict(pytester, result, names)
    text = result.stdout.str()
    # An item nobody listed: the container, the item, both values, the public setter when one matches.
    assert (
        "EI301 global-config: the eager context `device_policy` is TFE_DEVICE_PLACEMENT_EXPLICIT, was "
        "TFE_DEVICE_PLACEMENT_SILENT before the test; set it back with tf.config.experimental.set_device_policy(...)"
    ) in text
    assert (
        "EI307 registry: the global default graph's collection 'ei_things' holds 1 item(s), 0 before the test"
    ) in text
    assert "EI308 irreversible-state: the eager context `enable_mlir_bridge` is 1, was 0 before the test" in text
    if "interactive_logging" in names:  # Keras 3
        assert (
            "EI301 global-config: keras global state `interactive_logging` is False, was True before the test; "
            "set it back with keras.config.enable_interactive_logging()"
        ) in text
        assert "EI301 global-config: keras config `nnx_enabled` is True, was False before the test" in text
    if "manual_variable_initialization" in names:  # tf.keras 2
        assert (
            "EI301 global-config: keras backend `manual_var_init` is True, was False before the test; "
            "set it back with keras.backend.manual_variable_initialization(False)"
        ) in text
    # A state the table lists, written without its setter: the table's own message, once.
    assert text.count("EI301 global-config: tf.config.optimizer.get_jit() is 'autoclustering', was ''") == 2
    assert "`optimizer_jit`" not in text
    # Where the test wrote it.
    assert "created at test_suite.py:" in text


@requires_randomly
def test_strict_in_random_order(pytester, run_pytest):
    shuffled = in_random_order(pytester, seed=11)
    result, names = run_suite(pytester, shuffled, "-rA", "--estimator-isolation=strict")
    check_strict(pytester, result, names)


@requires_xdist
def test_strict_under_xdist(pytester, run_pytest):
    result, names = run_suite(pytester, run_pytest, "-rA", "--estimator-isolation=strict", "-n", "2")
    check_strict(pytester, result, names)


def test_warn_names_each_polluter_in_its_victims_failure(pytester, run_pytest):
    result, names = run_suite(pytester, run_pytest, "-rA", "--estimator-isolation=warn")
    got = outcomes(result)
    leaks = leaks_by_owner(pytester)
    text = result.stdout.str()
    for name in names:
        polluter = f"test_polluter_{name}"
        assert got.get(polluter) == "passed", polluter
        assert {entry["outcome"] for entry in leaks[polluter]} == {"warned"}, leaks[polluter]
        if CASES[name][3] is not None:
            assert got.get(f"test_victim_{name}") == "failed", name
            section = text.split(f"_ test_victim_{name} _", 1)[1].split("\n_", 1)[0]
            assert f"left by {MODULE}::{polluter}:" in section, (name, section[-2000:])


def test_a_tf_testcase_filling_the_default_graphs_collections_is_tfs_contract(pytester, run_pytest):
    """A ``tf.test.TestCase``'s ``setUp`` resets the default graph, collections included (as for EI106)."""
    pytester.makepyfile(
        """
        import tensorflow as tf

        class TestInACase(tf.test.TestCase):
            def test_adds(self):
                tf.compat.v1.add_to_collection("ei_things", 1)

        def test_plain():
            tf.compat.v1.add_to_collection("ei_other", 1)
        """
    )
    result = run_pytest("--estimator-isolation", "-rA")
    result.assert_outcomes(passed=2, errors=1, skipped=1)  # skipped: TF's test_session placeholder
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_plain*", "EI307 registry: *collection 'ei_other'*"])
    result.stdout.no_fnmatch_line("*'ei_things'*")


KERAS_TESTCASE_SUITE = """
import keras
from keras.src import testing


class TestKerasOwn(testing.TestCase):
    def test_sets_the_dtype_policy(self):
        keras.config.set_dtype_policy("mixed_float16")

    def test_quiets_logging(self):
        keras.config.disable_interactive_logging()

    def test_sets_floatx(self):
        keras.config.set_floatx("float64")  # a module global: clear_session() keeps it


def test_plain_test_after_them():
    assert keras.config.dtype_policy().name == "float32"
    assert keras.config.is_interactive_logging_enabled()
    assert keras.config.floatx() == "float32"
"""


def _keras3() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("keras").startswith("3") and os.environ.get("TF_USE_LEGACY_KERAS", "") not in ("1", "true")
    except PackageNotFoundError:
        return False


@pytest.mark.skipif(not _keras3(), reason="needs Keras 3 (keras.src.testing.TestCase)")
def test_what_keras_own_testcase_resets_is_tidied_not_failed(pytester, run_pytest):
    """Keras 3's own TestCase.setUp() calls clear_session(), a new global_state store: what a test left
    there is Keras' contract (EI309, tidied; strict still puts it back for a plain test after it). A module
    global clear_session() keeps (floatx) is still EI301. Without the plugin the plain test fails."""
    pytester.makepyfile(test_keras_own=KERAS_TESTCASE_SUITE)
    result = run_pytest("-rA", "--estimator-isolation", "--estimator-isolation-report=report.json")
    result.assert_outcomes(passed=4, errors=1)
    report = json.loads((pytester.path / "report.json").read_text())
    assert [(leak["code"], leak["owner"].rsplit("::", 1)[1]) for leak in report["leaks"]] == [
        ("EI301", "test_sets_floatx")
    ]
    assert report["tidied"]["kinds"] == {"EI309 keras-testcase-state": 2}
    run_pytest("-p", "no:estimator_isolation").assert_outcomes(passed=3, failed=1)
