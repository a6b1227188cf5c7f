"""Modes from CLI, environment and ini (in that order), markers, bad input, and runs without TF.
None of these inner runs imports TensorFlow."""

from __future__ import annotations

import os

import pytest
from helpers import requires_xdist

from pytest_estimator_isolation.options import free_swallowed_path

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
def test_suite_without_tensorflow_is_untouched(pytester, run_pytest, flag):
    pytester.makepyfile(NO_TF_SUITE)
    result = run_pytest(flag)
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
def test_precedence_cli_then_env_then_ini(pytester, run_pytest, monkeypatch, args, env, ini, header):
    if env is None:
        monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    else:
        monkeypatch.setenv("PYTEST_ESTIMATOR_ISOLATION", env)
    if ini is not None:
        pytester.makeini(f"[pytest]\nestimator_isolation = {ini}\n")
    pytester.makepyfile("def test_ok(): pass")
    result = run_pytest(*args)
    result.assert_outcomes(passed=1)
    if header is None:
        result.stdout.no_fnmatch_line("estimator-isolation:*")
    else:
        result.stdout.fnmatch_lines([header + "(TensorFlow not imported yet)"])


def test_off_by_default(pytester, run_pytest, monkeypatch):
    monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    pytester.makepyfile("def test_ok(): pass")
    result = run_pytest()
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("estimator-isolation:*")


@pytest.mark.parametrize(
    ("args", "env", "ini", "message"),
    [
        (["--estimator-isolation=bogus"], None, None, "*--estimator-isolation: invalid mode 'bogus', expected one of strict, warn, off"),
        (["--estimator-isolation=wran"], None, None, "*invalid mode 'wran', expected * (did you mean --estimator-isolation=warn?)"),
        ([], "stirct", None, "*PYTEST_ESTIMATOR_ISOLATION: invalid mode 'stirct', expected * (did you mean 'strict'?)"),
        ([], "loud", None, "*environment variable PYTEST_ESTIMATOR_ISOLATION: invalid mode 'loud'*"),
        ([], None, "maybe", "*ini option estimator_isolation: invalid mode 'maybe'*"),
        (["--estimator-isolation-update-baseline"], None, None, "*needs --estimator-isolation-baseline=PATH*"),
        (["--estimator-isolation-baseline=missing.json"], None, None, "*baseline*missing.json does not exist*"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(pytester, run_pytest, monkeypatch, args, env, ini, message):
    monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    if env is not None:
        monkeypatch.setenv("PYTEST_ESTIMATOR_ISOLATION", env)
    if ini is not None:
        pytester.makeini(f"[pytest]\nestimator_isolation = {ini}\n")
    pytester.makepyfile("def test_ok(): pass")
    result = run_pytest(*args)
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
def test_bad_marker_names_the_test(pytester, run_pytest, marker, message):
    pytester.makepyfile(f"import pytest\n\n@pytest.mark.{marker}\ndef test_marked(): pass\n")
    result = run_pytest("--estimator-isolation")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_markers_are_registered_for_strict_markers(pytester, run_pytest):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.estimator_isolation("warn")
        @pytest.mark.allow_leaks("open-session")
        def test_marked():
            pass
        """
    )
    run_pytest("--strict-markers").assert_outcomes(passed=1)
    result = run_pytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.estimator_isolation(mode):*", "@pytest.mark.allow_leaks(*kinds):*"])


def test_help_lists_every_option(pytester, run_pytest):
    result = run_pytest("--help")
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


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--estimator-isolation", "sub"], id="dir"),
        pytest.param(["--estimator-isolation", "sub/test_x.py::test_ok"], id="test-id"),
        pytest.param(["--estimator-isolation", "sub", "--custom-from-sub-conftest"], id="initial-conftest"),
        pytest.param(["-v", "--estimator-isolation", "sub/test_x.py", "-p", "no:xdist"], id="in-the-middle"),
    ],
)
def test_bare_flag_then_a_path_means_strict_and_runs_the_path(pytester, run_pytest, monkeypatch, args):
    monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    sub = pytester.mkpydir("sub")
    (sub / "conftest.py").write_text(
        "def pytest_addoption(parser):\n    parser.addoption('--custom-from-sub-conftest', action='store_true')\n"
    )
    (sub / "test_x.py").write_text("def test_ok(): pass\n")
    pytester.makepyfile(test_elsewhere="def test_not_selected(): pass")
    result = run_pytest(*args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["estimator-isolation: strict*"])


@pytest.mark.parametrize("mode", ["warn", "off", "strict"])
def test_bare_flag_then_a_mode_is_still_the_mode(pytester, run_pytest, monkeypatch, mode):
    monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    pytester.makepyfile("def test_ok(): pass")
    result = run_pytest("--estimator-isolation", mode)
    result.assert_outcomes(passed=1)
    if mode == "off":
        result.stdout.no_fnmatch_line("estimator-isolation:*")
    else:
        result.stdout.fnmatch_lines([f"estimator-isolation: {mode}*"])


@pytest.mark.parametrize(
    ("make", "option", "message"),
    [
        pytest.param(lambda p: p.mkdir("out"), "out", "*report *out is a directory; give a file path", id="directory"),
        pytest.param(
            lambda p: p.makefile(".txt", afile="x"),
            "afile.txt/report.json",
            "*report *afile.txt/report.json cannot be written: *",
            id="under-a-file",
        ),
        pytest.param(
            None,
            "/proc/estimator-isolation/report.json",
            "*report /proc/estimator-isolation/report.json cannot be written: *",
            id="read-only",
        ),
        pytest.param(
            None,
            "baseline.json",
            "*report and --estimator-isolation-baseline are the same file*",
            id="same-as-baseline",
        ),
    ],
)
def test_bad_report_path_stops_the_run_before_any_test(pytester, run_pytest, make, option, message):
    if option.startswith("/proc/") and not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc")
    if make is not None:
        make(pytester)
    (pytester.path / "baseline.json").write_text('{"schema": 2, "leaks": []}')
    pytester.makepyfile("def test_ok(): pass")
    result = run_pytest(
        "--estimator-isolation",
        f"--estimator-isolation-report={option}",
        "--estimator-isolation-baseline=baseline.json",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --estimator-isolation-" + message.lstrip("*")])
    assert "Traceback" not in result.stderr.str()
    result.stdout.no_fnmatch_line("*passed*")


def test_report_directory_is_created_at_configure(pytester, run_pytest):
    pytester.makepyfile("def test_ok(): pass")
    result = run_pytest("--estimator-isolation", "--estimator-isolation-report=deep/er/report.json", "--co")
    assert result.ret == 0
    assert (pytester.path / "deep" / "er").is_dir()


def test_ini_update_baseline_maybe_names_the_option(pytester, run_pytest):
    pytester.makeini("[pytest]\nestimator_isolation_update_baseline = maybe\n")
    pytester.makepyfile("def test_ok(): pass")
    result = run_pytest("--estimator-isolation")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ini option estimator_isolation_update_baseline: *'maybe'*"])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_work_with_a_bad_environment(pytester, run_pytest, monkeypatch, flag):
    monkeypatch.setenv("PYTEST_ESTIMATOR_ISOLATION", "loud")
    result = run_pytest(flag)
    assert result.ret == 0
    assert "invalid mode" not in result.stderr.str() + result.stdout.str()


@pytest.mark.parametrize(  # in-process too: only xdist's workers are processes of their own
    "extra", [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="xdist", marks=requires_xdist)]
)
@pytest.mark.parametrize(
    "marker", ['allow_leaks(["open-session"])', "allow_leaks()", 'allow_leaks("nope")', 'estimator_isolation("x")']
)
def test_bad_marker_stops_the_run_before_any_test_with_one_line(pytester, run_pytest, extra, marker):
    pytester.makepyfile(f"import pytest\n\n@pytest.mark.{marker}\ndef test_x():\n    pass\n")
    result = run_pytest("--estimator-isolation", *extra)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: test_bad_marker_*.py::test_x: @pytest.mark.*"])
    assert len([line for line in result.stderr.lines if line.startswith("ERROR")]) == 1
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert " passed" not in result.stdout.str()


def test_unknown_kind_is_rejected_even_when_the_checks_are_off(pytester, run_pytest, monkeypatch):
    monkeypatch.delenv("PYTEST_ESTIMATOR_ISOLATION", raising=False)
    pytester.makepyfile('import pytest\n\n@pytest.mark.allow_leaks("nope")\ndef test_x():\n    pass\n')
    result = run_pytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *got unknown leak kind 'nope'*"])


@pytest.mark.parametrize(
    ("args", "rewritten", "freed"),
    [
        (["--estimator-isolation", "tests/"], ["--estimator-isolation=strict", "tests/"], ["tests/"]),
        (["--estimator-isolation", "t.py::test_a"], ["--estimator-isolation=strict", "t.py::test_a"], ["t.py::test_a"]),
        (["--estimator-isolation", "warn"], ["--estimator-isolation", "warn"], []),
        (["--estimator-isolation", "OFF"], ["--estimator-isolation", "OFF"], []),
        (["--estimator-isolation", "-x"], ["--estimator-isolation", "-x"], []),
        (["--estimator-isolation=warn", "tests/"], ["--estimator-isolation=warn", "tests/"], []),
        (["--", "--estimator-isolation", "x"], ["--", "--estimator-isolation", "x"], []),
        (["tests/", "--estimator-isolation"], ["tests/", "--estimator-isolation"], []),
    ],
)
def test_bare_flag_frees_what_is_not_a_mode(args, rewritten, freed):
    args = list(args)  # rewritten in place: the parameter itself must stay as it was for a second run
    assert free_swallowed_path(args) == freed
    assert args == rewritten
