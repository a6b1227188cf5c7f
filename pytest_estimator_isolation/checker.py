"""Runs the checks around every test and scoped fixture, and decides what each leak means for the test.

Registered on the plugin manager only when some test is checked. It asks each check through our hooks
(:mod:`.hookspecs`), one implementation at a time, so that a check that crashes (TF internals changed)
becomes an ``EI900`` leak naming it instead of crashing pytest or passing the test silently.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from . import _tf, scopes
from .baseline import Baseline
from .leaks import EstimatorIsolationWarning, Leak, LeakKind
from .options import Settings, item_mode
from .scopes import Scope

CHECK_ERROR = LeakKind(
    code="EI900",
    name="check-error",
    meaning="a check crashed (usually: this TensorFlow version changed an internal the check reads)",
    fix="report it to pytest-estimator-isolation with the TF version; opt the test out meanwhile",
)

SCOPE = pytest.StashKey[Scope]()
MODE = pytest.StashKey[str]()
ALLOWED = pytest.StashKey["set[str]"]()
FOUND = pytest.StashKey[list[dict[str, Any]]]()
JUDGED = pytest.StashKey[bool]()


def _call(impl: Any, **kwargs: Any) -> Any:
    """Call one check's implementation with the arguments it asks for (pluggy's convention)."""
    return impl.function(**{arg: kwargs[arg] for arg in impl.argnames})


def allowed_kinds(item: pytest.Item, known: dict[str, LeakKind]) -> set[str]:
    names: set[str] = set()
    for marker in item.iter_markers("allow_leaks"):
        for name in marker.args:
            if name not in known:
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.allow_leaks got unknown leak kind {name!r}; "
                    f"known kinds: {', '.join(sorted(known))}"
                )
            names.add(known[name].name)
    return names


class Checker:
    def __init__(self, config: pytest.Config, settings: Settings, baseline: Baseline | None) -> None:
        self.config = config
        self.settings = settings
        self.baseline = baseline
        self.hook = config.pluginmanager.hook
        self.item: pytest.Item | None = None
        self.tearing_down = False
        self.fixtures: dict[int, Scope] = {}
        self.left_behind: list[tuple[LeakKind, dict[str, Any]]] = []
        self.seconds: dict[str, float] = {}  # time spent in each check, for the JSON report
        _tf.install()

    # ---------------------------------------------------------------- calling the checks

    def _each(self, name: str, **kwargs: Any) -> list[Leak]:
        leaks: list[Leak] = []
        for impl in getattr(self.hook, name).get_hookimpls():
            start = time.perf_counter()
            try:
                found = _call(impl, **kwargs)
            except Exception as exc:
                what = f"check {impl.plugin_name!r} crashed on TF {_tf.version()}: {exc!r}"
                owner = kwargs["scope"].owner if "scope" in kwargs else "?"
                leaks.append(Leak(CHECK_ERROR, owner, what, check=impl.plugin_name))
                continue
            finally:
                self.seconds[impl.plugin_name] = self.seconds.get(impl.plugin_name, 0.0) + time.perf_counter() - start
            for leak in found or ():
                leak.check = leak.check or impl.plugin_name
                leaks.append(leak)
        return leaks

    def known_kinds(self) -> dict[str, LeakKind]:
        kinds: dict[str, LeakKind] = {CHECK_ERROR.name: CHECK_ERROR}
        for group in self.hook.pytest_estimator_isolation_kinds():
            for kind in group:
                kinds[kind.name] = kind
                kinds[kind.code] = kind
        return kinds

    def snapshot(self, scope: Scope) -> None:
        self._each("pytest_estimator_isolation_snapshot", scope=scope)

    def judge(self, scope: Scope, mode: str, allowed: set[str]) -> list[dict[str, Any]]:
        """Find what ``scope`` leaked, clean it up in strict mode, and say what each leak means."""
        leaks = self._each("pytest_estimator_isolation_find_leaks", scope=scope)
        if not leaks:
            return []
        cleaned = [
            leak
            for leak in leaks
            if (mode == "strict" or leak.severity == "info") and leak.kind.cleanable and leak.kind.name not in allowed
        ]
        for impl in self.hook.pytest_estimator_isolation_cleanup.get_hookimpls():
            mine = [leak for leak in cleaned if leak.check == impl.plugin_name]
            if mine:
                try:
                    _call(impl, scope=scope, leaks=mine)
                except Exception as exc:
                    _tf.problem(f"cleanup by check {impl.plugin_name!r} failed: {exc!r}")
        results = []
        for leak in leaks:
            entry = {**leak.to_dict(), "outcome": self._outcome(leak, mode, allowed), "cleaned": leak in cleaned}
            results.append(entry)
            if leak not in cleaned and leak.severity != "info":  # still in place: later failures may be its victims
                self.left_behind.append((leak.kind, entry))
        del self.left_behind[:-20]
        return results

    def polluters(self, failure: str) -> list[tuple[bool, dict[str, Any]]]:
        """Leaks still in place when a test failed, those whose known symptoms appear in the failure
        text first (``True``): what detect-test-pollution would find by bisecting, from one run."""
        found = [(any(s in failure for s in kind.symptoms), entry) for kind, entry in self.left_behind]
        return sorted(found, key=lambda pair: not pair[0])

    def _outcome(self, leak: Leak, mode: str, allowed: set[str]) -> str:
        if leak.kind.name in allowed:
            return "allowed"
        if leak.severity == "info":  # not the test's fault: cleaned quietly, only counted
            return "tidied"
        if self.baseline is not None and self.baseline.covers(leak):
            return "baselined"
        if mode == "strict" and leak.severity == "error" and not self.settings.update_baseline:
            return "failed"
        return "warned"

    # ---------------------------------------------------------------- the test's life

    def prepare(self, items: list[pytest.Item]) -> None:
        """Resolve every test's mode and allowed kinds once, at collection (bad markers fail here)."""
        kinds = self.known_kinds()
        for item in items:
            item.stash[MODE] = item_mode(item, self.settings.mode)
            item.stash[ALLOWED] = allowed_kinds(item, kinds)

    def mode(self, item: pytest.Item) -> str:
        mode = item.stash.get(MODE, None)
        if mode is None:  # an item pytest_collection_modifyitems did not see
            self.prepare([item])
            mode = item.stash[MODE]
        return mode

    def start_test(self, item: pytest.Item) -> None:
        self.item = item
        self.tearing_down = False
        item.stash[FOUND] = []
        if self.mode(item) == "off":
            return
        scope = Scope(owner=item.nodeid, kind="test")
        item.stash[SCOPE] = scope
        self.snapshot(scope)
        scopes.push(scope)

    def judge_test(self, item: pytest.Item) -> None:
        """Judge the test once: at the first teardown of a wider-scoped fixture, or after its teardown."""
        scope = item.stash.get(SCOPE, None)
        if scope is None or item.stash.get(JUDGED, False):
            return
        item.stash[JUDGED] = True
        scopes.pop(scope)
        item.stash[FOUND].extend(self.judge(scope, self.mode(item), item.stash[ALLOWED]))

    def start_fixture(self, fixturedef: Any) -> Scope:
        """A wider-scoped fixture starts its setup: what it creates from now on is its own."""
        scope = Scope(owner=fixture_label(fixturedef), kind="fixture")
        self.snapshot(scope)
        scopes.push(scope)
        return scope

    def fixture_failed(self, started: Scope) -> None:
        scopes.pop(started)

    def fixture_set_up(self, fixturedef: Any, started: Scope) -> None:
        """A wider-scoped fixture finished its setup: it owns what it did, the test does not."""
        scopes.pop(started)
        self.fixtures[id(fixturedef)] = started
        current = scopes.current()
        if current is not None:
            self.snapshot(current)
        fixturedef.addfinalizer(self._before_fixture_teardown)

    def _before_fixture_teardown(self) -> None:
        # Runs before the fixture's own teardown code (finalizers run last-in, first-out), so the test
        # is judged on what it did, not on what the fixture's teardown undoes. A parametrized fixture
        # switching params is torn down in the next test's setup: that test has not run yet.
        if self.item is not None and self.tearing_down:
            self.judge_test(self.item)

    def fixture_torn_down(self, fixturedef: Any) -> None:
        scope = self.fixtures.pop(id(fixturedef), None)
        if scope is None or self.item is None:
            return
        mode = self.mode(self.item)
        if mode != "off":
            self.item.stash[FOUND].extend(self.judge(scope, mode, set()))

    def found(self, item: pytest.Item) -> list[dict[str, Any]]:
        return item.stash.get(FOUND, [])

    def finish_test(self, item: pytest.Item) -> list[dict[str, Any]]:
        self.judge_test(item)
        found = self.found(item)
        for problem in _tf.take_problems():
            item.warn(EstimatorIsolationWarning(f"estimator-isolation: {problem}"))
        return found


def fixture_label(fixturedef: Any) -> str:
    where = getattr(fixturedef, "baseid", "") or "conftest"
    return f"fixture {fixturedef.argname!r} ({fixturedef.scope} scope, {where})"
