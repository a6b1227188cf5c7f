"""Process-wide registries (EI307): Keras' custom objects (the registry, and ``custom_object_scope`` left
entered) and absl / ``tf.compat.v1.flags`` flag values. Each entry has a detail function: what in the
registry changed, beyond its size."""

from __future__ import annotations

import sys
from typing import Any

from ._core import Unavailable, _loaded
from .open_scopes import context_entry
from .state import Entry

REGISTRY = "registry"  # the name of their kind (declared in checks/tf_state.py)
# Keras' object registry: {pkg}.src.saving on Keras 2.13+, Keras 3 and tf_keras; keras.saving on Keras 2.12
# (TF 2.12's, before Keras moved its code under keras.src; no later Keras has that module).
_OBJECT_REGISTRATION = (
    "keras.src.saving.object_registration",
    "tf_keras.src.saving.object_registration",
    "keras.saving.object_registration",
)

_CUSTOM_OBJECT_SCOPE = context_entry(
    "keras.utils.custom_object_scope",
    REGISTRY,
    tuple(f"{home}:CustomObjectScope" for home in _OBJECT_REGISTRATION),
    "use `with keras.utils.custom_object_scope(...):`",
)


def _custom_objects() -> dict[str, Any]:
    for name, attr in (
        ("keras.src.saving.object_registration", "GLOBAL_CUSTOM_OBJECTS"),  # Keras 3
        ("keras.src.saving.object_registration", "_GLOBAL_CUSTOM_OBJECTS"),  # Keras 2.13+
        ("tf_keras.src.saving.object_registration", "_GLOBAL_CUSTOM_OBJECTS"),
        ("keras.saving.object_registration", "_GLOBAL_CUSTOM_OBJECTS"),  # Keras 2.12
    ):
        found = getattr(sys.modules.get(name), attr, None)
        if isinstance(found, dict):
            return found
    raise Unavailable("Keras custom objects")


def _put_custom_objects(value: dict[str, Any]) -> None:
    registry = _custom_objects()
    registry.clear()
    registry.update(value)


def _show_objects(value: dict[str, Any]) -> str:
    return f"{len(value)} object(s)"


def _changed_objects(old: dict[str, Any], new: dict[str, Any]) -> str:
    added = sorted(set(new) - set(old))
    gone = sorted(set(old) - set(new))
    changed = sorted(k for k in set(old) & set(new) if old[k] is not new[k])
    parts = (("added", added), ("removed", gone), ("replaced", changed))
    return ", ".join(f"{word} {names}" for word, names in parts if names)


_CUSTOM_OBJECTS = Entry(
    "Keras custom objects (keras.utils.get_custom_objects())",
    REGISTRY,
    lambda: dict(_custom_objects()),
    _put_custom_objects,
    "pass custom_objects= or use `with keras.utils.custom_object_scope(...):` (register at import time, not in a test)",
    setters=tuple(
        f"{home}:{name}"
        for home in _OBJECT_REGISTRATION
        for name in ("get_custom_objects", "register_keras_serializable")
    ),
    show=_show_objects,
    same=lambda old, new: old.keys() == new.keys() and all(old[k] is new[k] for k in old),
)

_FLAGVALUES = "absl.flags._flagvalues"


def _read_flags() -> dict[str, Any]:
    flags = _loaded("absl.flags").FLAGS
    return {name: flag.value for name, flag in flags._flags().items()}


def _flags_same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    # A flag defined during the test is not a change of a value; one removed is not either.
    return all(old[name] == new[name] for name in old.keys() & new.keys())


def _put_flags(value: dict[str, Any]) -> None:
    flags = _loaded("absl.flags").FLAGS
    registered = flags._flags()
    for name, old in value.items():
        flag = registered.get(name)
        if flag is not None and flag.value != old:
            flag.value = old


def _changed_flags(old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = [name for name in sorted(old.keys() & new.keys()) if old[name] != new[name]]
    return ", ".join(f"--{name}={new[name]!r} (was {old[name]!r})" for name in changed[:5])


_FLAGS = Entry(
    "absl / tf.compat.v1.flags flag values",
    REGISTRY,
    _read_flags,
    _put_flags,
    "use absl.testing.flagsaver (`@flagsaver.flagsaver` or `with flagsaver.flagsaver(name=value):`) or "
    "monkeypatch.setattr(FLAGS, name, value)",
    setters=(f"{_FLAGVALUES}:FlagValues.__setattr__", f"{_FLAGVALUES}:FlagValues.__call__"),
    show=lambda value: f"{len(value)} flag(s)",
    same=_flags_same,
)


ENTRIES = (_CUSTOM_OBJECTS, _CUSTOM_OBJECT_SCOPE, _FLAGS)
# Details beyond ``show``: what changed inside a registry.
DETAILS = {_CUSTOM_OBJECTS: _changed_objects, _FLAGS: _changed_flags}
