"""A test's life for the plugin, in the order it happens; :mod:`.plugin`'s hooks call in here.

1. :meth:`Lifecycle.begin_test` (protocol start): the test becomes a :class:`~.scopes.Scope`, its checks
   take their snapshots.
2. A scoped fixture set up for it is a scope of its own (:meth:`Lifecycle.fixture_starting` ... ``ready``):
   what it does is not the test's, and the test's snapshots are taken again after it.
3. :meth:`Lifecycle.end_test` (after the test's teardown, or before the first scoped fixture's own
   teardown code runs): the test is judged and its :class:`~.verdict.Settlement` kept for its teardown
   report; scoped fixtures torn down with it are judged at their teardown
   (:meth:`Lifecycle.fixture_torn_down`). :mod:`.verdict` decides what it all means.
4. :meth:`Lifecycle.leave_test` (protocol end).

Before any check exists (a suite that has not imported TensorFlow), none of this runs: the plugin only
notes which test runs (:class:`.plugin.Watching`). When the suite imports TF, :meth:`Lifecycle.start`
takes over in the middle of whatever runs: the running test, and the wider-scoped fixtures being set up
(found on the stack, and settled as ready once their setup is over).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Any

import pytest

from . import markers, problems, scopes
from .dispatch import Checks
from .findings import Finding
from .leaks import Leak, LeakKind
from .markers import Policy
from .options import Settings
from .scopes import Scope
from .verdict import NOTHING, Settlement, cleans, judge, reported, settle

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


class Clock:
    """The plugin's own time in its per-test hooks, checks included (the JSON report's ``hook_seconds``):
    ``with lifecycle.clock:`` around each entry point; nested entries (a fixture finalizer inside the
    teardown hook) count once."""

    __slots__ = ("_depth", "_start", "seconds")

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0
        self._start = 0.0

    def __enter__(self) -> None:
        if not self._depth:
            self._start = perf_counter()
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if not self._depth:
            self.seconds += perf_counter() - self._start


class CurrentTest:
    """The running test, from the start of its protocol to its end (a slotted record, not
    ``item.stash``: it is read around every test)."""

    __slots__ = (
        "findings",
        "fixtures",
        "item",
        "judged",
        "policy",
        "ran",
        "scope",
        "settlement",
        "teardown_failed",
        "tearing_down",
        "undone_before",
    )

    def __init__(self, item: pytest.Item) -> None:
        self.item = item
        self.policy = _UNCHECKED
        self.scope: Scope | None = None  # until it is judged (None: not checked, or judged already)
        self.findings: list[Finding] = []
        self.judged = False
        self.ran = False  # its body ran (not skipped at setup): its teardown judged it
        self.fixtures: list[str] = []  # scoped fixtures judged in full at its teardown
        self.tearing_down = False
        self.teardown_failed = False
        self.settlement = NOTHING  # what its teardown report gets (see plugin.deliver)
        self.undone_before: list[Finding] = []  # what the plugin undid right before it (a brittle test's clue)


@dataclass(eq=False)
class ScopedFixture:
    """A fixture of a wider scope than ``function``, from its setup to its teardown."""

    scope: Scope
    policy: Policy
    carried: set[str] = field(default_factory=set)  # kinds a test inside left in place (blamed there)


class Polluters:
    """Leaks left in place (warn mode, allowed, not undoable): when a later test fails, the ones still
    there are named as its probable polluters, those whose known symptoms appear in the failure first:
    what detect-test-pollution would find by bisecting, from one run."""

    def __init__(self, checks: Checks) -> None:
        self._checks = checks
        self._left: list[tuple[Leak, Finding]] = []  # newest last

    def add(self, leak: Leak, finding: Finding) -> None:
        self._left.append((leak, finding))
        del self._left[:-20]

    def of(self, failure: str) -> list[tuple[bool, Finding]]:
        self._left = [(leak, finding) for leak, finding in self._left if self._checks.still_in_place(leak)]
        found = [(any(s in failure for s in leak.kind.symptoms), finding) for leak, finding in self._left]
        return sorted(found, key=lambda pair: not pair[0])


class Lifecycle:
    def __init__(self, config: pytest.Config, settings: Settings, baseline: Baseline | None) -> None:
        self._settings = settings
        self._baseline = baseline
        self._verbose = config.get_verbosity() > 0
        self.checks = Checks(config.pluginmanager)
        self.polluters = Polluters(self.checks)
        self.clock = Clock()
        self._known: dict[str, LeakKind] | None = None
        self.test: CurrentTest | None = None
        self._judging = False  # until some check exists: then start()
        self._fixtures: dict[int, ScopedFixture] = {}  # by id(fixturedef), while set up
        self._in_setup: list[tuple[pytest.FixtureDef[Any], ScopedFixture]] = []  # found set up at start()
        self._undone: list[Finding] = []  # what the last test's judging undid

    @property
    def hook_seconds(self) -> float:
        return self.clock.seconds

    # ---------------------------------------------------------------- collection

    def known_kinds(self) -> dict[str, LeakKind]:
        """Every leak kind, by name and by code (a check's bad ``kinds`` is a usage error naming it)."""
        if self._known is None:
            self._known = self.checks.known()
        return self._known

    def plugins_changed(self) -> None:
        """A plugin was registered: it may declare kinds."""
        self._known = None

    def prepare(self, items: list[pytest.Item], policies: list[Policy]) -> None:
        """Keep every test's policy, resolved once at collection."""
        for item, policy in zip(items, policies):
            item.stash[_POLICY] = policy

    def _policy(self, node: pytest.Item | pytest.Collector) -> Policy:
        return markers.policy(node, self._settings.mode, self.known_kinds)

    # ---------------------------------------------------------------- a test's life

    def begin_test(self, item: pytest.Item) -> None:
        if self.test is not None:  # the last one's protocol end was not seen (checking began inside it)
            self.leave_test()
        test = self.test = CurrentTest(item)
        if self._undone:
            test.undone_before, self._undone = self._undone, []
        if self._judging:
            self._begin(test)

    def start(
        self,
        item: pytest.Item | None = None,
        environ: dict[Any, Any] | None = None,
        in_setup: Sequence[tuple[pytest.FixtureDef[Any], pytest.FixtureRequest]] = (),
    ) -> None:
        """Some check exists now (TensorFlow was imported): judge every test from here on. ``item``: the
        test running now (judged on what it does from now on), ``environ``: ``os.environ`` as it was when
        that test started (the checks may compare with it), ``in_setup``: the wider-scoped fixtures being
        set up right now, outermost first (each a scope of its own until its setup is over)."""
        if self._judging:
            return
        self._judging = True
        if item is not None and (self.test is None or self.test.item is not item):
            self.test = CurrentTest(item)
        test = self.test
        if test is None:
            return
        self._begin(test, bottom=True)
        if environ is not None and test.scope is not None:
            test.scope.stash[scopes.ENVIRON] = environ
        for fixturedef, request in in_setup:
            fixture = self.fixture_starting(fixturedef, request)
            if fixture is not None:
                self._in_setup.append((fixturedef, fixture))

    def settle_setups(self) -> bool:
        """The fixtures :meth:`start` found being set up whose setup is over now are ready (or failed);
        whether any is still being set up."""
        if self._in_setup:
            pending = []
            for fixturedef, fixture in self._in_setup:
                cached = fixturedef.cached_result
                if cached is None:
                    pending.append((fixturedef, fixture))
                elif cached[2] is not None:  # its setup raised
                    self.fixture_failed(fixture)
                else:
                    self.fixture_ready(fixturedef, fixture)
            self._in_setup = pending
        return bool(self._in_setup)

    def _begin(self, test: CurrentTest, bottom: bool = False) -> None:
        item = test.item
        policy = item.stash.get(_POLICY, None)
        if policy is None:  # an item pytest_collection_modifyitems did not see
            policy = item.stash[_POLICY] = self._policy(item)
        if policy.mode == "off":
            return
        test.policy = policy
        scope = test.scope = Scope(item.nodeid, "test", item=item)
        self.checks.snapshot(scope)
        scopes.push(scope, bottom=bottom)

    def end_test(self, item: pytest.Item, teardown_failed: bool) -> Settlement:
        """Judge the test (if a fixture teardown did not already), and settle what it gets; kept on the
        test for its teardown report."""
        test = self.test
        if test is None or test.item is not item:
            return NOTHING
        self.settle_setups()
        self._judge_test(test)
        test.teardown_failed = teardown_failed
        test.settlement = settle(
            test.findings, problems.take(), verbose=self._verbose, nodeid=item.nodeid, teardown_failed=teardown_failed
        )
        self._undone = [finding for finding in test.findings if finding.cleaned]
        return test.settlement

    def leave_test(self) -> None:
        test, self.test = self.test, None
        if test is not None and test.scope is not None:  # not judged (TF first imported in its teardown)
            scopes.pop(test.scope)

    def judged(self, test: CurrentTest) -> list[str]:
        """The owners this test's teardown checked in full: the baseline may replace their entries (so
        none without a baseline)."""
        if self._settings.baseline is None:
            return []
        return [test.item.nodeid, *test.fixtures] if test.judged and test.ran else test.fixtures

    def _judge_test(self, test: CurrentTest) -> None:
        scope = test.scope
        if scope is None:
            return
        test.scope = None
        test.judged = True
        scopes.pop(scope)
        test.findings.extend(self._judge(scope, test.policy))

    # ---------------------------------------------------------------- scoped fixtures

    def fixture_starting(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> ScopedFixture | None:
        """A wider-scoped fixture starts its setup: what it creates from now on is its own, judged under
        the markers of the module or class it is set up for."""
        if self._in_setup:
            self.settle_setups()
        if fixturedef.scope == "function" or self.test is None:
            return None
        fixture = ScopedFixture(Scope(_label(fixturedef, request), "fixture"), self._policy(request.node))
        self.checks.snapshot(fixture.scope)
        scopes.push(fixture.scope)
        return fixture

    def fixture_failed(self, fixture: ScopedFixture) -> None:
        """Its setup raised: pytest will not tear it down, so judge (and clean) what it left now."""
        scopes.pop(fixture.scope)
        self._record(self._judge(fixture.scope, fixture.policy))

    def fixture_ready(self, fixturedef: pytest.FixtureDef[Any], fixture: ScopedFixture) -> None:
        """Its setup finished: it owns what it did, the test does not."""
        scopes.pop(fixture.scope)
        self._fixtures[id(fixturedef)] = fixture
        current = scopes.current()
        if current is not None:
            self.checks.snapshot(current)
        fixturedef.addfinalizer(functools.partial(self._before_fixture_teardown, fixture))

    def _before_fixture_teardown(self, fixture: ScopedFixture) -> None:
        # Runs before the fixture's own teardown code (finalizers run last-in, first-out), so the test
        # is judged on what it did, not on what the fixture's teardown undoes. A parametrized fixture
        # switching params is torn down in the next test's setup: that test has not run yet. What the
        # fixture's teardown does from here on is its own again.
        with self.clock:
            test = self.test
            if test is not None and test.tearing_down:
                self._judge_test(test)
            scopes.push(fixture.scope)

    def fixture_torn_down(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        fixture = self._fixtures.pop(id(fixturedef), None)
        if fixture is not None:
            scopes.pop(fixture.scope)
            self._record(self._judge(fixture.scope, fixture.policy, fixture.carried))
            if self.test is not None and fixture.policy.mode != "off":
                self.test.fixtures.append(fixture.scope.owner)

    def _record(self, findings: list[Finding]) -> None:
        if findings and self.test is not None:
            self.test.findings.extend(findings)

    # ---------------------------------------------------------------- judging

    def _judge(self, scope: Scope, policy: Policy, carried: set[str] | frozenset[str] = frozenset()) -> list[Finding]:
        """Find what ``scope`` leaked, let the verdict judge it, undo what it says to."""
        if not self._judging:
            return []
        if policy.mode == "off":
            self.checks.find_leaks(scope)  # let record-keeping checks drop what they kept for it
            return []
        leaks = [
            leak for leak in self.checks.find_leaks(scope) if leak.kind.name not in carried and reported(leak, policy)
        ]
        if not leaks:
            return []
        cleaned = [leak for leak in leaks if cleans(leak, policy)]
        if cleaned:
            self.checks.cleanup(scope, cleaned)
        findings = judge(leaks, policy, self._baseline, self._settings.update_baseline, scope.kind)
        for leak, finding in zip(leaks, findings):
            if not finding.cleaned and finding.outcome != "tidied":
                self._left_in_place(leak, finding)
        return findings

    def _left_in_place(self, leak: Leak, finding: Finding) -> None:
        """A leak stays (warn mode, allowed, not undoable): later failures may be its victims, and the
        wider fixtures around it must not be blamed for it again."""
        if leak.kind.compared:
            for fixture in self._fixtures.values():
                fixture.carried.add(leak.kind.name)
        if leak.kind.pollutes:
            self.polluters.add(leak, finding)


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


def fixtures_in_setup() -> list[tuple[pytest.FixtureDef[Any], pytest.FixtureRequest]]:
    """The fixtures whose setup is running right now, outermost first, read off the stack: pytest's own
    ``pytest_fixture_setup`` implementation holds each ``fixturedef`` and ``request``. Called once, when
    checking begins in the middle of a run (the hooks that follow fixtures were not registered yet)."""
    found: list[tuple[pytest.FixtureDef[Any], pytest.FixtureRequest]] = []
    frame: Any = sys._getframe(1)
    seen: set[int] = set()
    while frame is not None:
        if frame.f_code.co_name == "pytest_fixture_setup":
            fixturedef = frame.f_locals.get("fixturedef")
            request = frame.f_locals.get("request")
            if (
                isinstance(fixturedef, pytest.FixtureDef)
                and isinstance(request, pytest.FixtureRequest)
                and id(fixturedef) not in seen  # also seen by other plugins' wrappers (--setup-show)
            ):
                seen.add(id(fixturedef))
                found.append((fixturedef, request))
        frame = frame.f_back
    found.reverse()
    return found
