"""Training state on disk: the calls that save it and restore it, and the readers of event files (patched
once, never changed).

Patched at the lowest level that still gets the path as the user gave it, and the scope that runs it:

- ``TrackableSaver.save`` / ``restore`` (``tensorflow.python.checkpoint.checkpoint``): what every object-based
  TF checkpoint goes through, on TF 2.12-2.21: ``tf.train.Checkpoint`` ``save``/``write``/``restore``/``read``,
  ``tf.train.CheckpointManager`` (its ``save``, ``restore_or_initialize``, a restore of ``latest_checkpoint``),
  ``tf.saved_model.save`` / ``load`` (their ``variables/variables`` checkpoint, named by the export dir),
  and under Keras 2 ``save_weights`` / ``load_weights`` in the TF format, a SavedModel ``Model.save`` /
  ``load_model``, and ``BackupAndRestore`` (a ``CheckpointManager`` in ``backup_dir``).
- Keras' own file formats, function by function, where Keras calls them through their module (the public
  ``keras.models.load_model`` is a second name for the same function, so it cannot be patched by name): the
  ``.keras`` zip and ``.weights.h5`` (``saving_lib``, Keras 2.13+ and 3), legacy HDF5 (Keras 3's
  ``legacy_h5_format``; Keras 2's ``legacy.save``, which also dispatches the SavedModel and TF formats). Under
  Keras 3 that covers ``Model.save`` / ``load_model``, ``save_weights`` / ``load_weights``, ``ModelCheckpoint``
  and ``BackupAndRestore`` (``latest.weights.h5`` in ``backup_dir``).
- Event files read back: ``tf.compat.v1.train.summary_iterator`` (its iterator class) and TensorBoard's
  ``EventAccumulator.Reload`` (both of its copies). Which test wrote an event file is told by the writer
  patches in :mod:`.writers`.

The patches only call the listeners (:func:`._core.emit`): a path is handed over as given, and nothing the
call does or returns is changed. A restore that raises gets the listener's note (which test wrote what it
read) added to the exception (Python 3.11+) before it goes on to the user.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .. import _imports, problems
from ._core import _wrap, add_note, ask, emit, listen, patched

_CHECKPOINT = "tensorflow.python.checkpoint.checkpoint"
_SUMMARY_ITERATOR = "tensorflow.python.summary.summary_iterator"
_EVENT_ACCUMULATORS = (
    "tensorboard.backend.event_processing.event_accumulator",
    "tensorboard.backend.event_processing.plugin_event_accumulator",
)

CHECKPOINT = "checkpoint"  # the API a path was saved or restored with, as the messages name it
SAVED_MODEL = "SavedModel"
KERAS_MODEL = "Keras model"
KERAS_WEIGHTS = "Keras weights"

_H5 = "keras.src.legacy.saving.legacy_h5_format"  # Keras 3's legacy HDF5
# (module, function, API, what it does, where its path is: positional index and keyword)
_Where = tuple[int, str]
_KERAS: tuple[tuple[str, str, str, str, _Where], ...] = (
    *(
        entry
        for module in ("keras.src.saving.saving_lib", "keras.saving.saving_lib", "tf_keras.src.saving.saving_lib")
        for entry in (
            (module, "save_model", KERAS_MODEL, "save", (1, "filepath")),
            (module, "load_model", KERAS_MODEL, "restore", (0, "filepath")),
            (module, "save_weights_only", KERAS_WEIGHTS, "save", (1, "filepath")),
            (module, "load_weights_only", KERAS_WEIGHTS, "restore", (1, "filepath")),
        )
    ),
    *(
        entry
        for module in ("keras.src.saving.legacy.save", "keras.saving.legacy.save", "tf_keras.src.saving.legacy.save")
        for entry in (
            (module, "save_model", KERAS_MODEL, "save", (1, "filepath")),
            (module, "load_model", KERAS_MODEL, "restore", (0, "filepath")),
            (module, "save_weights", KERAS_WEIGHTS, "save", (1, "filepath")),
            (module, "load_weights", KERAS_WEIGHTS, "restore", (1, "filepath")),
        )
    ),
    (_H5, "save_model_to_hdf5", KERAS_MODEL, "save", (1, "filepath")),
    (_H5, "load_model_from_hdf5", KERAS_MODEL, "restore", (0, "filepath")),
    (_H5, "load_weights_from_hdf5_group", KERAS_WEIGHTS, "restore", (0, "group")),  # an h5py group: its file
    (_H5, "load_weights_from_hdf5_group_by_name", KERAS_WEIGHTS, "restore", (0, "group")),
)

SaveHook = Callable[[str, str], None]  # (api, path)
RestoreHook = Callable[[str, str], "str | None"]  # (api, path) -> a note for a failure
EventsHook = Callable[[str, str], None]  # (api, path of an event file or a log dir)


def instrument_saving(
    on_saving: SaveHook, on_saved: SaveHook, on_restoring: RestoreHook, on_events: EventsHook
) -> None:
    """Call ``on_saving(api, path)`` as a save starts and ``on_saved(api, path)`` once it wrote ``path``;
    ``on_restoring(api, path)`` as a restore or load of ``path`` starts (its answer, if any, is added to
    the exception if the restore raises); ``on_events(api, path)`` as event files are read back from
    ``path`` (a file or a log dir). ``path`` is a local path as given (str), never a URL or a tensor."""
    listen("state_saving", on_saving)
    listen("state_saved", on_saved)
    listen("state_restoring", on_restoring)
    listen("events_read", on_events)
    _imports.when_imported(_CHECKPOINT, _patch_checkpoint)
    _imports.when_imported(_SUMMARY_ITERATOR, _patch_summary_iterator)
    for name in _EVENT_ACCUMULATORS:
        _imports.when_imported(name, _patch_event_accumulator)
    for name in dict.fromkeys(entry[0] for entry in _KERAS):
        _imports.when_imported(name, _patch_keras)


def local_path(value: Any) -> str | None:
    """A path given as str, bytes or os.PathLike, or an open h5py file or group; None for anything else
    (a tensor inside a tf.function, a file object, a URL such as ``gs://``)."""
    try:
        if isinstance(value, (str, os.PathLike)):
            path = os.fspath(value)
        elif isinstance(value, bytes):
            path = value.decode()
        else:
            path = getattr(getattr(value, "file", None), "filename", None)  # h5py.File / Group
    except Exception:
        return None
    if not isinstance(path, str) or not path or "://" in path:
        return None
    return path


def _arg(args: Any, kwargs: Any, where: _Where) -> Any:
    index, name = where
    return args[index] if len(args) > index else kwargs.get(name)


# ---------------------------------------------------------------- TF checkpoints


_VARIABLES = os.sep + os.path.join("variables", "variables")


def _named(path: str) -> tuple[str, str]:
    """The API and the path a checkpoint is known by: a SavedModel's is ``<export dir>/variables/variables``."""
    if path.endswith(_VARIABLES):
        return SAVED_MODEL, path[: -len(_VARIABLES)] or "."
    return CHECKPOINT, path


def _saved_path(args: Any, kwargs: Any) -> str | None:
    """What ``TrackableSaver.save(file_prefix, checkpoint_number=None, ...)`` writes (its result is a
    tensor when eager)."""
    prefix = local_path(_arg(args, kwargs, (0, "file_prefix")))
    number = _arg(args, kwargs, (1, "checkpoint_number"))
    if prefix is None or not number:
        return prefix
    try:
        return f"{prefix}-{int(number)}"
    except Exception:
        return None


def _patch_checkpoint(module: ModuleType) -> None:
    cls: Any = getattr(module, "TrackableSaver", None)
    if cls is None or not hasattr(cls, "save") or not hasattr(cls, "restore"):
        problems.report("tf.train.Checkpoint saves are not tracked: TrackableSaver.save/restore not found")
        return
    if patched(cls, "save"):
        return
    save, restore = cls.save, cls.restore

    def save_(self: Any, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # the user's traceback shows their call, then TF's frames
        path = _saved_path(args, kwargs)
        if path is not None:
            emit("state_saving", *_named(path))
        result = save(self, *args, **kwargs)
        if path is not None:
            emit("state_saved", *_named(path))
        return result

    def restore_(self: Any, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        path = local_path(_arg(args, kwargs, (0, "save_path")))
        note = None if path is None else ask("state_restoring", *_named(path))
        try:
            return restore(self, *args, **kwargs)
        except Exception as exc:
            add_note(exc, note)
            raise

    _wrap(cls, "save", save_)
    _wrap(cls, "restore", restore_)


# ---------------------------------------------------------------- Keras


def _patch_keras(module: ModuleType) -> None:
    for name, function, api, does, where in _KERAS:
        if name != module.__name__:
            continue
        original = getattr(module, function, None)
        if original is None:
            problems.report(f"Keras {api.lower()} {does}s are not tracked: {name}.{function} not found")
            continue
        if not patched(module, function):
            _wrap(module, function, (_saving if does == "save" else _restoring)(original, api, where))


def _saving(original: Any, api: str, where: _Where) -> Any:
    def save(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        path = local_path(_arg(args, kwargs, where))
        if path is not None:
            emit("state_saving", api, path)
        result = original(*args, **kwargs)
        if path is not None:
            emit("state_saved", api, path)
        return result

    return save


def _restoring(original: Any, api: str, where: _Where) -> Any:
    def restore(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        path = local_path(_arg(args, kwargs, where))
        note = None if path is None else ask("state_restoring", api, path)
        try:
            return original(*args, **kwargs)
        except Exception as exc:
            add_note(exc, note)
            raise

    return restore


# ---------------------------------------------------------------- event files read back


def _patch_summary_iterator(module: ModuleType) -> None:
    cls: Any = getattr(module, "_SummaryIterator", None)
    if cls is None:
        problems.report("summary_iterator reads are not tracked: summary_iterator._SummaryIterator not found")
        return
    if patched(cls, "__init__"):
        return
    init = cls.__init__

    def __init__(self: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        __tracebackhide__ = True
        found = local_path(path)
        if found is not None:
            emit("events_read", "summary_iterator", found)
        init(self, path, *args, **kwargs)

    _wrap(cls, "__init__", __init__)


def _patch_event_accumulator(module: ModuleType) -> None:
    cls: Any = getattr(module, "EventAccumulator", None)
    if cls is None or not hasattr(cls, "Reload"):
        problems.report(f"EventAccumulator reads are not tracked: {module.__name__}.EventAccumulator.Reload not found")
        return
    if patched(cls, "Reload"):
        return
    reload = cls.Reload

    def Reload(self: Any, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        found = local_path(getattr(self, "path", None))
        if found is not None:
            emit("events_read", "EventAccumulator", found)
        return reload(self, *args, **kwargs)

    _wrap(cls, "Reload", Reload)
