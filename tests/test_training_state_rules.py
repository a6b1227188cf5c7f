"""The training-state room's TF-free rules, in process: which dirs are temporary, the run-wide registry
(shared by xdist workers through a file), and who is flagged when two scopes share state. The check is
driven through the callbacks its TF patches call, on real files standing for checkpoints; no TF here."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from pytest_estimator_isolation import _imports, _tempdirs, scopes
from pytest_estimator_isolation._tf import _core
from pytest_estimator_isolation.checks.training_state import (
    REGISTRY_NAME,
    TrainingStateCheck,
    _Claim,
    _Registry,
    _Write,
)
from pytest_estimator_isolation.scopes import Scope

CHECKPOINT, KERAS_WEIGHTS = "checkpoint", "Keras weights"  # the API names _tf.saving gives


# ---------------------------------------------------------------- temporary dirs


@pytest.fixture
def watching():
    _tempdirs.watch()
    yield
    _tempdirs.unwatch()


def test_only_a_dir_this_run_made_is_temporary(tmp_path, watching):
    roots = _tempdirs.pytest_roots(None)
    made = os.path.realpath(tempfile.mkdtemp(dir=tmp_path))
    with tempfile.TemporaryDirectory(dir=tmp_path) as context:
        assert _tempdirs.is_temporary(os.path.join(os.path.realpath(context), "ckpt"), roots)
    assert _tempdirs.is_temporary(os.path.join(made, "model", "ckpt-1"), roots)
    assert _tempdirs.is_temporary(str(tmp_path.resolve()), roots)  # pytest's own (pytest-of-<user>/...)
    fixed = os.path.join(os.path.realpath(tempfile.gettempdir()), "fixed_model")  # a fixed name under /tmp
    assert not _tempdirs.is_temporary(fixed, roots)
    assert not _tempdirs.is_temporary(os.path.realpath("model_dir"), roots)


def test_the_basetemp_a_run_was_given_is_temporary(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "systmp"))
    monkeypatch.delenv("PYTEST_DEBUG_TEMPROOT", raising=False)
    roots = _tempdirs.pytest_roots(tmp_path / "given")
    assert _tempdirs.is_temporary(str(tmp_path / "systmp" / "pytest-of-someone" / "pytest-3" / "x"), roots)
    assert not _tempdirs.is_temporary(str(tmp_path / "systmp" / "fixed"), roots)
    assert _tempdirs.is_temporary(str(tmp_path / "given" / "popen-gw0" / "x"), roots)
    assert not _tempdirs.is_temporary(str(tmp_path / "given_too"), roots)


def test_mkdtemp_is_put_back_when_the_run_is_over(tmp_path):
    original = tempfile.mkdtemp
    _tempdirs.watch()
    _tempdirs.watch()  # idempotent
    assert tempfile.mkdtemp is not original
    made = os.path.realpath(tempfile.mkdtemp(dir=tmp_path))
    assert _tempdirs.made_by_mkdtemp(os.path.join(made, "a", "b")) == made
    _tempdirs.unwatch()
    assert tempfile.mkdtemp is original
    assert _tempdirs.made_by_mkdtemp(made) is None


# ---------------------------------------------------------------- the registry


def claim(name: str, worker: str = "", kind: str = "test") -> _Claim:
    return _Claim(f"t.py::{name}", kind, worker, 0)


def test_registry_file_names_the_first_claim_to_every_process(tmp_path):
    path = tmp_path / "registry.jsonl"
    first, second = _Registry(path), _Registry(path)  # as two workers would hold it
    a, b = claim("test_a", "gw0"), claim("test_b", "gw1")
    assert first.claim("/dir", a) == a
    assert second.claim("/dir", b) == a
    assert second.claim("/other", b) == b
    assert first.claim("/dir", a) == a
    assert len(path.read_text().splitlines()) == 4


def test_registry_file_tells_every_process_who_wrote_a_path_last(tmp_path):
    path = tmp_path / "registry.jsonl"
    first, second = _Registry(path), _Registry(path)
    a, b = claim("test_a", "gw0"), claim("test_b", "gw1")
    first.wrote(_Write("/d/ckpt-1", "/d/ckpt", a, "/d/ckpt-1.index", (1, 2), CHECKPOINT))
    assert second.writer("/d/ckpt-1") == _Write("/d/ckpt-1", "/d/ckpt", a, "/d/ckpt-1.index", (1, 2), CHECKPOINT)
    second.wrote(_Write("/d/ckpt-1", "/d/ckpt", b, "/d/ckpt-1.index", (3, 4), CHECKPOINT))
    second.wrote(_Write("/d/ckpt-2", "/d/ckpt", b, "/d/ckpt-2.index", (5, 6), CHECKPOINT))
    assert first.writer("/d/ckpt-1").by == b  # type: ignore[union-attr]
    assert [write.path for write in first.written_in("/d/ckpt")] == ["/d/ckpt-1", "/d/ckpt-2"]
    with open(path, "a", encoding="utf-8") as file:  # another worker, half-way through its write
        file.write('["c", "/half"')
    assert first.writer("/nothing") is None
    with open(path, "a", encoding="utf-8") as file:
        file.write(', "t.py::test_c", "test", "gw2", 0]\n')
    assert first.claim("/half", a) == claim("test_c", "gw2")


def test_a_registry_file_that_breaks_falls_back_to_this_process(tmp_path):
    path = tmp_path / "registry.jsonl"
    registry = _Registry(path)
    a = claim("test_a")
    path.write_text("not json\n")
    assert registry.claim("/dir", a) == a
    assert registry.path is None  # reported once as a problem, and no longer read


# ---------------------------------------------------------------- who is flagged


class Run:
    """One check, driven as its TF patches would drive it: a scope per test, files for checkpoints."""

    def __init__(self, root: Path, registry: Path | None = None, worker: str = "") -> None:
        self.root = root
        self.check = TrainingStateCheck(_tempdirs.pytest_roots(root), registry, worker, str(root))
        self.find = TrainingStateCheck.pytest_estimator_isolation_find_leaks.__wrapped__  # type: ignore[attr-defined]

    def test(self, name: str, *steps: tuple[str, str], kind: str = "test") -> list[str]:
        """Run a scope doing ``steps`` (("save" | "restore", path)); what it is flagged with."""
        scope = Scope(f"t.py::{name}" if kind == "test" else f"fixture {name!r}", kind)  # type: ignore[arg-type]
        scopes.push(scope)
        try:
            for step, path in steps:
                self.step(step, str(self.root / path))
        finally:
            scopes.pop(scope)
        return [f"{leak.kind.code} {leak.others}" for leak in self.find(self.check, scope)]

    def step(self, step: str, path: str) -> None:
        if step == "save":
            self.check._saving(CHECKPOINT, path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Path(path + ".index").write_text(f"{path} {os.urandom(4).hex()}")
            self.check._saved(CHECKPOINT, path)
        elif step == "restore":
            self.check._restoring(CHECKPOINT, path)
        elif step == "remove":
            os.remove(path + ".index")


@pytest.fixture
def run(tmp_path):
    yield Run(tmp_path)
    _core.forget_listeners()
    _imports.uninstall()
    scopes.clear()


RESUME = (("restore", "ckpts/ckpt-1"), ("save", "ckpts/ckpt-2"))


def test_the_second_of_two_tests_sharing_a_checkpoint_is_flagged_and_names_the_first(run):
    assert run.test("test_a", ("save", "ckpts/ckpt-1")) == []
    assert run.test("test_b", *RESUME) == ["EI205 ('t.py::test_a',)"]


def test_a_test_that_saves_over_another_tests_checkpoint_is_flagged(run):
    assert run.test("test_a", ("save", "ckpts/ckpt-1")) == []
    assert run.test("test_b", ("save", "ckpts/ckpt-1")) == ["EI205 ('t.py::test_a',)"]


def test_state_the_earlier_test_removed_is_nobodys(run):
    """tensorflow/ranking's pipeline_test: one fixed dir per process, removed in tearDown."""
    assert run.test("test_a", ("save", "ckpts/ckpt-1"), ("remove", "ckpts/ckpt-1")) == []
    assert run.test("test_b", ("save", "ckpts/ckpt-1"), ("remove", "ckpts/ckpt-1")) == []
    assert run.test("test_c", ("save", "ckpts/ckpt-1")) == []
    assert run.test("test_d", ("save", "ckpts/ckpt-1")) == ["EI205 ('t.py::test_c',)"]  # c's is still there


def test_saving_and_restoring_its_own_state_is_fine(run):
    assert run.test("test_a", ("save", "ckpts/ckpt-1"), *RESUME, ("restore", "ckpts/ckpt-2")) == []
    assert run.test("test_b", ("save", "other/ckpt-1"), ("save", "other/ckpt-2")) == []


def test_the_first_to_claim_a_family_is_never_the_one_flagged(run, tmp_path):
    """Two xdist workers interleaved: b saves while a is still running; a then saves over b's."""
    a_scope, b_scope = Scope("t.py::test_a", "test"), Scope("t.py::test_b", "test")
    scopes.push(a_scope)
    run.step("save", str(tmp_path / "ckpts" / "ckpt-1"))  # a claims the family
    scopes.pop(a_scope)
    scopes.push(b_scope)
    run.step("save", str(tmp_path / "ckpts" / "ckpt-1"))  # b saves over a's
    scopes.pop(b_scope)
    scopes.push(a_scope)
    run.step("restore", str(tmp_path / "ckpts" / "ckpt-1"))  # a reads b's back
    scopes.pop(a_scope)
    assert run.find(run.check, a_scope) == []
    assert [leak.kind.code for leak in run.find(run.check, b_scope)] == ["EI205"]


def test_a_fixtures_checkpoint_may_be_read_by_every_test_but_not_trained_in_place(run):
    assert run.test("trained", ("save", "fixture/ckpt-1"), kind="fixture") == []
    assert run.test("test_a", ("restore", "fixture/ckpt-1")) == []
    assert run.test("test_b", ("restore", "fixture/ckpt-1")) == []
    assert run.test("test_c", ("restore", "fixture/ckpt-1"), ("save", "fixture/ckpt-2")) == ["EI206 ()"]


def test_the_pair_rule_holds_across_processes_sharing_the_registry(tmp_path):
    registry = tmp_path / REGISTRY_NAME
    worker0, worker1 = Run(tmp_path, registry, "gw0"), Run(tmp_path, registry, "gw1")
    try:
        assert worker0.test("test_a", ("save", "ckpts/ckpt-1")) == []
        assert worker1.test("test_b", *RESUME) == ["EI205 ('t.py::test_a',)"]
    finally:
        _core.forget_listeners()
        _imports.uninstall()


def test_state_outside_the_temporary_dirs_is_flagged_only_if_left_there(tmp_path, monkeypatch, watching):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the system temp dir: fixed names in it persist
    run = Run(tmp_path / "not-a-root")
    try:
        assert run.test("test_a", ("save", "../fixed/ckpt-1")) == ["EI207 ()"]
        assert run.test("test_b", ("save", "../removed/ckpt-1"), ("remove", "../removed/ckpt-1")) == []
        made = tempfile.mkdtemp()
        assert run.test("test_c", ("save", f"{made}/ckpt-1")) == []
    finally:
        _core.forget_listeners()
        _imports.uninstall()
