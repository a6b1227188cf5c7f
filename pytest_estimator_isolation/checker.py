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
from .verdict import Finding, Policy, Settlement, cleans, decide, settle

if TYPE_CHECKING:
    from .baseline import Baseline

_POLICY = pytest.StashKey[Policy]()
_SCOPE = pytest.StashKey[Scope]()
_FINDINGS = pytest.StashKey[list[Finding]]()
_JUDGED = pytest.StashKey[bool]()
_RAN = pytest.StashKey[bool]()  # the test's body ran (not skipped at setup): its teardown judged it
_JUDGED_FIXTURES = pytest.StashKey[list[str]]()  # scoped fixtures judged in full at this test's teardown
_NOTHING = Settlement(None, ())

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


class Checker:
    def __init__(self, config: pytest.Config, settings: Settings, baseline: Baseline | None) -> None:
        self._config = config
        self._settings = settings
        self._baseline = baseline
        self._verbose = config.get_verbosity() > 0
        self._hooks = _guard.Hooks(config.pluginmanager)
        self._known: dict[str, LeakKind] | None = None
        self._item: pytest.Item | None = None
        self._tearing_down = False
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
        self._item = item
        self._tearing_down = False
        if self._judging:
            self._begin(item)

    def start(self) -> None:
        """Some check exists now (TensorFlow was imported): judge every test from here on. A test
        running now is judged on what it does from now on, under the scoped fixtures being set up."""
        self._judging = True
        if self._item is not None:
            self._begin(self._item, bottom=True)

    def any_check(self) -> bool:
        return self._hooks.any_check()

    def _begin(self, item: pytest.Item, bottom: bool = False) -> None:
        item.stash[_FINDINGS] = []
        policy = item.stash.get(_POLICY, None)
        if policy is None:  # an item pytest_collection_modifyitems did not see
            policy = item.stash[_POLICY] = self._policy(item)
        if policy.mode == "off":
            return
        scope = Scope(owner=item.nodeid, kind="test", cls=getattr(item, "cls", None))
        item.stash[_SCOPE] = scope
        self._hooks.snapshot(scope)
        scopes.push(scope, bottom=bottom)

    def teardown_started(self) -> None:
        self._tearing_down = True

    def end_test(self, item: pytest.Item) -> Settlement:
        """Judge the test (if a fixture teardown did not already), and say what it gets."""
        self._judge_test(item)
        findings = item.stash.get(_FINDINGS, [])
        pending = problems.take()
        if not findings and not pending:
            return _NOTHING
        return settle(findings, pending, self._verbose, item.nodeid)

    def leave_test(self) -> None:
        item, self._item = self._item, None
        scope = item.stash.get(_SCOPE, None) if item is not None and self._judging else None
        if scope is not None:  # not judged (TF first imported in its teardown): no longer the owner
            scopes.pop(scope)

    def findings(self, item: pytest.Item) -> list[Finding]:
        return item.stash.get(_FINDINGS, [])

    def body_ran(self, item: pytest.Item, ran: bool) -> None:
        item.stash[_RAN] = ran

    def judged(self, item: pytest.Item) -> list[str]:
        """The owners this test's teardown checked in full: the baseline may replace their entries."""
        test = [item.nodeid] if item.stash.get(_JUDGED, False) and item.stash.get(_RAN, False) else []
        return [*test, *item.stash.get(_JUDGED_FIXTURES, [])]

    def victims(self, failure: str) -> list[tuple[bool, Finding]]:
        """Leaks still in place when a test failed, those whose known symptoms appear in the failure
        text first (``True``): what detect-test-pollution would find by bisecting, from one run."""
        self._left = [(leak, finding) for leak, finding in self._left if self._hooks.still_in_place(leak)]
        found = [(any(s in failure for s in leak.kind.symptoms), finding) for leak, finding in self._left]
        return sorted(found, key=lambda pair: not pair[0])

    def _judge_test(self, item: pytest.Item) -> None:
        scope = item.stash.get(_SCOPE, None)
        if scope is None or item.stash.get(_JUDGED, False):
            return
        item.stash[_JUDGED] = True
        scopes.pop(scope)
        item.stash[_FINDINGS].extend(self._judge(scope, item.stash[_POLICY]))

    # ---------------------------------------------------------------- scoped fixtures

    def fixture_starting(self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> _Fixture | None:
        """A wider-scoped fixture starts its setup: what it creates from now on is its own, judged under
        the markers of the module or class it is set up for."""
        if fixturedef.scope == "function" or self._item is None:
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
        if self._item is not None and self._tearing_down:
            self._judge_test(self._item)

    def fixture_torn_down(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        fixture = self._fixtures.pop(id(fixturedef), None)
        if fixture is not None:
            self._record(self._judge(fixture.scope, fixture.policy, fixture.carried))
            if self._item is not None and fixture.policy.mode != "off":
                self._item.stash.setdefault(_JUDGED_FIXTURES, []).append(fixture.scope.owner)

    def _record(self, findings: list[Finding]) -> None:
        if findings and self._item is not None:
            self._item.stash.setdefault(_FINDINGS, []).extend(findings)

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
            return f"{name} of {node}"
    where = fixturedef.baseid or "conftest"
    return f"fixture {fixturedef.argname!r} ({fixturedef.scope} scope, {where})"
