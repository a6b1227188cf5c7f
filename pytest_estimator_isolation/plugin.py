"""pytest hooks: options, markers, fixtures, and the calls into :class:`~.checker.Checker` around each
test. Nothing here imports TensorFlow; the per-test hooks are registered only when some test is checked,
and the built-in checks only once the suite has imported TensorFlow."""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Generator
from pathlib import Path
from time import perf_counter as _now
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from . import _imports, gate, markers, options, problems, report, scopes
from .fixtures import copy_model_dir, keras_clean, make_estimator, model_dir, run_config, tf_graph, tf_session
from .leaks import EstimatorIsolationWarning
from .verdict import NOTHING, Policy

if TYPE_CHECKING:  # the checks and the TF facade are imported only when some test is checked
    from .baseline import Baseline  # noqa: F401 (named in a StashKey string)
    from .checker import Checker

__all__ = ["copy_model_dir", "keras_clean", "make_estimator", "model_dir", "run_config", "tf_graph", "tf_session"]

SETTINGS = pytest.StashKey[options.Settings]()
CHECKER = pytest.StashKey["Checker"]()
BASELINE = pytest.StashKey["Baseline | None"]()
_FAILED = pytest.StashKey[bool]()
_WORKER_USAGE_ERROR = pytest.StashKey[str]()  # in the xdist controller: a worker's usage error
USAGE_KEY = "estimator_isolation_usage_error"  # in xdist's workeroutput

REGISTRY_NAME = "estimator-isolation-model-dirs.jsonl"
_JUDGING = "estimator_isolation_judging"


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
    baseline = None
    if settings.baseline is not None:
        from .baseline import Baseline

        baseline = Baseline.load(settings.baseline, missing_ok=settings.update_baseline)
    config.stash[BASELINE] = baseline
    if not hasattr(config, "workerinput"):  # in the xdist controller, or without xdist
        options.check_paths(settings)
        judge = gate.Gate(settings, baseline)
        config.pluginmanager.register(judge, "estimator_isolation_gate")
        collector = report.Collector(config, settings, judge, lambda: _seconds(config))
        config.pluginmanager.register(collector, "estimator_isolation_report")
        if settings.annotations:
            from .annotations import Annotations

            config.pluginmanager.register(Annotations(), "estimator_isolation_annotations")
    from .kinds import BuiltinKinds

    config.pluginmanager.register(BuiltinKinds(), "estimator_isolation.kinds")
    if settings.mode != "off":
        _enable(config)
    if settings.keras_reset:
        config.pluginmanager.register(KerasReset(), "estimator_isolation_keras_reset")
    if config.pluginmanager.hasplugin("html"):  # pytest-html: the leaks in its report too
        importlib.import_module(f"{__package__}.html_report").register(config)


def _enable(config: pytest.Config) -> Checker:
    """Start checking: follow the tests and their scoped fixtures now; judge them once TensorFlow is
    imported (a suite that never imports it pays one hook wrapper per test, and one per fixture set up)."""
    checker = config.stash.get(CHECKER, None)
    if checker is None:
        from .checker import Checker

        checker = config.stash[CHECKER] = Checker(config, config.stash[SETTINGS], config.stash[BASELINE])
        config.pluginmanager.register(Following(checker), "estimator_isolation_following")
        _imports.when_imported("tensorflow", lambda _module: _register_checks(config))
    return checker


def _start_judging(config: pytest.Config) -> None:
    """Some check exists: judge every test from now on, the running one (if any) included."""
    if not config.pluginmanager.has_plugin(_JUDGING):
        checker = config.stash[CHECKER]
        config.pluginmanager.register(Judging(checker), _JUDGING)
        checker.start()


def _register_checks(config: pytest.Config) -> None:
    from . import _tf
    from .checks import builtin

    _start_judging(config)  # first: a problem instrumenting TF below is delivered on the running test
    _tf.install()
    roots, registry, worker = _temp_roots(config)
    checks = builtin(
        temp_roots=roots,
        registry=registry,
        worker=worker,
        rootdir=str(config.rootpath),
        all_threads=config.stash[SETTINGS].all_threads,
    )
    for name, check in checks:
        if not config.pluginmanager.has_plugin(f"estimator_isolation.{name}"):
            config.pluginmanager.register(check, f"estimator_isolation.{name}")


def _temp_roots(config: pytest.Config) -> tuple[list[str], Path | None, str]:
    """Where this run's temporary directories live, the model_dir registry xdist workers share, and
    this worker's id. pytest-xdist gives each worker ``--basetemp=<root>/popen-gwN``."""
    basetemp = config.getoption("basetemp", None)
    workerinput: Any = getattr(config, "workerinput", None)
    root = None
    if basetemp:
        root = Path(basetemp).parent if workerinput is not None else Path(basetemp)
    roots = [r for r in (tempfile.gettempdir(), os.environ.get("PYTEST_DEBUG_TEMPROOT"), root) if r]
    if workerinput is None:
        return [str(r) for r in roots], None, ""
    registry = root / REGISTRY_NAME if root is not None else None
    return [str(r) for r in roots], registry, str(workerinput.get("workerid", ""))


def _seconds(config: pytest.Config) -> dict[str, float]:
    checker = config.stash.get(CHECKER, None)
    return {**checker.seconds, report.HOOKS_KEY: checker.hook_seconds} if checker is not None else {}


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


def pytest_unconfigure(config: pytest.Config) -> None:
    tf_facade = sys.modules.get(f"{__package__}._tf")  # imported only if the suite imported TF
    if tf_facade is not None:
        tf_facade.uninstall()
    _imports.uninstall()
    problems.reset()
    scopes.clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Read every test's markers (bad ones stop the run here) and start checking if any test is."""
    default = config.stash[SETTINGS].mode
    checker = _enable(config) if default != "off" else config.stash.get(CHECKER, None)
    if checker is not None:
        checker.known_kinds()  # a check's bad kinds stop the run here, too
        kinds: markers.Known = checker.known_kinds
    else:  # off, unless a marker turns it on: the kinds are only needed if a marker names some
        from ._guard import Hooks

        kinds = functools.cache(Hooks(config.pluginmanager).known)

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
    if checker is None and any(policy.mode != "off" for policy in policies):
        checker = _enable(config)
    if checker is not None:
        checker.prepare(items, policies)
        if checker.any_check():  # a check of the user's own, in a suite that may never import TF
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


_T = TypeVar("_T")
_SITE = re.compile(r"^(?P<path>.+):(?P<line>\d+) in ")


class _Timed:
    """A plugin object calling into the checker, every call added to the plugin's own clock."""

    def __init__(self, checker: Checker) -> None:
        self.checker = checker

    def _timed(self, method: Callable[..., _T], *args: Any) -> _T:
        start = _now()
        try:
            return method(*args)
        finally:
            self.checker.hook_seconds += _now() - start


class Following(_Timed):
    """Which test runs, and which scoped fixtures are being set up: registered when some test is
    checked, so that TensorFlow imported in the middle of a test finds who owns what it creates."""

    @pytest.hookimpl
    def pytest_plugin_registered(self) -> None:
        self.checker.plugins_changed()

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # tryfirst: snapshot before other plugins' setup work
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        self._timed(self.checker.begin_test, item)
        try:
            return (yield)
        finally:
            self._timed(self.checker.leave_test)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, Any, Any]:
        fixture = self._timed(self.checker.fixture_starting, fixturedef, request)
        if fixture is None:
            return (yield)
        try:
            result = yield
        except BaseException:
            self._timed(self.checker.fixture_failed, fixture)
            raise
        self._timed(self.checker.fixture_ready, fixturedef, fixture)
        return result


class Judging(_Timed):
    """The hooks that judge every test and deliver what the checker and the verdict decided,
    registered once some check exists (the built-in ones when the suite imports TensorFlow)."""

    @pytest.hookimpl
    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        self._timed(self.checker.fixture_torn_down, fixturedef)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        self.checker.teardown_started()
        try:
            yield
        except BaseException:
            self._timed(self._deliver, item, False)
            raise
        self._timed(self._deliver, item, True)

    def _deliver(self, item: pytest.Item, fail: bool) -> None:
        settlement = self.checker.end_test(item)
        if settlement is NOTHING:  # no findings, no problems: a clean test
            return
        findings = self.checker.findings(item)
        if findings:
            item.user_properties.extend(report.junit_properties(findings))
        for text, where in settlement.warnings:
            _warn_at(item, text, where)
        if settlement.failure is not None and fail:
            item.stash[_FAILED] = True
            pytest.fail(settlement.failure, pytrace=False)

    # tryfirst: the outermost wrapper, so it sees the report after pytest's xfail handling
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        rep = yield
        if call.when != "setup" or rep.failed:
            self._timed(self._report, item, call, rep)
        return rep

    def _report(self, item: pytest.Item, call: pytest.CallInfo[None], rep: pytest.TestReport) -> None:
        if call.when == "call":
            self.checker.body_ran(item, not rep.skipped or hasattr(rep, "wasxfail"))
        if rep.failed and call.when != "teardown":
            victims = self.checker.victims(str(rep.longrepr))
            if victims:
                rep.sections.append(("estimator isolation: leaks still in place", report.format_polluters(victims)))
        if call.when == "teardown":
            findings = self.checker.findings(item)
            if findings:  # on the report, so xdist carries it to the controller's summary
                setattr(rep, report.REPORT_ATTR, [finding.to_dict() for finding in findings])
            judged = self.checker.judged(item)
            if judged:  # what the baseline may replace, and call fixed (see gate.py)
                setattr(rep, gate.JUDGED_ATTR, judged)
            if hasattr(rep, "wasxfail") and item.stash.get(_FAILED, False):
                # pytest turns any error of an xfail test into "XFAIL at teardown": a leak is not the
                # expected failure, and must fail the run like any other.
                rep.outcome = "failed"
                del rep.wasxfail


def _warn_at(item: pytest.Item, text: str, where: str | None) -> None:
    """Warn with the leak's creation site as the warning's location; under ``-W error`` the error
    names that site too, not this plugin's code."""
    found = _SITE.match(where or "")
    if found is None:
        path, line = item.reportinfo()[:2]
        filename, lineno = str(path), (line or 0) + 1
    else:
        filename, lineno = found["path"], int(found["line"])
    try:
        warnings.warn_explicit(EstimatorIsolationWarning(text), EstimatorIsolationWarning, filename, lineno)
    except EstimatorIsolationWarning as exc:
        __tracebackhide__ = True
        pytest.fail(f"{filename}:{lineno}: {exc}", pytrace=False)
