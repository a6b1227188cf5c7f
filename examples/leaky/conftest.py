from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import tensorflow as tf

# test_estimators.py trains in `model_dir` relative to the working directory, as the seed article did.
# Remove it after the run, but only if this run created it: never delete a directory we did not make.
CWD_MODEL_DIR = Path("model_dir").absolute()
_EXISTED = CWD_MODEL_DIR.exists()
# test_checkpoints.py: the same for its fixed checkpoint dir under the system temp dir and its weights file.
_CHECKPOINTS = [Path(tempfile.gettempdir(), "estimator_isolation_demo_ckpts"), Path("model.weights.h5").absolute()]
_MADE = [path for path in _CHECKPOINTS if not path.exists()]


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _EXISTED and CWD_MODEL_DIR.is_dir():
        shutil.rmtree(CWD_MODEL_DIR)
    for path in _MADE:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.is_file():
            path.unlink()


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory, feature_columns, input_fn) -> str:
    """A model trained once per session, for the tests that use a trained model."""
    path = str(tmp_path_factory.mktemp("trained") / "model_dir")
    tf.estimator.LinearRegressor(feature_columns, model_dir=path).train(input_fn, steps=2)
    return path
