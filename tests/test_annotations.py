"""GitHub workflow-command annotations: the escaping, one line at each leak's creation site for failed or warned
leaks, the switch (on in GitHub Actions, or forced on or off), and the creation site under xdist."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import BY_NAME_CHECK, QUIET, requires_tf, requires_xdist

from pytest_estimator_isolation.annotations import command, escape_data, escape_property
from pytest_estimator_isolation.findings import Finding
from pytest_estimator_isolation.leaks import Site


def test_workflow_command_escaping():
    assert escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_annotation_at_the_creation_site_and_only_for_failed_or_warned():
    entry = Finding(
        code="EI101",
        kind="open-session",
        severity="error",
        owner="tests/t.py::test_a[x,y]",
        what="Session is still open: 50%",
        fix="close it",
        where=Site("tests/odd, name:1.py", 12, "test_a"),
        outcome="failed",
        cleaned=True,
    )
    assert command(entry) == (
        "::error file=tests/odd%2C name%3A1.py,line=12,title=EI101 open-session::"
        "Session is still open: 50%25 (in tests/t.py::test_a[x,y])%0Afix: close it"
    )
    assert command(replace(entry, outcome="warned")).startswith("::warning file=")
    assert command(replace(entry, outcome="baselined")) is None
    assert command(replace(entry, where=None, nodeid="tests/t.py::test_a")).startswith(
        "::error file=tests/t.py,line=1,"
    )


@pytest.mark.parametrize(
    ("env", "args", "shown"),
    [
        pytest.param("true", [], True, id="github-actions"),
        pytest.param(None, [], False, id="elsewhere"),
        pytest.param(None, ["--estimator-isolation-annotations=on"], True, id="forced-on"),
        pytest.param("true", ["--estimator-isolation-annotations=off"], False, id="forced-off"),
        pytest.param("true", ["-o", "estimator_isolation_annotations=off"], False, id="ini-off"),
    ],
)
def test_github_annotations_switch(pytester, run_pytest, monkeypatch, env, args, shown):
    if env is None:
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    else:
        monkeypatch.setenv("GITHUB_ACTIONS", env)
    pytester.makeconftest(BY_NAME_CHECK)
    pytester.makepyfile(test_a="def test_leaky(): pass\ndef test_fine(): pass\n")
    result = run_pytest("--estimator-isolation=warn", *args)
    result.assert_outcomes(passed=2, warnings=1)
    line = "::warning file=lib/make_leak.py,line=7,title=X001 stray-file::left stray.txt (in test_a.py::test_leaky)%0Afix: delete it in the test"
    if shown:
        result.stdout.fnmatch_lines([line])
    else:
        result.stdout.no_fnmatch_line("::*")


@requires_tf
@requires_xdist
def test_annotations_under_xdist_point_at_the_creation_site(pytester, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    pytester.makepyfile(
        test_ann="""
        import tensorflow as tf

        kept = []

        def test_leaks_session():
            kept.append(tf.compat.v1.Session())
        """
    )
    result = pytester.runpytest_subprocess(*QUIET, "--estimator-isolation", "-n", "2")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "::error file=test_ann.py,line=6,title=EI101 open-session::Session is still open*"
            "(in test_ann.py::test_leaks_session)%0Afix: *"
        ]
    )
    assert sum(line.startswith("::") for line in result.stdout.lines) == 1
    result = pytester.runpytest_subprocess(*QUIET, "--estimator-isolation=warn", "-n", "2")
    result.stdout.fnmatch_lines(["::warning file=test_ann.py,line=6,title=EI101 open-session::*"])
