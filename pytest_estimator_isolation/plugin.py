"""pytest hooks: options, markers, fixtures, and delivering what :mod:`.runner` and :mod:`.verdict`
decided around each test. Nothing here imports TensorFlow; the per-test hooks are registered only when
some test is checked (:class:`Following`), the judging ones and the built-in checks only once some check
exists (:class:`Judging`: the suite imported TensorFlow, or a user registered a check of their own).

The per-test line, in the order pytest runs it:

- ``pytest_runtest_protocol`` (:class:`Following`, one ``wrapper=True`` hook): the test begins, and ends.
- ``pytest_fixture_setup`` (:class:`Following`): a wider-scoped fixture is a scope of its own.
- ``pytest_runtest_teardown`` (:class:`Judging`): after the test's teardown, the runner judges it and the
  verdict settles it; here it is delivered (warnings, a failure raised at teardown, junit properties).
- ``pytest_runtest_makereport`` (:class:`Judging`): the findings go on the teardown report (so xdist
  carries them), and a failure names the leaks still in place as probable polluters.
- ``pytest_fixture_post_finalizer`` (:class:`Judging`): a wider-scoped fixture torn down is judged.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Generator
from time import perf_counter
from typing import TYPE_CHECKING, Any

import pytest

from . import _imports, _tempdirs, calls, gate, markers, options, problems, report, scopes
from .fixtures import copy_model_dir, keras_clean, make_estimator, model_dir, run_config, tf_graph, tf_session
from .leaks import EstimatorIsolationWarning, Site
from .markers import Policy
from .verdict import Settlement

if TYPE_CHECKING:  # the runner (and with it the checks' machinery) is imported only when some test is checked
    from .baseline import Baseline  # noqa: F401 (named in a StashKey string)
    from .runner import Runner

__all__ = ["copy_model_dir", "keras_clean", "make_estimator", "model_dir", "run_config", "tf_graph", "tf_session"]

SETTINGS = pytest.StashKey[options.Settings]()
RUNNER = pytest.StashKey["Runner"]()
BASELINE = pytest.StashKey["Baseline | None"]()
_WORKER_USAGE_ERROR = pytest.StashKey[str]()  # in the xdist controller: a worker's usage error
USAGE_KEY = "estimator_isolation_usage_error"  # in xdist's workeroutput

_PREFIX = "estimator_isolation."  # every plugin object this plugin registers is named with it
_JUDGING = _PREFIX + "judging"


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
        judge = gate.Gate(settings, baseline)
        register(judge, _PREFIX + "gate")
        register(report.Summary(config, settings, judge, lambda: _seconds(config)), _PREFIX + "summary")
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
        importlib.import_module(f"{__package__}.html_report").register(config)


def _forget_run() -> None:
    """The run is over: a second in-process run (pytester, IDE runners) starts with nothing of this one."""
    tf_facade = sys.modules.get(f"{__package__}._tf")
    if tf_facade is not None:
        tf_facade.uninstall()
    _imports.uninstall()
    _tempdirs.unwatch()
    problems.reset()
    scopes.clear()
    calls.forget()


def _enable(config: pytest.Config) -> Runner:
    """Start checking: follow the tests and their scoped fixtures now; judge them once TensorFlow is
    imported (a suite that never imports it pays one hook wrapper per test, and one per fixture set up)."""
    runner = config.stash.get(RUNNER, None)
    if runner is None:
        from .runner import Runner

        runner = config.stash[RUNNER] = Runner(config, config.stash[SETTINGS], config.stash[BASELINE])
        _tempdirs.watch()  # which dirs are this run's temporary ones: what mkdtemp makes from now on
        config.pluginmanager.register(Following(runner), _PREFIX + "following")
        _imports.when_imported("tensorflow", lambda _module: _register_checks(config))
    return runner


def _start_judging(config: pytest.Config) -> None:
    """Some check exists: judge every test from now on, the running one (if any) included."""
    if not config.pluginmanager.has_plugin(_JUDGING):
        runner = config.stash[RUNNER]
        config.pluginmanager.register(Judging(runner), _JUDGING)
        runner.start()


def _register_checks(config: pytest.Config) -> None:
    from . import _tf
    from .checks import RunInfo, builtin

    _start_judging(config)  # first: a problem instrumenting TF below is delivered on the running test
    _tf.install()
    for check in builtin(RunInfo.of(config, config.stash[SETTINGS].all_threads)):
        name: str = getattr(check, "name")  # noqa: B009 (every built-in check names itself)
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.register(check, name)


def _seconds(config: pytest.Config) -> dict[str, float]:
    runner = config.stash.get(RUNNER, None)
    return {**runner.checks.seconds, report.HOOKS_KEY: runner.hook_seconds} if runner is not None else {}


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
    runner = _enable(config) if default != "off" else config.stash.get(RUNNER, None)
    if runner is not None:
        runner.known_kinds()  # a check's bad kinds stop the run here, too
        kinds: markers.Known = runner.known_kinds
    else:  # off, unless a marker turns it on: the kinds are only needed if a marker names some
        import functools

        kinds = functools.cache(calls.Checks(config.pluginmanager).known)

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
    if runner is None and any(policy.mode != "off" for policy in policies):
        runner = _enable(config)
    if runner is not None:
        runner.prepare(items, policies)
        if runner.checks.any_check():  # a check of the user's own, in a suite that may never import TF
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


class Following:
    """Which test runs, and which scoped fixtures are being set up: registered when some test is
    checked, so that TensorFlow imported in the middle of a test finds who owns what it creates. Every
    hook adds its time to the plugin's own clock (``hook_seconds`` in the JSON report)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    @pytest.hookimpl
    def pytest_plugin_registered(self) -> None:
        self.runner.plugins_changed()

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # tryfirst: snapshot before other plugins' setup work
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        runner = self.runner
        start = perf_counter()
        runner.begin_test(item)
        runner.hook_seconds += perf_counter() - start
        try:
            return (yield)
        finally:
            start = perf_counter()
            runner.leave_test()
            runner.hook_seconds += perf_counter() - start

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, Any, Any]:
        runner = self.runner
        start = perf_counter()
        fixture = runner.fixture_starting(fixturedef, request)
        runner.hook_seconds += perf_counter() - start
        if fixture is None:
            return (yield)
        try:
            result = yield
        except BaseException:
            start = perf_counter()
            runner.fixture_failed(fixture)
            runner.hook_seconds += perf_counter() - start
            raise
        start = perf_counter()
        runner.fixture_ready(fixturedef, fixture)
        runner.hook_seconds += perf_counter() - start
        return result


class Judging:
    """The hooks that judge every test and deliver what the runner and the verdict decided,
    registered once some check exists (the built-in ones when the suite imports TensorFlow)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    @pytest.hookimpl
    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        start = perf_counter()
        self.runner.fixture_torn_down(fixturedef)
        self.runner.hook_seconds += perf_counter() - start

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        test = self.runner.test
        if test is not None:
            test.tearing_down = True
        try:
            yield
        except BaseException:
            self._deliver(item, teardown_failed=True)
            raise
        self._deliver(item, teardown_failed=False)

    def _deliver(self, item: pytest.Item, teardown_failed: bool) -> None:
        start = perf_counter()
        try:
            settlement = self.runner.end_test(item, teardown_failed)
            test = self.runner.test
            if test is not None and test.findings:
                item.user_properties.extend(report.junit_properties(test.findings))
            _deliver(item, settlement)
        finally:
            self.runner.hook_seconds += perf_counter() - start

    # tryfirst: the outermost wrapper, so it sees the report after pytest's xfail handling
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        rep = yield
        if call.when != "setup" or rep.failed:
            start = perf_counter()
            self._report(item, call.when, rep)
            self.runner.hook_seconds += perf_counter() - start
        return rep

    def _report(self, item: pytest.Item, when: str, rep: pytest.TestReport) -> None:
        runner = self.runner
        test = runner.test
        if test is None or test.item is not item:
            return
        if when == "call":
            test.ran = not rep.skipped or hasattr(rep, "wasxfail")
        if rep.failed and when != "teardown":
            polluters = runner.polluters.of(str(rep.longrepr))
            if polluters:
                rep.sections.append(("estimator isolation: leaks still in place", report.format_polluters(polluters)))
            notes = scopes.notes()
            if notes:
                rep.sections.append(("estimator isolation", "\n".join(notes)))
        if when == "teardown":
            if test.findings:  # on the report, so xdist carries it to the controller's summary
                setattr(rep, report.REPORT_ATTR, [finding.to_json() for finding in test.findings])
            judged = runner.judged(test)
            if judged:  # what the baseline may replace, and call fixed (see gate.py)
                setattr(rep, report.JUDGED_ATTR, judged)
            if hasattr(rep, "wasxfail") and test.failed:  # see verdict.fails_xfail
                rep.outcome = "failed"
                del rep.wasxfail


def _deliver(item: pytest.Item, settlement: Settlement) -> None:
    """Emit the warnings, then raise the failure (at teardown: the test's report shows it as an error)."""
    for text, where in settlement.warnings:
        _warn_at(item, text, where)
    if settlement.failure is not None:
        pytest.fail(settlement.failure, pytrace=False)


def _warn_at(item: pytest.Item, text: str, where: Site | None) -> None:
    """Warn with the leak's creation site as the warning's location; under ``-W error`` the error
    names that site too, not this plugin's code."""
    if where is None or not where.line:
        path, line = item.reportinfo()[:2]
        filename, lineno = str(path), (line or 0) + 1
    else:
        filename, lineno = where.path, where.line
    try:
        warnings.warn_explicit(EstimatorIsolationWarning(text), EstimatorIsolationWarning, filename, lineno)
    except EstimatorIsolationWarning as exc:
        __tracebackhide__ = True
        pytest.fail(f"{filename}:{lineno}: {exc}", pytrace=False)
