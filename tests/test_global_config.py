"""EI301 global-config (TF/Keras settings changed and not restored), the ``keras_clean`` fixture and
``--estimator-isolation-keras-reset``. Each inner run imports TF (seconds), so one run covers every
setting: all are changed and set back, then each is leaked by one test and checked by the next."""

from __future__ import annotations

import json

import pytest
from helpers import KERAS_2, requires_keras2, requires_tf

pytestmark = requires_tf

SETTINGS_MODULE = """
import json
import pytest
import tensorflow as tf
import keras  # Keras 3 on TF >= 2.16; on TF 2.15 the Keras 2 that tf.keras is
from tensorflow.python.framework import config as tf_config


@tf.function
def runs_eagerly():
    return tf.executing_eagerly()


def raises(call, error):
    try:
        call()
    except error:
        return True
    return False


# name: (change it, set it back, "true while it has its old value": what a later test would notice)
SETTINGS = {
    "floatx": (
        lambda: keras.backend.set_floatx("float64"),
        lambda: keras.backend.set_floatx("float32"),
        lambda: keras.backend.floatx() == "float32",
    ),
    "epsilon": (
        lambda: keras.backend.set_epsilon(1e-3),
        lambda: keras.backend.set_epsilon(1e-7),
        lambda: keras.backend.epsilon() == 1e-7,
    ),
    "image_data_format": (
        lambda: keras.backend.set_image_data_format("channels_first"),
        lambda: keras.backend.set_image_data_format("channels_last"),
        lambda: keras.backend.image_data_format() == "channels_last",
    ),
    "policy": (  # set back by name: "float32" is not the unset policy, but layers get the same
        lambda: keras.mixed_precision.set_global_policy("mixed_float16"),
        lambda: keras.mixed_precision.set_global_policy("float32"),
        lambda: keras.layers.Dense(1)(tf.ones((1, 2))).dtype == "float32",
    ),
    "max_epochs": (  # Keras 3: every later fit(epochs=...) runs at most this many
        lambda: keras.config.set_max_epochs(1),
        lambda: keras.config.set_max_epochs(None),
        lambda: keras.config.max_epochs() is None,
    ),
    "max_steps_per_epoch": (
        lambda: keras.config.set_max_steps_per_epoch(1),
        lambda: keras.config.set_max_steps_per_epoch(None),
        lambda: keras.config.max_steps_per_epoch() is None,
    ),
    "run_eagerly": (
        lambda: tf.config.run_functions_eagerly(True),
        lambda: tf.config.run_functions_eagerly(False),
        lambda: not bool(runs_eagerly()),
    ),
    "jit": (
        lambda: tf.config.optimizer.set_jit("autoclustering"),
        lambda: tf.config.optimizer.set_jit(False),
        lambda: tf.config.optimizer.get_jit() == "",
    ),
    "optimizer_options": (
        lambda: tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True}),
        lambda: tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False}),
        lambda: not tf.config.optimizer.get_experimental_options()["disable_meta_optimizer"],
    ),
    "soft_placement": (
        lambda: tf.config.set_soft_device_placement(False),
        lambda: tf.config.set_soft_device_placement(True),
        lambda: tf.config.get_soft_device_placement() is True,
    ),
    "tf32": (
        lambda: tf.config.experimental.enable_tensor_float_32_execution(False),
        lambda: tf.config.experimental.enable_tensor_float_32_execution(True),
        lambda: tf.config.experimental.tensor_float_32_execution_enabled(),
    ),
    "determinism": (  # random ops without a seed raise while op determinism is on
        lambda: tf.config.experimental.enable_op_determinism(),
        lambda: tf_config.disable_op_determinism(),
        lambda: not raises(lambda: tf.random.uniform([1]), RuntimeError),
    ),
    "check_numerics": (
        lambda: tf.debugging.enable_check_numerics(),
        lambda: tf.debugging.disable_check_numerics(),
        lambda: not raises(lambda: tf.math.log(tf.constant(0.0)), tf.errors.InvalidArgumentError),
    ),
}


def available(name):
    change, restore, unchanged = SETTINGS[name]
    try:
        return unchanged()
    except AttributeError:  # this TF/Keras lacks the setting
        return False


AVAILABLE = [name for name in SETTINGS if available(name)]
with open("available.json", "w") as f:
    json.dump(AVAILABLE, f)


@pytest.mark.parametrize("name", AVAILABLE)
def test_restored(name):
    change, restore, unchanged = SETTINGS[name]
    change()
    restore()
    assert unchanged()


@pytest.mark.parametrize("name", AVAILABLE)
def test_leaks(name):
    change, restore, unchanged = SETTINGS[name]
    change()
    assert not unchanged()  # the victim's assertion can fail


@pytest.mark.parametrize("name", AVAILABLE)
def test_victim(name):
    change, restore, unchanged = SETTINGS[name]
    assert unchanged()
"""

# What each leak's message starts with: the setting, its new and its old value.
MESSAGES = {
    "floatx": "keras.backend.floatx() is 'float64', was 'float32' before the test",
    "epsilon": "keras.backend.epsilon() is 0.001, was 1e-07 before the test",
    "image_data_format": "keras.backend.image_data_format() is 'channels_first', was 'channels_last'",
    "policy": "keras.mixed_precision.global_policy() is 'mixed_float16', was 'float32'",
    "max_epochs": "keras.config.max_epochs() is 1, was None before the test",
    "max_steps_per_epoch": "keras.config.max_steps_per_epoch() is 1, was None before the test",
    "run_eagerly": "tf.config.functions_run_eagerly() is True, was False",
    "jit": "tf.config.optimizer.get_jit() is 'autoclustering', was ''",
    "optimizer_options": "tf.config.optimizer.get_experimental_options() is {'disable_meta_optimizer': True}, was {}",
    "soft_placement": "tf.config.get_soft_device_placement() is False, was True",
    "tf32": "tf.config.experimental.tensor_float_32_execution_enabled() is False, was True",
    "determinism": "op determinism (tf.config.experimental.enable_op_determinism()) is True, was False",
    "check_numerics": "check numerics (tf.debugging.enable_check_numerics()) is enabled, was disabled",
}

# The settings of the issue, which every supported TF/Keras has: the run must not be vacuous.
ALWAYS = {"floatx", "policy", "run_eagerly"}


def run_settings(
    pytester: pytest.Pytester, run_pytest, mode: str
) -> tuple[pytest.RunResult, list[str], dict[str, list]]:
    pytester.makepyfile(test_cfg=SETTINGS_MODULE)
    result = run_pytest(f"--estimator-isolation={mode}", "--estimator-isolation-report=report.json")
    available = json.loads((pytester.path / "available.json").read_text())
    assert set(available) >= ALWAYS
    assert set(available) <= set(MESSAGES)
    leaks: dict[str, list] = {}
    for entry in json.loads((pytester.path / "report.json").read_text())["leaks"]:
        leaks.setdefault(entry["owner"], []).append(entry)
    return result, available, leaks


@pytest.mark.tf_range
def test_each_leaked_setting_fails_its_test_and_is_restored(pytester, run_pytest):
    result, available, leaks = run_settings(pytester, run_pytest, "strict")
    n = len(available)
    result.assert_outcomes(passed=3 * n, errors=n)  # every victim passes: each leak was undone
    assert set(leaks) == {f"test_cfg.py::test_leaks[{name}]" for name in available}
    for name in available:
        [entry] = leaks[f"test_cfg.py::test_leaks[{name}]"]
        assert (entry["code"], entry["kind"], entry["outcome"]) == ("EI301", "global-config", "failed")
        assert entry["what"].startswith(MESSAGES[name]), entry["what"]
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks[[]floatx[]]*",
            "*EI301 global-config: keras.backend.floatx() is 'float64', was 'float32' before the test; "
            "set it back with keras.backend.set_floatx('float32')",
            "*fix: save the old value and set it back in a try/finally*",
        ]
    )


def test_warn_mode_reports_each_setting_and_leaves_it_changed(pytester, run_pytest):
    result, available, leaks = run_settings(pytester, run_pytest, "warn")
    n = len(available)
    result.assert_outcomes(passed=2 * n, failed=n)  # no leak test fails; every victim does
    for name in available:
        assert [e["outcome"] for e in leaks[f"test_cfg.py::test_leaks[{name}]"]] == ["warned"]
        result.stdout.fnmatch_lines([f"FAILED test_cfg.py::test_victim[[]{name}[]]*"])
    assert not [owner for owner in leaks if "test_leaks" not in owner]
    result.stdout.fnmatch_lines(["*EstimatorIsolationWarning: EI301 global-config: keras.backend.floatx()*"])


def test_tf_imported_inside_a_test_is_compared_with_the_values_at_import(pytester, run_pytest):
    pytester.makepyfile(
        """
        import sys

        def test_imports_and_leaks():
            assert "tensorflow" not in sys.modules
            import tensorflow as tf
            import keras
            keras.backend.set_floatx("float16")
            tf.config.run_functions_eagerly(True)

        def test_after():
            import tensorflow as tf
            import keras
            assert keras.backend.floatx() == "float32"
            assert not tf.config.functions_run_eagerly()
        """
    )
    result = run_pytest("--estimator-isolation")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*EI301 global-config: keras.backend.floatx() is 'float16', was 'float32' when TensorFlow/Keras "
            "was imported in this test*",
            "*EI301 global-config: tf.config.functions_run_eagerly() is True, was False when*",
        ]
    )
    # No policy was set: layers follow floatx, and that change is reported once, as floatx.
    result.stdout.no_fnmatch_line("*global_policy()*")


def test_module_fixture_owns_the_setting_it_changes(pytester, run_pytest):
    pytester.makepyfile(
        test_a="""
        import pytest
        import keras

        @pytest.fixture(scope="module")
        def float64():
            keras.backend.set_floatx("float64")
            yield
            keras.backend.set_floatx("float32")

        def test_in_float64(float64):
            assert keras.backend.floatx() == "float64"
        """,
        test_b="""
        import pytest
        import keras

        @pytest.fixture(scope="module")
        def leaky_float16():
            keras.backend.set_floatx("float16")
            yield

        def test_in_float16(leaky_float16):
            assert keras.backend.floatx() == "float16"
        """,
        test_c="""
        import keras

        def test_after():
            assert keras.backend.floatx() == "float32"
        """,
    )
    result = run_pytest("--estimator-isolation", "-rA")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*EI301 global-config: keras.backend.floatx() is 'float16', was 'float32' before the fixture*",
            "*owner: fixture 'leaky_float16' (module scope*",
            "ERROR test_b.py::test_in_float16 - *",
        ]
    )


KERAS_NAMES = """
import tensorflow as tf
import keras

def first_dense():
    layer = keras.layers.Dense(1)
    assert layer(tf.ones((1, 2))).dtype == "float16"  # the suite's policy survives clear_session()
    return layer.name

def test_one():
    assert first_dense() == "dense"

def test_two():
    assert first_dense() == "dense"

def test_fixture(keras_clean):
    assert first_dense() == "dense"
"""


def test_layer_names_depend_on_order_unless_keras_is_reset(pytester, run_pytest):
    pytester.makeconftest(
        """
        import keras
        keras.mixed_precision.set_global_policy("mixed_float16")
        """
    )
    pytester.makepyfile(test_names=KERAS_NAMES)
    result = run_pytest("--estimator-isolation", "-rA")
    result.assert_outcomes(passed=2, failed=1)  # keras_clean is not a leak
    result.stdout.fnmatch_lines(["FAILED test_names.py::test_two - AssertionError: assert 'dense_1' == 'dense'"])
    result.stdout.no_fnmatch_line("*EI301*")


@pytest.mark.tf_range
def test_keras_reset_option_names_layers_the_same_whatever_ran_before(pytester, run_pytest):
    pytester.makeconftest(
        """
        import keras
        keras.mixed_precision.set_global_policy("mixed_float16")
        """
    )
    pytester.makepyfile(test_names=KERAS_NAMES)
    pytester.makeini("[pytest]\nestimator_isolation = strict\nestimator_isolation_keras_reset = true\n")
    result = run_pytest()
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*EI3*")


def test_keras_reset_works_with_the_checks_off(pytester, run_pytest):
    pytester.makepyfile(test_names=KERAS_NAMES.replace('== "float16"', '== "float32"'))
    run_pytest("--estimator-isolation-keras-reset").assert_outcomes(passed=3)


def test_without_tf_nothing_is_imported_or_reported(pytester, run_pytest):
    pytester.makepyfile(
        """
        import sys

        def test_one():
            pass

        def test_nothing_imported():
            assert not {"tensorflow", "keras", "tf_keras"} & set(sys.modules)
        """
    )
    result = run_pytest("--estimator-isolation", "--estimator-isolation-keras-reset", "-W", "error")
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*EI3*")


@pytest.mark.tf_range
@requires_keras2
def test_keras_learning_phase_left_set_is_a_global_config_leak(pytester, run_pytest):
    pytester.makepyfile(
        KERAS_2
        + """
def test_learning_phase_left_set():
    tf.keras.backend.set_learning_phase(1)


def test_learning_phase_unset_again():
    src = importlib.util.find_spec(KERAS + ".src")
    backend = importlib.import_module(KERAS + (".src.backend" if src else ".backend"))
    assert not backend.global_learning_phase_is_set()
"""
    )
    result = run_pytest("--estimator-isolation", "-p", "no:randomly", "-W", "ignore::UserWarning")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_learning_phase_left_set*",
            "*EI301 global-config: *keras.backend.learning_phase() is 1, was unset before the test*",
        ]
    )


def test_a_setting_put_back_after_a_leak_left_in_place_is_not_blamed_on_who_put_it_back(pytester, run_pytest):
    # keras-tuner's tests set the default image_data_format they need; Keras' TestCase.setUp() resets the
    # dtype policy. After a leak left in place (warn mode, an allowed kind), that undoes it: not a leak.
    pytester.makepyfile(
        """
        import keras
        import pytest

        @pytest.mark.allow_leaks("global-config")
        def test_a_leaks_channels_first():
            keras.backend.set_image_data_format("channels_first")

        @pytest.fixture(scope="class")
        def around_b():
            yield

        class TestB:  # the class fixture is judged at its teardown: b's put-back is not its doing either
            def test_b_sets_the_default_it_needs(self, around_b):
                keras.backend.set_image_data_format("channels_last")

        def test_c_leaks_float64():
            keras.backend.set_floatx("float64")

        def test_d_changes_it_again():
            keras.backend.set_floatx("float16")
        """
    )
    result = run_pytest("--estimator-isolation=warn", "-p", "no:randomly")
    result.assert_outcomes(passed=4, warnings=2)
    result.stdout.fnmatch_lines(["3 leak(s) in mode warn: 3 EI301 global-config | 1 allowed, 2 warned"])
    assert "test_b_sets_the_default_it_needs" not in result.stdout.str()
    assert "around_b" not in result.stdout.str()
    result = run_pytest("--estimator-isolation=strict", "-p", "no:randomly")
    result.assert_outcomes(passed=4, errors=2)  # a's leak is allowed (b undoes it); c's is undone before d's
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_c_leaks_float64*", "*ERROR at teardown of test_d_changes*"]
    )
    assert "ERROR at teardown of test_b" not in result.stdout.str()
