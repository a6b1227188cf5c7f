"""The tests test this checkout, never a stale install: the TF tier's inner runs are fresh interpreters
started in pytester's directory, where the checkout is not on sys.path (conftest.checkout_first)."""

from __future__ import annotations

import os

import pytest
from conftest import CHECKOUT, checkout_first


def test_a_subprocess_imports_the_checkout_not_an_installed_copy(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = pytester.mkdir("site") / "pytest_estimator_isolation"  # what an old install on the path looks like
    stale.mkdir()
    (stale / "__init__.py").write_text("")
    (stale / "plugin.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(stale.parent))
    checkout_first(monkeypatch)
    pytester.makepyfile(
        """
        import os
        import pytest_estimator_isolation

        def test_where():
            print("PLUGIN-AT", os.path.dirname(pytest_estimator_isolation.__file__))
        """
    )
    # A subprocess: the TF tier's route (and a fresh interpreter is the only way to import another copy).
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"*PLUGIN-AT {CHECKOUT / 'pytest_estimator_isolation'}"])
    assert result.ret == 0
    assert os.environ["PYTHONPATH"].startswith(str(CHECKOUT))
