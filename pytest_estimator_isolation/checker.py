"""Runs the checks around every test and scoped fixture, and keeps what they found.

Registered only when some test is checked. The checks are called through pluggy, so its rules hold
(``tryfirst``/``trylast``, wrappers, ``firstresult``); each plain implementation is guarded
(:mod:`._guard`) so that a check that crashes (TF internals changed) becomes an ``EI900`` leak on the
scope being judged instead of crashing pytest or passing the test silently. What a leak means for the
test is :mod:`.verdict`'s to decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from . import _guard, markers, problems, scopes
from .leaks import Leak, LeakKind
from .options import Settings
from .scopes import Scope
from .verdict import NOTHING, Finding, Policy, Settlement, cleans, decide, settle

if TYPE_CHECKING:
    from .baseline import Baseline

_POLICY = pytest.StashKey[Policy]()
_UNCHECKED = Policy("off")

# pytest's own names for the fixtures behind xunit setups, and what users call them.
_XUNIT = (
    ("_xunit_setup_module_fixture_", "setup_module"),
    ("_xunit_setup_class_fixture_", "setup_class"),
    ("_unittest_setUpClass_fixture_", "setUpClass"),
)


@dataclass(eq=False)
class _Fixture:
    """A fixture of a wider scope than ``function``, from its setup to its teardown."""

    scope: Scope
    policy: Policy
    carried: set[str] = field(default_factory=set)  # kinds a test inside left in place (blamed there)


class _Test:
    """The running test, from the start of its protocol to its end: what its hooks and reports need
    (kept here, not in ``item.stash``: every access there is a Python call, read around every test)."""

    __slots__ = ("findings", "fixtures", "item", "judged", "policy", "ran", "scope", "tearing_down")

    def __init__(self, item: pytest.Item) -> None:
        self.item = item
        self.policy = _UNCHECKED
        self.scope: Scope | None = None  # until it is judged (None: not checked, or judged already)
        self.findings: list[Finding] = []
        self.judged = False
        self.ran = False  # its body ran (not skipped at setup): its teardown judged it
        self.fixtures: list[str] = []  # scoped fixtures judged in full at its teardown
        self.tearing_down = False


class Checker:
    def __init__(self, config: pytest.Config, settings: Settings, baseline: Baseline | None) -> None:
        self._config = config
        self._settings = settings
        self._baseline = baseline
        self._verbose = config.get_verbosity() > 0
        self._hooks = _guard.Hooks(config.pluginmanager)
        self._known: dict[str, LeakKind] | None = None
        self._test: _Test | None = None
        self._judging = False  # until some check exists: then start()
        self._fixtures: dict[int, _Fixture] = {}  # by id(fixturedef), while set up
        self._left: list[tuple[Leak, Finding]] = []  # leaks still in place, newest last
        self.hook_seconds = 0.0  # spent in the plugin's per-test hooks, the checks included

    @property
    def seconds(self) -> dict[str, float]:
        """Time spent in each check, for the JSON report."""
        return self._hooks.seconds

    # ---------------------------------------------------------------- collection

    def known_kinds(self) -> dict[str, LeakKind]:
        """Every leak kind, by name and by code (a check's bad ``kinds`` is a usage error naming it)."""
        if self._known is None:
            self._known = self._hooks.known()
        return self._known

    def prepare(self, items: list[pytest.Item], policies: list[Policy]) -> None:
        """Keep every test's policy, resolved once at collection."""
        for item, policy in zip(items, policies):
            item.stash[_POLICY] = policy

    def _policy(self, node: pytest.Item | pytest.Collector) -> Policy:
        return markers.policy(node, self._settings.mode, self.known_kinds)

    # ---------------------------------------------------------------- a test's life

    def begin_test(self, item: pytest.Item) -> None:
        test = self._test = _Test(item)
        if self._judging:
            self._begin(test)

    def start(self) -> None:
        """Some check exists now (TensorFlow was imported): judge every test from here on. A test
        running now is judged on what it does from now on, under the scoped fixtures being set up."""
        self._judging = True
        if self._test is not None:
            self._begin(self._test, bottom=True)

    def plugins_changed(self) -> None:
        """A plugin was registered: it may implement checks (guarded before they are next called)."""
        self._hooks.plugins_changed()

    def any_check(self) -> bool:
        return self._hooks.any_check()

    def _begin(self, test: _Test, bottom: bool = False) -> None:
        item = test.item
        policy = item.stash.get(_POLICY, None)
        if policy is None:  # an item pytest_collection_modifyitems did not see
            policy = item.stash[_POLICY] = self._policy(item)
        if policy.mode == "off":
            return
        test.policy = policy
        scope = test.scope = Scope(item.nodeid, "test", item=item)
        self._hooks.snapshot(scope)
        scopes.push(scope, bottom=bottom)

    def teardown_started(self) -> None:
        if self._test is not None:
            self._test.tearing_down = True

    def end_test(self, item: pytest.Item) -> Settlement:
        """Judge the test (if a fixture teardown did not already), and say what it gets."""
        test = self._current(item)
        if test is None:
            return NOTHING
        self._judge_test(test)
        pending = problems.take()
        if not test.findings and not pending:
            return NOTHING
        return settle(test.findings, pending, self._verbose, item.nodeid)

    def leave_test(self) -> None:
        test, self._test = self._test, None
        if test is not None and test.scope is not None:  # not judged (TF first imported in its teardown)
            scopes.pop(test.scope)

    def _current(self, item: pytest.Item) -> _Test | None:
        test = self._test
        return test if test is not None and test.item is item else None

    def findings(self, item: pytest.Item) -> list[Finding]:
        test = self._current(item)
        return test.findings if test is not None else []

    def body_ran(self, item: pytest.Item, ran: bool) -> None:
        test = self._current(item)
        if test is not None:
            test.ran = ran

    def judged(self, item: pytest.Item) -> list[str]:
        """The owners this test's teardown checked in full: the baseline may replace their entries (so
        none without a baseline)."""
        test = self._current(item)
        if test is None or self._settings.baseline is None:
            return []
        return [item.nodeid, *test.fixtures] if test.judged and test.ran else test.fixtures

    def victims(self, failure: str) -> list[tuple[bool, Finding]]:
        """Leaks still in place when a test failed, those whose known symptoms appear in the failure
        text first (``True``): what detect-test-pollution would find by bisecting, from one run."""
        self._left = [(leak, finding) for leak, finding in self._left if self._hooks.still_in_place(leak)]
        found = [(any(s in failure for s in leak.kind.symptoms), finding) for leak, finding in self._left]
        return sorted(found, key=lambda pair: not pair[0])

    def _judge_test(self, test: _Test) -> None:
        scope = test.scope
        if scope is None:
            return
        test.scope = None
        test.judged = True
        scopes.pop(scope)
        test.findings.extend(self._judge(scope, test.policy))

    # ---------------------------------------------------------------- scoped fixtures

    def fixture_starting(self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> _Fixture | None:
        """A wider-scoped fixture starts its setup: what it creates from now on is its own, judged under
        the markers of the module or class it is set up for."""
        if fixturedef.scope == "function" or self._test is None:
            return None
        fixture = _Fixture(Scope(_label(fixturedef, request), "fixture"), self._policy(request.node))
        self._hooks.snapshot(fixture.scope)
        scopes.push(fixture.scope)
        return fixture

    def fixture_failed(self, fixture: _Fixture) -> None:
        """Its setup raised: pytest will not tear it down, so judge (and clean) what it left now."""
        scopes.pop(fixture.scope)
        self._record(self._judge(fixture.scope, fixture.policy))

    def fixture_ready(self, fixturedef: pytest.FixtureDef[Any], fixture: _Fixture) -> None:
        """Its setup finished: it owns what it did, the test does not."""
        scopes.pop(fixture.scope)
        self._fixtures[id(fixturedef)] = fixture
        current = scopes.current()
        if current is not None:
            self._hooks.snapshot(current)
        fixturedef.addfinalizer(self._before_fixture_teardown)

    def _before_fixture_teardown(self) -> None:
        # Runs before the fixture's own teardown code (finalizers run last-in, first-out), so the test
        # is judged on what it did, not on what the fixture's teardown undoes. A parametrized fixture
        # switching params is torn down in the next test's setup: that test has not run yet.
        test = self._test
        if test is not None and test.tearing_down:
            self._judge_test(test)

    def fixture_torn_down(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        fixture = self._fixtures.pop(id(fixturedef), None)
        if fixture is not None:
            self._record(self._judge(fixture.scope, fixture.policy, fixture.carried))
            if self._test is not None and fixture.policy.mode != "off":
                self._test.fixtures.append(fixture.scope.owner)

    def _record(self, findings: list[Finding]) -> None:
        if findings and self._test is not None:
            self._test.findings.extend(findings)

    # ---------------------------------------------------------------- judging

    def _judge(self, scope: Scope, policy: Policy, carried: set[str] | frozenset[str] = frozenset()) -> list[Finding]:
        """Find what ``scope`` leaked, undo what the policy says to, and give each leak its outcome."""
        if not self._judging:
            return []
        if policy.mode == "off":
            self._hooks.find_leaks(scope)  # let record-keeping checks drop what they kept for it
            return []
        leaks = [
            leak
            for leak in self._hooks.find_leaks(scope)
            if leak.kind.name not in carried and (leak.kind.severity != "info" or cleans(leak, policy))
        ]
        if not leaks:
            return []
        cleaned = [leak for leak in leaks if cleans(leak, policy)]
        if cleaned:
            self._hooks.cleanup(scope, cleaned)
        findings = []
        updating = self._settings.update_baseline
        for leak in leaks:
            finding = Finding.of(leak, decide(leak, policy, self._baseline, updating), leak in cleaned)
            findings.append(finding)
            if leak not in cleaned and finding.outcome != "tidied":
                self._left_in_place(leak, finding)
        return findings

    def _left_in_place(self, leak: Leak, finding: Finding) -> None:
        """A leak stays (warn mode, allowed, not undoable): later failures may be its victims, and the
        wider fixtures around it must not be blamed for it again."""
        if leak.kind.compared:
            for fixture in self._fixtures.values():
                fixture.carried.add(leak.kind.name)
        if leak.kind.pollutes:
            self._left.append((leak, finding))
            del self._left[:-20]


def _label(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> str:
    """How the report names a scoped fixture: as the user wrote it."""
    node = request.node.nodeid or "conftest"
    for prefix, name in _XUNIT:
        if fixturedef.argname.startswith(prefix):
            if name == "setup_module" and hasattr(getattr(request, "module", None), "setUpModule"):
                name = "setUpModule"  # unittest's spelling, which pytest runs through the same fixture
            return f"{name} of {node}"
    where = fixturedef.baseid or "conftest"
    return f"fixture {fixturedef.argname!r} ({fixturedef.scope} scope, {where})"
