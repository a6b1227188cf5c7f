"""EI301: a process-wide TensorFlow or Keras setting was changed and not set back.

``keras.mixed_precision.set_global_policy("mixed_float16")`` makes every later Dense layer compute in
float16, ``keras.backend.set_floatx("float64")`` makes later kernels float64, and
``tf.config.run_functions_eagerly(True)`` turns every later ``tf.function`` eager. The settings compared
are listed in :data:`pytest_estimator_isolation._tf.SETTINGS` (one entry each); a setting the installed
TF/Keras lacks is skipped. Keras layer-name counters are state, not settings: see ``keras_clean``.

When TF/Keras is first imported inside a test, that test is compared against the values the settings had
right after the import (TF's defaults plus whatever ``~/.keras/keras.json`` or the environment chose).

A leak left in place (warn mode, an allowed kind) is not blamed again on the scope that puts the setting
back to what the leak replaced, nor on a scoped fixture around it: that scope undid it (Keras' own
``TestCase.setUp()`` resets the dtype policy; many tests set the default ``image_data_format`` they need).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from .. import _tf, problems
from ..calls import check_hook
from ..leaks import Leak, LeakKind
from ..scopes import Scope
from . import Run

GLOBAL_CONFIG = LeakKind(
    code="EI301",
    name="global-config",
    meaning="a global TensorFlow/Keras setting was changed and not restored (later tests run with it)",
    fix="save the old value and set it back in a try/finally or in a fixture's teardown (as monkeypatch "
    "does), or set it once for the whole suite in conftest.py",
    symptoms=("float16", "float64"),
    compared=True,
)

KINDS = (GLOBAL_CONFIG,)

_BEFORE = pytest.StashKey["tuple[_tf.Reading, int]"]()  # and how many put-backs there had been


class GlobalConfigCheck:
    name = "estimator_isolation.global_config"

    def __init__(self) -> None:
        _tf.watch_settings()
        self._replaced: dict[str, Any] = {}  # by setting: the value a leak not undone (yet) replaced
        self._put_back: dict[str, tuple[Any, int]] = {}  # by setting: the last value put back, and when
        self._put_backs = 0

    @check_hook()
    def pytest_estimator_isolation_snapshot(self, scope: Scope) -> None:
        scope.stash[_BEFORE] = (_tf.read_values(), self._put_backs)

    @check_hook()
    def pytest_estimator_isolation_find_leaks(self, scope: Scope) -> Sequence[Leak]:
        reading, since = scope.stash.get(_BEFORE, (None, self._put_backs))
        now = _tf.read_values()
        if now == reading or not now.names:  # a clean test: the same names, the same values
            return []
        before = reading.as_dict() if reading is not None else {}
        after = now.as_dict()
        at_import = _tf.settings_at_import()
        leaks = []
        for setting in _tf.SETTINGS:
            if setting.name not in after:
                continue
            if setting.name in before:
                old, when = before[setting.name], f"before the {scope.kind}"
            elif setting.name in at_import:  # TF/Keras was first imported during this scope
                old, when = at_import[setting.name], f"when TensorFlow/Keras was imported in this {scope.kind}"
            else:
                continue
            new = after[setting.name]
            if setting.same(old, new):
                continue
            if setting.name in self._replaced and setting.same(self._replaced[setting.name], new):
                del self._replaced[setting.name]  # put back what an earlier leak, left in place, replaced
                self._put_backs += 1
                self._put_back[setting.name] = (new, self._put_backs)
                continue
            value, when_put_back = self._put_back.get(setting.name, (None, since))
            if when_put_back > since and setting.same(value, new):  # a test inside this fixture put it back
                continue
            self._replaced.setdefault(setting.name, old)
            shown = setting.show(old)
            what = (
                f"{setting.name} is {setting.show(new)}, was {shown} {when}; "
                f"set it back with {setting.undo.format(old=shown)}"
            )
            leaks.append(Leak(GLOBAL_CONFIG, scope.owner, what, handle=(setting, old)))
        return leaks

    @check_hook()
    def pytest_estimator_isolation_cleanup(self, leaks: Sequence[Leak]) -> None:
        for leak in leaks:
            setting, old = leak.handle
            try:
                setting.put(old)
            except Exception as exc:
                problems.report(f"could not restore {setting.name}: {exc!r}")
                continue
            if setting.name in self._replaced and setting.same(self._replaced[setting.name], old):
                del self._replaced[setting.name]  # every leak of it is undone

    @check_hook()
    def pytest_estimator_isolation_still_in_place(self, leak: Leak) -> bool | None:
        if leak.kind not in KINDS:
            return None
        setting, old = leak.handle
        try:
            return not setting.same(old, setting.get())
        except Exception:
            return None


def make(run: Run) -> GlobalConfigCheck:
    return GlobalConfigCheck()
