"""Fixtures that give each test its own TensorFlow world. They work with or without the checks, and
skip (never fail) where TF or ``tf.estimator`` is missing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def _tf() -> Any:
    return pytest.importorskip("tensorflow", reason="tensorflow is not installed")


def _estimator(tf: Any) -> Any:
    estimator = getattr(tf, "estimator", None)
    if estimator is None or not hasattr(estimator, "RunConfig"):
        pytest.skip(f"tf.estimator is not available in TensorFlow {tf.__version__} (removed in 2.16)")
    return estimator


@pytest.fixture
def tf_graph() -> Iterator[Any]:
    """A fresh ``tf.Graph``, the default graph for the test body, exited afterwards."""
    tf = _tf()
    graph = tf.Graph()
    with graph.as_default():
        yield graph


@pytest.fixture
def tf_session(tf_graph: Any) -> Iterator[Any]:
    """A ``tf.compat.v1.Session`` on ``tf_graph`` (and the default session), closed afterwards."""
    tf = _tf()
    with tf.compat.v1.Session(graph=tf_graph) as session:
        yield session


def _cached_writers() -> set[int]:
    from ._tf import cached_writers

    return set(cached_writers())


def _close_cached_writers(dirs: list[str], keep: set[int], fixture: str) -> None:
    """Close the summary writers TF's FileWriterCache opened on ``dirs`` since ``keep`` was taken (one
    event file and one thread each, kept for the life of the process otherwise), as TF's own Estimator
    tests do with ``FileWriterCache.clear()``. Writers cached before (a wider fixture's) stay open."""
    from ._tf import close_cached_writers

    close_cached_writers(dirs, keep, by=f"the {fixture} fixture")


@pytest.fixture
def model_dir(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty model directory under ``tmp_path``, unique to the test. At teardown, the summary
    writers TF cached for it are closed."""
    path = tmp_path / "model_dir"
    path.mkdir()
    keep = _cached_writers()
    yield str(path)
    _close_cached_writers([str(path)], keep, "model_dir")


@pytest.fixture
def run_config(model_dir: str) -> Any:
    """``tf.estimator.RunConfig`` bound to ``model_dir``, seeded, single-threaded, without summaries."""
    tf = _tf()
    estimator = _estimator(tf)
    session_config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    return estimator.RunConfig(
        model_dir=model_dir,
        tf_random_seed=42,
        session_config=session_config,
        save_summary_steps=None,
        log_step_count_steps=None,
        keep_checkpoint_max=1,
    )


@pytest.fixture
def make_estimator(run_config: Any) -> Iterator[Callable[..., Any]]:
    """Build an Estimator bound to ``run_config``: ``make_estimator(model_fn, params=...)`` or
    ``make_estimator(tf.estimator.LinearRegressor, feature_columns=...)``. ``model_dir=`` binds it to
    another directory with the same settings (e.g. ``model_dir=copy_model_dir(trained)``). At teardown,
    the summary writers TF cached for the test's Estimators are closed."""
    tf = _tf()
    estimator = _estimator(tf)
    dirs: list[str] = []
    keep = _cached_writers()

    def make(model: Any, /, model_dir: str | None = None, **kwargs: Any) -> Any:
        if "config" in kwargs:
            raise TypeError(
                "make_estimator binds the run_config fixture and takes no config=; change the dir with "
                "model_dir=..., other settings with run_config.replace(...) and tf.estimator.Estimator(...)"
            )
        config = run_config if model_dir is None else run_config.replace(model_dir=str(model_dir))
        dirs.append(str(config.model_dir))
        if isinstance(model, type) and issubclass(model, estimator.Estimator):
            return model(config=config, **kwargs)
        return estimator.Estimator(model_fn=model, config=config, **kwargs)

    yield make
    _close_cached_writers(dirs, keep, "make_estimator")


@pytest.fixture
def copy_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str | Path], str]:
    """Copy a trained model_dir (e.g. from a session-scoped fixture) to a fresh private directory, so a
    test can fine-tune it without changing what other tests read:
    ``make_estimator(model_fn, model_dir=copy_model_dir(src))``."""

    def copy(src: str | Path) -> str:
        import shutil

        dst = tmp_path_factory.mktemp("model_dir_copy") / "model_dir"
        shutil.copytree(src, dst, symlinks=True)  # no expanduser(): TF does not expand '~' either
        return str(dst)

    return copy


@pytest.fixture
def keras_clean() -> Iterator[None]:
    """``keras.backend.clear_session()`` before and after the test, so its layers are named ``dense``,
    ``dense_1``, ... whatever ran before. Settings (floatx, the global dtype policy) are kept: the
    global-config check compares those. Skips where Keras is not installed."""
    from ._tf import keras_clear_session, keras_loaded

    if not keras_loaded():
        pytest.importorskip("keras", reason="keras is not installed")
    keras_clear_session()
    yield
    keras_clear_session()
