"""``tf.estimator.Estimator`` construction, ``train`` and ``evaluate`` (patched once, never changed)."""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .. import _imports, problems
from ._core import _wrap, add_note, ask, emit, listen, patched

_ESTIMATOR = "tensorflow_estimator.python.estimator.estimator"
_DEPRECATION = "tensorflow.python.util.deprecation"

EstimatorHook = Callable[[Any], None]
TrainHook = Callable[[Any], "str | None"]

_calls = threading.local()


def inside_estimator_call() -> bool:
    """Whether this thread is inside ``Estimator.train``/``evaluate`` (the sessions TF opens there)."""
    return bool(getattr(_calls, "depth", 0))


def _calling(method: Any, estimator: Any, args: Any, kwargs: Any) -> Any:
    __tracebackhide__ = True
    _calls.depth = getattr(_calls, "depth", 0) + 1
    try:
        return method(estimator, *args, **kwargs)
    finally:
        _calls.depth -= 1


def instrument_estimators(
    on_init: Callable[[Any, bool], None], on_train: TrainHook, on_trained: EstimatorHook, on_evaluate: EstimatorHook
) -> None:
    """Call ``on_init(estimator, temporary)`` after every ``Estimator`` (canned ones included) is built,
    ``temporary`` telling that none was given a model_dir so TF made one with ``tempfile.mkdtemp()``;
    ``on_train(estimator)`` / ``on_evaluate(estimator)`` as ``train`` / ``evaluate`` start (which
    ``tf.estimator.train_and_evaluate`` calls too), and ``on_trained(estimator)`` once ``train`` returned or
    raised. What ``on_train`` answers (which test wrote the checkpoint it starts from) is added to the
    exception if ``train`` raises. Never changes what the Estimator does."""
    listen("estimator_created", on_init)
    listen("estimator_training", on_train)
    listen("estimator_trained", on_trained)
    listen("estimator_evaluated", on_evaluate)
    _imports.when_imported(_ESTIMATOR, _patch)


def warm_start_source(estimator: Any) -> str | None:
    """The checkpoint or dir an Estimator warm-starts from (``warm_start_from``), if any."""
    settings = getattr(estimator, "_warm_start_settings", None)
    source = getattr(settings, "ckpt_to_initialize_from", None)
    return source if isinstance(source, str) and source else None


def _patch(module: ModuleType) -> None:
    cls: Any = module.Estimator
    if patched(cls, "__init__"):
        return
    init, train, evaluate = cls.__init__, cls.train, cls.evaluate
    signature = inspect.signature(init)

    def temporary(estimator: Any, args: Any, kwargs: Any) -> bool:
        """No model_dir given: TF took one from TF_CONFIG, or made one with tempfile.mkdtemp()."""
        given = signature.bind(estimator, *args, **kwargs).arguments
        if given.get("model_dir") or getattr(given.get("config"), "model_dir", None):
            return False
        made = os.path.dirname(os.path.realpath(estimator.model_dir))
        return bool(made == os.path.realpath(tempfile.gettempdir()))

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        __tracebackhide__ = True  # the user's traceback shows their call, then TF's frames
        init(self, *args, **kwargs)
        try:
            made_temp = temporary(self, args, kwargs)
        except Exception as exc:
            problems.report(f"Estimator tracking failed: {exc!r}")
            return
        emit("estimator_created", self, made_temp)

    def train_(self: Any, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # the user's traceback shows their call, then TF's frames
        note = ask("estimator_training", self)
        try:
            return _calling(train, self, args, kwargs)
        except Exception as exc:
            add_note(exc, note)
            raise
        finally:
            emit("estimator_trained", self)

    def evaluate_(self: Any, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # the user's traceback shows their call, then TF's frames
        emit("estimator_evaluated", self)
        return _calling(evaluate, self, args, kwargs)

    _wrap(cls, "__init__", __init__)
    _wrap(cls, "train", train_)
    _wrap(cls, "evaluate", evaluate_)
    _log_the_callers_frame({__init__.__code__, train_.__code__, evaluate_.__code__, _calling.__code__})


def _log_the_callers_frame(wrappers: set[Any]) -> None:
    """TF's deprecation warnings name the frame that called the deprecated function, two frames up from
    ``deprecation._call_location`` (``Estimator.__init__`` is deprecated): that is a wrapper above, not the
    user's line. The same function, stepping over these wrappers' frames (read at call time, once per
    deprecated function: TF logs each once)."""
    deprecation: Any = sys.modules.get(_DEPRECATION)
    original = getattr(deprecation, "_call_location", None)
    if original is None or getattr(original, "__estimator_isolation__", False):
        return

    def _call_location(outer: bool = False) -> str:
        frame: Any = sys._getframe(2)  # <this>, <the deprecated function's wrapper>, its caller
        while frame is not None and frame.f_code in wrappers and frame.f_back is not None:
            frame = frame.f_back
        parent = frame and frame.f_back
        if outer and parent is not None:
            frame = parent
        return f"{frame.f_code.co_filename}:{frame.f_lineno}"

    _wrap(deprecation, "_call_location", _call_location)
