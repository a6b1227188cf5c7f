"""Creation sites: a frame is library code by where its module is installed, not by a folder name in its path."""

from __future__ import annotations

import contextlib
import os
import sysconfig
import textwrap
from pathlib import Path

import pytest

import pytest_estimator_isolation
from pytest_estimator_isolation import _sites

PURELIB = sysconfig.get_paths()["purelib"]


@pytest.mark.parametrize(
    "path",
    [
        # tensorflow/ranking v0.5.3's own tests, in folders named like the libraries they test
        "/src/ranking/tensorflow_ranking/python/keras/estimator_test.py",
        "/src/project/tensorflow/models/test_model.py",
        "/src/project/pytest/test_plugin.py",
        "/src/project/xdist_helpers/conftest.py",
        "/src/project/contextlib.py",
    ],
)
def test_a_project_folder_named_like_a_library_is_user_code(path: str) -> None:
    assert _sites.is_user(path)


@pytest.mark.parametrize(
    "path",
    [
        os.path.join(PURELIB, "keras", "src", "layers", "core", "dense.py"),
        os.path.join(PURELIB, "tensorflow", "python", "client", "session.py"),
        os.path.join(PURELIB, "absl", "testing", "parameterized.py"),
        contextlib.__file__,  # the standard library
        pytest.__file__,
        pytest_estimator_isolation.__file__,  # this plugin
        "/opt/other-venv/lib/python3.12/site-packages/tensorflow/python/ops/summary_ops_v2.py",  # on PYTHONPATH
        "/usr/lib/python3/dist-packages/tensorflow/python/framework/ops.py",  # a Debian package
        # absl's test runner and pytest's own code, also where they run from a source tree (Bazel runfiles)
        "/build/runfiles/absl_py/absl/testing/absltest.py",
        "/build/runfiles/absl_py/absl/testing/parameterized.py",
        "/src/pytest/src/_pytest/python.py",
        "<frozen runpy>",
        "<string>",
    ],
)
def test_installed_code_the_standard_library_runners_and_this_plugin_are_not(path: str) -> None:
    assert not _sites.is_user(path)


def test_the_libraries_are_the_interpreters_own_directories() -> None:
    dirs = _sites.library_dirs()
    assert all(d.endswith(os.sep) for d in dirs)
    assert os.path.join(os.path.abspath(PURELIB), "") in dirs
    assert os.path.join(os.path.dirname(os.path.abspath(pytest_estimator_isolation.__file__)), "") in dirs
    assert not any(Path.cwd().as_posix().startswith(d) for d in dirs if d != os.sep)  # the checkout is not one


def test_the_creation_site_is_a_test_in_a_keras_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # tensorflow_ranking/python/keras/estimator_test.py lost its creation site to absl's parameterized.py.
    folder = tmp_path / "tensorflow_ranking" / "python" / "keras"
    folder.mkdir(parents=True)
    source = folder / "estimator_test.py"
    source.write_text(
        textwrap.dedent(
            """
            from pytest_estimator_isolation import _sites


            def make_session():
                return _sites.user_stack(1)


            def test_estimator():
                return make_session()
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    module: dict[str, object] = {}
    exec(compile(source.read_text(), str(source), "exec"), module)

    stack = module["test_estimator"]()  # type: ignore[operator]
    sites = [(site.path, site.function) for site in stack]
    test_file = os.path.join("tensorflow_ranking", "python", "keras", "estimator_test.py")
    assert sites[:2] == [(test_file, "make_session"), (test_file, "test_estimator")]
    assert not any("_pytest" in path or "pluggy" in path for path, _ in sites)  # the runner's frames are skipped


def test_a_scope_entered_by_keras_is_the_loaded_keras_not_a_folder_named_keras(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which scopes TF or Keras enter themselves (never a test's leak, EI305) is told by where the loaded
    package lives: a user's ``keras/`` folder enters scopes that are the user's."""
    import sys
    import types

    from pytest_estimator_isolation._tf import state

    keras = types.ModuleType("keras")
    keras.__path__ = [str(tmp_path / "venv" / "keras")]
    monkeypatch.setitem(sys.modules, "keras", keras)
    monkeypatch.setattr(state, "_by_library", {})
    assert state._from_library(str(tmp_path / "venv" / "keras" / "src" / "layers" / "core.py"))
    assert not state._from_library(str(tmp_path / "ranking" / "python" / "keras" / "estimator_test.py"))
    assert not state._from_library(str(tmp_path / "venv" / "keras_extra" / "x.py"))
