"""pytest hooks: options, markers, fixtures, and delivering what :mod:`.lifecycle` and :mod:`.verdict`
decided around each test. Nothing here imports TensorFlow.

What is registered when. A checking run starts with :class:`Watching` alone (two plain hooks a test: which
test runs, and the environment it started with), so a suite that never imports TensorFlow pays next to
nothing per test. Once some check exists (the suite imported TF: the built-in checks; or a user
registered one of their own), :class:`Following` and :class:`Judging` take over, in the middle of the
running test if need be. The per-test line then is, in the order pytest runs it:

- ``pytest_runtest_protocol`` (:class:`Following`, one ``wrapper=True`` hook): the test begins, and ends.
- ``pytest_fixture_setup`` (:class:`Following`): a wider-scoped fixture is a scope of its own.
- ``pytest_runtest_teardown`` (:class:`Judging`): after the test's teardown, the lifecycle judges it and
  the verdict settles it.
- ``pytest_runtest_makereport`` (:class:`Judging`): the one place the verdict is delivered, on the
  teardown report (so xdist carries it): the findings, junit properties, warnings, and a failure (the
  report's outcome). A failing setup or call report gets the leaks still in place as its probable
  polluters, what the plugin undid right before it, and the checks' notes.
- ``pytest_fixture_post_finalizer`` (:class:`Judging`): a wider-scoped fixture torn down is judged.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from . import _imports, _tempdirs, gate, markers, options, problems, report, scopes
from .fixtures import copy_model_dir, keras_clean, make_estimator, model_dir, run_config, tf_graph, tf_session
from .leaks import EstimatorIsolationWarning, Site
from .markers import Policy
from .verdict import Settlement

if TYPE_CHECKING:  # the lifecycle (and the checks' machinery) is imported only when some test is checked
    from .baseline import Baseline  # noqa: F401 (named in a StashKey string)
    from .lifecycle import CurrentTest, Lifecycle

__all__ = ["copy_model_dir", "keras_clean", "make_estimator", "model_dir", "run_config", "tf_graph", "tf_session"]

SETTINGS = pytest.StashKey[options.Settings]()
LIFECYCLE = pytest.StashKey["Lifecycle"]()
BASELINE = pytest.StashKey["Baseline | None"]()
_WORKER_USAGE_ERROR = pytest.StashKey[str]()  # in the xdist controller: a worker's usage error
# Where a test report's findings go (the summary, pytest-html's report): see Collecting.
_TAKERS = pytest.StashKey[list[Callable[[pytest.TestReport], None]]]()
USAGE_KEY = "estimator_isolation_usage_error"  # in xdist's workeroutput

_PREFIX = "estimator_isolation."  # every plugin object this plugin registers is named with it
_JUDGING = _PREFIX + "judging"
_WATCHING = _PREFIX + "watching"
_SETTLING = _PREFIX + "settling"
_COLLECTING = _PREFIX + "collecting"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoption(parser)


@pytest.hookimpl(tryfirst=True)  # tryfirst: before pytest loads the initial conftests of the paths given
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """``--estimator-isolation tests/``: the bare flag means strict, and ``tests/`` is a path, not a mode."""
    freed = options.free_swallowed_path(args)
    if freed:  # the early parse already read them as the mode: tell the initial conftest loading
        early = early_config.known_args_namespace
        early.estimator_isolation = "strict"
        early.file_or_dir = [*getattr(early, "file_or_dir", []), *freed]


def pytest_configure(config: pytest.Config) -> None:
    markers.register(config)
    settings = options.resolve(config)
    config.stash[SETTINGS] = settings
    config.add_cleanup(_forget_run)
    baseline = None
    if settings.baseline is not None:
        from .baseline import Baseline

        baseline = Baseline.load(settings.baseline, missing_ok=settings.update_baseline)
    config.stash[BASELINE] = baseline
    register = config.pluginmanager.register
    if not hasattr(config, "workerinput"):  # in the xdist controller, or without xdist
        options.check_paths(settings)
        baseline_gate = gate.Gate(settings, baseline)
        register(baseline_gate, _PREFIX + "gate")
        summary = report.Summary(config, settings, baseline_gate, lambda: _seconds(config))
        register(summary, _PREFIX + "summary")
        takers: list[Callable[[pytest.TestReport], None]] = [summary.take]
        config.stash[_TAKERS] = takers
        if settings.annotations:
            from .annotations import Annotations

            register(Annotations(), _PREFIX + "annotations")
    from .checks import BuiltinKinds

    register(BuiltinKinds(), _PREFIX + "kinds")
    if settings.mode != "off":
        _enable(config)
    if settings.keras_reset:
        register(KerasReset(), _PREFIX + "keras_reset")
    if config.pluginmanager.hasplugin("html"):  # pytest-html: the leaks in its report too
        html = importlib.import_module(f"{__package__}.html_report").register(config)
        if html is not None:
            config.stash[_TAKERS].append(html.take)


@pytest.hookimpl(trylast=True)  # trylast: after pytest-xdist's configure registered its controller
def pytest_sessionstart(session: pytest.Session) -> None:
    if session.config.pluginmanager.has_plugin("dsession"):  # the xdist controller: its workers judge
        _collect(session.config)


def _collect(config: pytest.Config) -> None:
    """Findings can arrive from now on: send every test report to whoever shows them (see Collecting)."""
    takers = config.stash.get(_TAKERS, None)
    if takers and not config.pluginmanager.has_plugin(_COLLECTING):
        config.pluginmanager.register(Collecting(takers), _COLLECTING)


def _forget_run() -> None:
    """The run is over: a second in-process run (pytester, IDE runners) starts with nothing of this one."""
    tf_facade = sys.modules.get(f"{__package__}._tf")
    if tf_facade is not None:
        tf_facade.uninstall()
    _imports.uninstall()
    _tempdirs.unwatch()
    problems.reset()
    scopes.clear()


def _enable(config: pytest.Config) -> Lifecycle:
    """Start checking: note which test runs; judge the tests once some check exists (the built-in ones
    once the suite imports TensorFlow)."""
    lifecycle = config.stash.get(LIFECYCLE, None)
    if lifecycle is None:
        from .lifecycle import Lifecycle

        lifecycle = config.stash[LIFECYCLE] = Lifecycle(config, config.stash[SETTINGS], config.stash[BASELINE])
        _tempdirs.watch()  # which dirs are this run's temporary ones: what mkdtemp makes from now on
        config.pluginmanager.register(Watching(lifecycle), _WATCHING)
        _imports.when_imported("tensorflow", lambda _module: _tensorflow_imported(config))
    return lifecycle


def _start_judging(config: pytest.Config) -> None:
    """Some check exists: judge every test from now on, the running one (if any) included, and the
    wider-scoped fixtures being set up right now."""
    pluginmanager = config.pluginmanager
    if pluginmanager.has_plugin(_JUDGING):
        return
    from .lifecycle import fixtures_in_setup

    lifecycle = config.stash[LIFECYCLE]
    watching = pluginmanager.get_plugin(_WATCHING)
    with lifecycle.clock:
        if isinstance(watching, Watching):
            pluginmanager.unregister(watching)
            lifecycle.start(watching.item, watching.environ, fixtures_in_setup())
        else:
            lifecycle.start()
        pluginmanager.register(Following(lifecycle), _PREFIX + "following")
        pluginmanager.register(Judging(lifecycle), _JUDGING)
        _collect(config)
        if lifecycle.settle_setups():
            pluginmanager.register(Settling(lifecycle), _SETTLING)


def _tensorflow_imported(config: pytest.Config) -> None:
    from . import _tf, checks

    _start_judging(config)  # first: a problem instrumenting TF below is delivered on the running test
    with config.stash[LIFECYCLE].clock:
        _tf.install()
        run = checks.RunInfo.of(config)
        for name in checks.MODULES:
            checks.register(config, name, run)


def _seconds(config: pytest.Config) -> dict[str, float]:
    lifecycle = config.stash.get(LIFECYCLE, None)
    return {**lifecycle.checks.seconds, report.HOOKS_KEY: lifecycle.hook_seconds} if lifecycle is not None else {}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """In the xdist controller: a worker that stopped on a usage error (a bad marker) tells why."""
    message = getattr(node, "workeroutput", {}).get(USAGE_KEY)
    if message:
        node.config.stash[_WORKER_USAGE_ERROR] = message


@pytest.hookimpl(trylast=True)  # trylast: the exit status pytest returns is set last
def pytest_sessionfinish(session: pytest.Session) -> None:
    message = session.config.stash.get(_WORKER_USAGE_ERROR, None)
    if message is not None:  # what pytest itself prints for a UsageError, and its exit status
        sys.stderr.write(f"ERROR: {message}\n")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller's report adds these up
        workeroutput[report.SECONDS_KEY] = _seconds(session.config)
        workeroutput[report.TF_KEY] = _imports.loaded_version()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Read every test's markers (bad ones stop the run here) and start checking if any test is."""
    default = config.stash[SETTINGS].mode
    if default != "off" and "tensorflow" in sys.modules:
        from ._tf import placeholders_first

        placeholders_first(items)  # a setUpModule leak is then reported on a test that ran
    lifecycle = _enable(config) if default != "off" else config.stash.get(LIFECYCLE, None)
    if lifecycle is not None:
        # Another check's bad kinds stop the run here. The built-in kinds are read when needed (a marker
        # names a kind, TF is imported): importing every check module costs a suite that never imports TF.
        lifecycle.checks.kinds(skip=config.pluginmanager.get_plugin(_PREFIX + "kinds"))
        kinds: markers.Known = lifecycle.known_kinds
    else:  # off, unless a marker turns it on: the kinds are only needed if a marker names some
        import functools

        from .dispatch import Checks

        kinds = functools.cache(Checks(config.pluginmanager).known)

    try:
        parents: dict[markers.Node, Policy] = {}
        policies = [markers.policy(item, default, kinds, parents) for item in items]
    except pytest.UsageError as exc:
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is None:
            raise
        # An xdist worker: a UsageError here would reach the controller as an INTERNALERROR with its
        # message lost. Run nothing, and let the controller report it (pytest_testnodedown above).
        workeroutput[USAGE_KEY] = str(exc)
        config.hook.pytest_deselected(items=items[:])
        items[:] = []
        return
    if lifecycle is None and any(policy.mode != "off" for policy in policies):
        lifecycle = _enable(config)
    if lifecycle is not None:
        lifecycle.prepare(items, policies)
        if lifecycle.checks.any_check():  # a check of the user's own, in a suite that may never import TF
            _start_judging(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    mode = config.stash[SETTINGS].mode
    if mode == "off":
        return None
    tf = _imports.loaded_version()
    return f"estimator-isolation: {mode} (TensorFlow {tf if tf else 'not imported yet'})"


class KerasReset:
    """``--estimator-isolation-keras-reset``: a fresh Keras session around every test, cleared before
    the checks judge the test (so Keras' own state is never blamed on it)."""

    def __init__(self) -> None:
        from . import _tf

        self.clear = _tf.keras_clear_session

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # tryfirst: before other plugins' setup and the snapshot
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self.clear()
        return (yield)

    @pytest.hookimpl(wrapper=True, trylast=True)  # trylast: innermost, so this runs before the judging
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            return (yield)
        finally:
            self.clear()


def _environ() -> dict[Any, Any]:
    """``os.environ`` as it stores it: copied in C (about 1 us), not decoded entry by entry."""
    data = getattr(os.environ, "_data", None)
    return data.copy() if isinstance(data, dict) else dict(os.environ)


class Collecting:
    """Each test report, to the summary and pytest-html's report (the findings a teardown report carries).
    Registered only where findings can arrive: once this process judges tests, or in an xdist controller,
    whose workers judge them. Until then a test report costs the plugin nothing."""

    def __init__(self, takers: list[Callable[[pytest.TestReport], None]]) -> None:
        self.takers = takers

    @pytest.hookimpl(tryfirst=True)  # tryfirst: before pytest-html builds the row that shows the findings
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for take in self.takers:
            take(report)


class Watching:
    """Before any check exists: which test runs (and the environment it started with), so that checking
    can begin in the middle of it when the suite imports TensorFlow there. Two plain hooks a test."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.item: pytest.Item | None = None
        self.environ: dict[Any, Any] | None = None

    @pytest.hookimpl
    def pytest_plugin_registered(self) -> None:
        self.lifecycle.plugins_changed()

    @pytest.hookimpl(tryfirst=True)  # tryfirst: before other plugins' protocol implementations
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        self.item, self.environ = item, _environ()

    @pytest.hookimpl
    def pytest_runtest_logfinish(self) -> None:
        self.item = self.environ = None


class Following:
    """Which test runs, and which scoped fixtures are being set up, once some check exists. Every hook
    adds its time to the plugin's own clock (``hook_seconds`` in the JSON report)."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle

    @pytest.hookimpl
    def pytest_plugin_registered(self) -> None:
        self.lifecycle.plugins_changed()

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # tryfirst: snapshot before other plugins' setup work
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        lifecycle = self.lifecycle
        with lifecycle.clock:
            lifecycle.begin_test(item)
        try:
            return (yield)
        finally:
            with lifecycle.clock:
                lifecycle.leave_test()

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, Any, Any]:
        lifecycle = self.lifecycle
        with lifecycle.clock:
            fixture = lifecycle.fixture_starting(fixturedef, request)
        if fixture is None:
            return (yield)
        try:
            result = yield
        except BaseException:
            with lifecycle.clock:
                lifecycle.fixture_failed(fixture)
            raise
        with lifecycle.clock:
            lifecycle.fixture_ready(fixturedef, fixture)
        return result


class Settling:
    """Registered only while fixtures found being set up when checking began are not known to be ready:
    at the latest, they are when the test's call begins."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle

    @pytest.hookimpl(tryfirst=True)  # tryfirst: before the test body runs
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        with self.lifecycle.clock:
            if not self.lifecycle.settle_setups():
                item.config.pluginmanager.unregister(self)


class Judging:
    """The hooks that judge every test and deliver what the lifecycle and the verdict decided, registered
    once some check exists (the built-in ones when the suite imports TensorFlow)."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle

    @pytest.hookimpl
    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        with self.lifecycle.clock:
            self.lifecycle.fixture_torn_down(fixturedef)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        lifecycle = self.lifecycle
        test = lifecycle.test
        if test is not None:
            test.tearing_down = True
        try:
            yield
        except BaseException:
            with lifecycle.clock:
                lifecycle.end_test(item, teardown_failed=True)
            raise
        with lifecycle.clock:
            lifecycle.end_test(item, teardown_failed=False)

    # tryfirst: the outermost wrapper, so it has the last word on the report (after pytest's xfail handling)
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        rep = yield
        if call.when == "setup" and not rep.failed:
            return rep
        lifecycle = self.lifecycle
        test = lifecycle.test
        if test is None or test.item is not item:
            return rep
        with lifecycle.clock:
            if call.when == "teardown":
                deliver(item, rep, test, lifecycle.judged(test))
            else:
                if call.when == "call":
                    test.ran = not rep.skipped or hasattr(rep, "wasxfail")
                if rep.failed:
                    _explain_failure(lifecycle, test, rep)
        return rep


def _explain_failure(lifecycle: Lifecycle, test: CurrentTest, rep: pytest.TestReport) -> None:
    """A failing setup or call: the leaks still in place as its probable polluters, what the plugin undid
    right before it (it may depend on that leak), and what the checks noted while it ran."""
    polluters = lifecycle.polluters.of(str(rep.longrepr))
    if polluters:
        rep.sections.append(("estimator isolation: leaks still in place", report.format_polluters(polluters)))
    if test.undone_before:
        rep.sections.append(("estimator isolation: undone before this test", report.format_undone(test.undone_before)))
    notes = scopes.notes()
    if notes:
        rep.sections.append(("estimator isolation", "\n".join(notes)))


def deliver(item: pytest.Item, rep: pytest.TestReport, test: CurrentTest, judged: list[str]) -> None:
    """The one place the verdict reaches pytest: the test's teardown report carries its findings (so
    xdist carries them to the controller's summary), its junit properties and, for a settlement that
    fails the test, the failure (its outcome: an error at teardown, an xfail test's too). Warnings are
    emitted at the leak's creation site; one the warnings filters turn into an error fails the test with
    the same text."""
    if test.findings:
        setattr(rep, report.REPORT_ATTR, [finding.to_json() for finding in test.findings])
        rep.user_properties.extend(report.junit_properties(test.findings))
    if judged:  # what the baseline may replace, and call fixed (see gate.py)
        setattr(rep, report.JUDGED_ATTR, judged)
    settlement: Settlement = test.settlement
    failures = [settlement.failure] if settlement.failure is not None else []
    for text, where in settlement.warnings:
        raised = _warn_at(item, text, where)
        if raised is not None:
            failures.append(raised)
    if not failures:
        return
    text = "\n".join(failures)
    if rep.failed:  # its teardown failed already: that error stays, this is added to it
        rep.sections.append(("estimator isolation", text))
        return
    rep.outcome = "failed"
    rep.longrepr = text
    if hasattr(rep, "wasxfail"):  # a leak is not the failure an xfail test expects
        del rep.wasxfail


def _warn_at(item: pytest.Item, text: str, where: Site | None) -> str | None:
    """Warn with the leak's creation site as the warning's location; under ``-W error`` the failure
    (returned) names that site too, not this plugin's code."""
    if where is None or not where.line:
        path, line = item.reportinfo()[:2]
        filename, lineno = str(path), (line or 0) + 1
    else:
        filename, lineno = where.path, where.line
    try:
        warnings.warn_explicit(EstimatorIsolationWarning(text), EstimatorIsolationWarning, filename, lineno)
    except EstimatorIsolationWarning as exc:
        return f"{filename}:{lineno}: {exc}"
    return None
