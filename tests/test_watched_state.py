"""The containers' machinery without TensorFlow (fast tier): writers found in a module's bytecode and
wrapped, a write inside a test recorded once, the diff (identity first), the message with the public
setter, the undo, and what is deliberately ignored. A fake module stands in for TF's and Keras'."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Iterator

import pytest

from pytest_estimator_isolation import scopes
from pytest_estimator_isolation._tf import containers, keras_state, state
from pytest_estimator_isolation.checks import tf_state

SOURCE = """
_LIMIT = None
_MODE = "fast"
_CACHE = None
PUBLIC_CONSTANT = 3


def set_limit(value):
    global _LIMIT
    _LIMIT = value


def enable_mode():
    global _MODE
    _MODE = "fast"


def disable_mode():
    global _MODE
    _MODE = "slow"


def _fill_cache():
    global _CACHE
    _CACHE = {}


class Owner:
    def reset(self):
        def inner():
            global _LIMIT
            _LIMIT = None
        inner()


def reads_only():
    return _LIMIT
"""


@pytest.fixture(autouse=True)
def fresh_patch_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """What state remembers of the patches it made (once per process), fresh for each test."""
    for name in ("_done", "_waiting", "_scanned"):
        monkeypatch.setattr(state, name, set())
    monkeypatch.setattr(state, "_discovered", {})


@pytest.fixture
def module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("ei_fake_settings")
    exec(SOURCE, vars(module))
    api = types.ModuleType("ei_fake_api")
    api.set_limit = module.set_limit  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(sys.modules, api.__name__, api)
    return module


@pytest.fixture
def in_a_test() -> Iterator[scopes.Scope]:
    scope = scopes.Scope("test_x.py::test_x", "test")
    scopes.push(scope)
    try:
        yield scope
    finally:
        scopes.pop(scope)


def fake_container() -> containers.ModuleGlobals:
    return containers.ModuleGlobals(
        "fake config", "ei_fake_settings", ignored=("_CACHE",), api=(("fake.api", "ei_fake_api"),)
    )


def test_same_is_identity_first_and_never_raises():
    class Weird:
        def __eq__(self, other: object) -> bool:
            raise ValueError("ambiguous")

    class Elementwise:
        def __eq__(self, other: object) -> object:
            return [True, False]

    weird = Weird()
    assert containers.same(weird, weird)  # the same object: __eq__ is never asked
    assert not containers.same(Weird(), Weird())
    assert not containers.same(Elementwise(), Elementwise())
    assert containers.same("a", "".join(["a"]))


def test_writers_are_the_functions_that_store_a_global(module):
    stores = containers.global_stores(module)
    assert stores == {
        "set_limit": {"_LIMIT"},
        "enable_mode": {"_MODE"},
        "disable_mode": {"_MODE"},
        "_fill_cache": {"_CACHE"},
        "Owner.reset": {"_LIMIT"},  # a nested function's store counts for the method
    }
    container = fake_container()
    assert set(container.discover(module)) == {
        f"ei_fake_settings:{name}" for name in ("set_limit", "enable_mode", "disable_mode", "Owner.reset")
    }  # _fill_cache writes only what is deliberately ignored: not wrapped
    assert container.names == ("_LIMIT", "_MODE")


def test_a_write_in_a_test_is_recorded_once_and_diffed_with_its_message(module, in_a_test):
    container = fake_container()
    state._patch([container.entry])
    assert getattr(module.set_limit, "__estimator_isolation__", False)
    assert sys.modules["ei_fake_api"].set_limit is module.set_limit  # the alias got the wrapper too
    module.set_limit(5)
    module.set_limit(6)
    module.disable_mode()
    change = in_a_test.stash[state.TOUCHED][container.entry]
    assert change.before == {"_LIMIT": None, "_MODE": "fast"}  # before the first write only
    items = container.changed(change.before, container.snapshot())
    assert [(item.key, item.old, item.new) for item in items] == [("_LIMIT", None, 6), ("_MODE", "fast", "slow")]
    when = "before the test"
    assert container.what("_LIMIT", None, 6, when) == "fake config `limit` is 6, was None before the test"
    assert container.setter("_LIMIT", None) == "fake.api.set_limit(None)"
    assert container.setter("_MODE", "fast") is None  # enable_mode is not public: no setter to name
    for item in items:
        container.put(item.key, item.old)
    assert (module._LIMIT, module._MODE) == (None, "fast")


def test_outside_a_test_a_write_is_the_baseline(module):
    container = fake_container()
    state._patch([container.entry])
    module.set_limit(9)  # conftest, a session fixture: nobody's change
    scope = scopes.Scope("test_x.py::test_y", "test")
    scopes.push(scope)
    try:
        assert state.TOUCHED not in scope.stash
    finally:
        scopes.pop(scope)


def test_an_item_the_table_knows_is_left_to_its_entry(module):
    entry = state.Entry("fake limit (fake.limit())", "global-config", lambda: module._LIMIT, None, "")
    container = containers.ModuleGlobals("fake config", "ei_fake_settings", known={"_LIMIT": entry})
    container.discover(module)
    before = container.snapshot()
    module._LIMIT = 1
    module._MODE = "slow"
    assert [item.key for item in container.changed(before, container.snapshot())] == ["_MODE"]
    assert container.entry.also == (entry,)  # touched along, so it keeps its own message


def test_a_route_keeps_scratch_calls_from_touching_anything(module, in_a_test):
    calls: list[object] = []
    container = fake_container()
    routed = state.Entry("routed", "global-config", lambda: None, None, "")
    object.__setattr__(routed, "route", lambda args: () if args[0] == "scratch" else (routed,))
    wrapped = state._setter(lambda name, value: calls.append((name, value)), (routed,))
    wrapped("scratch", 1)
    assert state.TOUCHED not in in_a_test.stash
    wrapped("setting", 2)
    assert routed in in_a_test.stash[state.TOUCHED]
    assert calls == [("scratch", 1), ("setting", 2)]
    assert container.entry.route is None  # a module's globals: every call of a writer counts


def test_keras_routes_a_known_item_to_its_entry_and_its_own_scopes_nowhere():
    keras = containers.KERAS_GLOBAL_STATE
    assert keras.route(("dtype_policy", None)) == (keras.known["dtype_policy"],)
    assert keras.route(("current_call_ctx", None)) == ()
    assert keras.route(("safe_mode_saving", False)) == (keras.entry,)
    assert keras.route(()) == (keras.entry, *keras.entry.also)  # clear_session(): it resets them all

    def set_global_attribute(*args: object) -> object:  # the wrapper's frame, between the route and its caller
        return keras.route(args)

    class Scope:  # as Keras' SafeModeScope: set on entry, put back on exit
        def __enter__(self) -> object:
            return set_global_attribute("safe_mode_saving", False)

    assert Scope().__enter__() == ()


def test_keras_scratch_is_named_and_ignored():
    for name in ("current_call_ctx", "symbolic_scope", "stateless_scope", "autocast_scope", "object_name_uids"):
        assert keras_state.keras_scratch(name)
        assert not keras_state.keras_setting_call(name)
    for name in (
        "_keras_mask_dict",
        "shared_objects/id_to_obj_map",
        "saving_attr_skipset_layer",
        "traceback_filtering",
    ):
        assert keras_state.keras_scratch(name)
    for name in ("interactive_logging", "safe_mode_saving", "a_setting_nobody_listed"):
        assert not keras_state.keras_scratch(name)
        assert keras_state.keras_setting_call(name)
    assert keras_state.keras_setting_call(None)  # clear_session(): it resets every setting


def test_a_tf_config_is_summed_up_and_a_long_value_cut():
    config = '{"cluster": {"chief": ["h:0"], "worker": ["h:1", "h:2"]}, "task": {"type": "worker", "index": 1}}'
    shown = "set (a cluster of 1 chief, 2 worker; this process is worker 1)"
    assert tf_state._shown("TF_CONFIG", config) == shown
    assert tf_state._shown("TF_CONFIG", b"{}") == "'{}'"
    assert tf_state._shown("AUTOGRAPH_VERBOSITY", None) == "unset"
    assert tf_state._shown("KERAS_BACKEND", "x" * 50) == f"{'x' * 37!r}... (50 characters)"


def test_a_keras_write_from_another_thread_is_not_the_tests():
    """Keras 3's store is per thread: a worker thread's write would be compared with the main thread's store."""
    keras = containers.KERAS_GLOBAL_STATE
    found: list[object] = []
    worker = threading.Thread(target=lambda: found.append(keras.route(("safe_mode_saving", False))))
    worker.start()
    worker.join()
    assert found == [()]
    assert keras.route(("safe_mode_saving", False)) == (keras.entry,)
