"""EI302: TensorFlow's global seed, put back after a test that set it (strict mode only), and pytest-randomly's
own reseeding of TF, which is nobody's leak."""

from __future__ import annotations

from helpers import read_report, requires_tf

pytestmark = requires_tf


def test_global_seed_is_put_back_in_strict_mode_only(pytester, run_pytest):
    pytester.makepyfile(
        """
        import tensorflow as tf
        from tensorflow.python.eager import context

        def test_seeds():
            tf.random.set_seed(1)

        def test_sees_no_seed():
            assert context.context()._seed is None
        """
    )
    run_pytest("--estimator-isolation", "-p", "no:randomly").assert_outcomes(passed=2)
    run_pytest("--estimator-isolation=warn", "-p", "no:randomly").assert_outcomes(passed=1, failed=1)


def test_pytest_randomly_reseeds_tensorflow(pytester, run_pytest):
    pytester.makepyfile(
        """
        from tensorflow.python.eager import context

        def test_seeded():
            assert context.context()._seed is not None

        def test_seeds_itself():  # pytest-randomly reseeds after it too: nothing to put back
            import tensorflow as tf
            tf.random.set_seed(1)
        """
    )
    pytester.makeconftest("import tensorflow\n")
    args = ("-p", "randomly", "-p", "no:cacheprovider", "--randomly-seed=7", "--estimator-isolation")
    result = pytester.runpytest_subprocess(*args, "--estimator-isolation-report=report.json")
    result.assert_outcomes(passed=2)
    report = read_report(pytester)  # its reseeding is not counted as the tests' EI302 (tidied)
    assert report["leaks"] == []
    assert report["tidied"]["kinds"] == {}, report["tidied"]
