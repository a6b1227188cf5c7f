"""``tf.estimator.Estimator`` construction, ``train`` and ``evaluate`` (patched, never changed)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from .. import _imports
from ._core import _wrap, problem

_ESTIMATOR = "tensorflow_estimator.python.estimator.estimator"

EstimatorHook = Callable[[Any], None]


def instrument_estimators(
    on_init: Callable[[Any, bool], None], on_train: EstimatorHook, on_evaluate: EstimatorHook
) -> None:
    """Call ``on_init(estimator, temporary)`` after every ``Estimator`` (canned ones included) is built,
    ``temporary`` telling that none was given a model_dir so TF made one with ``tempfile.mkdtemp()``; and
    ``on_train(estimator)`` / ``on_evaluate(estimator)`` as ``train`` / ``evaluate`` start (which
    ``tf.estimator.train_and_evaluate`` calls too). Never changes what the Estimator does."""

    def patch(module: ModuleType) -> None:
        import inspect
        import os
        import tempfile

        cls: Any = module.Estimator
        if getattr(cls.__init__, "__estimator_isolation__", False):
            return
        init, train, evaluate = cls.__init__, cls.train, cls.evaluate
        signature = inspect.signature(init)

        def safe(hook: Callable[..., None], *args: Any) -> None:
            try:
                hook(*args)
            except Exception as exc:
                problem(f"Estimator tracking failed: {exc!r}")

        def created(estimator: Any, args: Any, kwargs: Any) -> None:
            given = signature.bind(estimator, *args, **kwargs).arguments
            if given.get("model_dir") or getattr(given.get("config"), "model_dir", None):
                on_init(estimator, False)
                return
            # No model_dir given: TF took one from TF_CONFIG, or made one with tempfile.mkdtemp().
            made = os.path.dirname(os.path.realpath(estimator.model_dir))
            on_init(estimator, made == os.path.realpath(tempfile.gettempdir()))

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            safe(created, self, args, kwargs)

        def train_(self: Any, *args: Any, **kwargs: Any) -> Any:
            safe(on_train, self)
            return train(self, *args, **kwargs)

        def evaluate_(self: Any, *args: Any, **kwargs: Any) -> Any:
            safe(on_evaluate, self)
            return evaluate(self, *args, **kwargs)

        _wrap(cls, "__init__", __init__)
        _wrap(cls, "train", train_)
        _wrap(cls, "evaluate", evaluate_)

    _imports.when_imported(_ESTIMATOR, patch)
