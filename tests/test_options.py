"""Modes from CLI, environment and ini (in that order), markers, bad input, and runs without TF.
None of these inner runs imports TensorFlow."""

from __future__ import annotations

import pytest

NO_TF_SUITE = """
import sys
import pytest

def test_one():
    pass

@pytest.mark.estimator_isolation("off")
def test_opted_out():
    pass

@pytest.mark.allow_leaks("open-session", "EI102")
def test_allowed():
    pass

def test_tensorflow_never_imported():
    assert "tensorflow" not in sys.modules
"""


@pytest.mark.parametrize("flag", ["--estimator-isolation", "--estimator-isolation=warn", "--estimator-isolation=off"])
def test_suite_without_tensorflow_is_untouched(pytester, run, flag):
    pytester.makepyfile(NO_TF_SUITE)
    result = run(flag)
    result.assert_outcomes(passed=4)
    result.stdout.no_fnmatch_line("*estimator isolation*")


@pytest.mark.parametrize(
    ("args", "env", "ini", "header"),
    [
        (["--estimator-isolation"], None, None, "estimator-isolation: strict*"),
        (["--estimator-isolation=warn"], "strict", "strict", "estimator-isolation: warn*"),
        ([], "warn", "strict", "estimator-isolation: warn*"),
        ([], None, "warn", "estimator-isolation: warn*"),
        (["--estimator-isolation=off"], "strict", None, None),
    ],
)
def test_precedence_cli_then_env_then_ini(pytester, run, monkeypatch, args, env, ini, header):
    if env is None:
        monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    else:
        monkeypatch.setenv("PYTEST_ESTIMATOR_ISOLATION", env)
    if ini is not None:
        pytester.makeini(f"[pytest]\nestimator_isolation = {ini}\n")
    pytester.makepyfile("def test_ok(): pass")
    result = run(*args)
    result.assert_outcomes(passed=1)
    if header is None:
        result.stdout.no_fnmatch_line("estimator-isolation:*")
    else:
        result.stdout.fnmatch_lines([header + "(TensorFlow not imported yet)"])


def test_off_by_default(pytester, run, monkeypatch):
    monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    pytester.makepyfile("def test_ok(): pass")
    result = run()
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("estimator-isolation:*")


@pytest.mark.parametrize(
    ("args", "env", "ini", "message"),
    [
        (["--estimator-isolation=bogus"], None, None, "*--estimator-isolation: invalid mode 'bogus'*with '='*"),
        ([], "loud", None, "*environment variable PYTEST_ESTIMATOR_ISOLATION: invalid mode 'loud'*"),
        ([], None, "maybe", "*ini option estimator_isolation: invalid mode 'maybe'*"),
        (["--estimator-isolation-update-baseline"], None, None, "*needs --estimator-isolation-baseline=PATH*"),
        (["--estimator-isolation-baseline=missing.json"], None, None, "*baseline*missing.json does not exist*"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(pytester, run, monkeypatch, args, env, ini, message):
    monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    if env is not None:
        monkeypatch.setenv("PYTEST_ESTIMATOR_ISOLATION", env)
    if ini is not None:
        pytester.makeini(f"[pytest]\nestimator_isolation = {ini}\n")
    pytester.makepyfile("def test_ok(): pass")
    result = run(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: " + message])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('estimator_isolation("loud")', "*test_marked: @pytest.mark.estimator_isolation: invalid mode 'loud'*"),
        ("estimator_isolation", "*test_marked: @pytest.mark.estimator_isolation takes one mode*"),
        ('allow_leaks("open-sesame")', "*test_marked: @pytest.mark.allow_leaks got unknown leak kind 'open-sesame'*"),
    ],
)
def test_bad_marker_names_the_test(pytester, run, marker, message):
    pytester.makepyfile(f"import pytest\n\n@pytest.mark.{marker}\ndef test_marked(): pass\n")
    result = run("--estimator-isolation")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_markers_are_registered_for_strict_markers(pytester, run):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.estimator_isolation("warn")
        @pytest.mark.allow_leaks("open-session")
        def test_marked():
            pass
        """
    )
    run("--strict-markers").assert_outcomes(passed=1)
    result = run("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.estimator_isolation(mode):*", "@pytest.mark.allow_leaks(*kinds):*"])


def test_help_lists_every_option(pytester, run):
    result = run("--help")
    result.stdout.fnmatch_lines_random(
        [
            "*--estimator-isolation=[[]MODE[]]*",
            "*--estimator-isolation-report=PATH*",
            "*--estimator-isolation-baseline=PATH*",
            "*--estimator-isolation-update-baseline*",
            "*--estimator-isolation-keras-reset*",
            "*estimator_isolation (string):*",
            "*estimator_isolation_report (string):*",
            "*estimator_isolation_baseline (string):*",
        ]
    )
