"""pytest hooks: options, markers, fixtures, and the calls into :class:`~.checker.Checker` around each
test. Nothing here imports TensorFlow; the per-test hooks are registered only when some test is checked."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from . import gate, options, report
from .annotations import Annotations
from .baseline import Baseline
from .fixtures import copy_model_dir, keras_clean, make_estimator, model_dir, run_config, tf_graph, tf_session
from .leaks import EstimatorIsolationWarning
from .options import item_mode

if TYPE_CHECKING:  # the checks and the TF facade are imported only when some test is checked
    from .checker import Checker

__all__ = ["copy_model_dir", "keras_clean", "make_estimator", "model_dir", "run_config", "tf_graph", "tf_session"]

SETTINGS = pytest.StashKey[options.Settings]()
CHECKER = pytest.StashKey["Checker"]()
BASELINE = pytest.StashKey["Baseline | None"]()
RAN = pytest.StashKey[bool]()  # the test's body ran (not skipped at setup): its teardown judges it

MARKERS = (
    "estimator_isolation(mode): check this test in mode 'strict', 'warn' or 'off' (opt out), whatever "
    "--estimator-isolation says.",
    "allow_leaks(*kinds): let these leak kinds (e.g. 'open-session' or 'EI101') pass for this test; they are "
    "still reported, and not cleaned up.",
)


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
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    settings = options.resolve(config)
    config.stash[SETTINGS] = settings
    baseline = None
    if settings.baseline is not None:
        baseline = Baseline.load(settings.baseline, missing_ok=settings.update_baseline)
    config.stash[BASELINE] = baseline
    if not hasattr(config, "workerinput"):  # in the xdist controller, or without xdist
        options.check_paths(settings)
        judge = gate.Gate(settings, baseline)
        config.pluginmanager.register(judge, "estimator_isolation_gate")
        collector = report.Collector(config, settings, judge, lambda: _seconds(config))
        config.pluginmanager.register(collector, "estimator_isolation_report")
        if settings.annotations:
            config.pluginmanager.register(Annotations(), "estimator_isolation_annotations")
    if settings.mode != "off":
        _enable(config)
    if settings.keras_reset:
        config.pluginmanager.register(KerasReset(), "estimator_isolation_keras_reset")


def _enable(config: pytest.Config) -> Checker:
    """Register the built-in checks and start watching for TensorFlow (imports nothing)."""
    checker = config.stash.get(CHECKER, None)
    if checker is None:
        from .checker import Checker
        from .checks import builtin

        for name, make in builtin():
            if not config.pluginmanager.has_plugin(f"estimator_isolation.{name}"):
                config.pluginmanager.register(make(), f"estimator_isolation.{name}")
        checker = config.stash[CHECKER] = Checker(config, config.stash[SETTINGS], config.stash[BASELINE])
        config.pluginmanager.register(PerTest(checker), "estimator_isolation_per_test")
    return checker


def _seconds(config: pytest.Config) -> dict[str, float]:
    checker = config.stash.get(CHECKER, None)
    return checker.seconds if checker is not None else {}


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller's report adds these up
        workeroutput[report.SECONDS_KEY] = _seconds(session.config)
        from . import _tf

        workeroutput[report.TF_KEY] = _tf.version()


def pytest_unconfigure(config: pytest.Config) -> None:
    from . import _imports

    _imports.uninstall()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Reject bad marker arguments up front, and enable the checks if a marker asks for them."""
    default = config.stash[SETTINGS].mode
    if default != "off" or any(item_mode(item, default) != "off" for item in items):
        _enable(config).prepare(items)


def pytest_report_header(config: pytest.Config) -> str | None:
    mode = config.stash[SETTINGS].mode
    if mode == "off":
        return None
    from . import _tf

    tf = _tf.version()
    return f"estimator-isolation: {mode} (TensorFlow {tf if tf else 'not imported yet'})"


class KerasReset:
    """``--estimator-isolation-keras-reset``: a fresh Keras session around every test."""

    def __init__(self) -> None:
        from . import _tf

        self.clear = _tf.keras_clear_session

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # tryfirst: before PerTest's snapshot
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        self.clear()  # a fresh Keras is not the test's doing
        try:
            return (yield)
        finally:
            self.clear()


class PerTest:
    """The hooks around every test, registered only when some test is checked: a run without the
    checks pays nothing per test."""

    def __init__(self, checker: Checker) -> None:
        self.checker = checker

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # tryfirst: snapshot before other plugins' setup work
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        self.checker.start_test(item)
        try:
            return (yield)
        finally:
            self.checker.item = None

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> Generator[None, Any, Any]:
        if fixturedef.scope == "function" or self.checker.item is None:
            return (yield)
        scope = self.checker.start_fixture(fixturedef)
        try:
            result = yield
        except BaseException:
            self.checker.fixture_failed(scope)
            raise
        self.checker.fixture_set_up(fixturedef, scope)
        return result

    @pytest.hookimpl
    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        self.checker.fixture_torn_down(fixturedef)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        self.checker.tearing_down = True
        try:
            yield
        except BaseException:
            self._settle(item, fail=False)
            raise
        self._settle(item, fail=True)

    def _settle(self, item: pytest.Item, fail: bool) -> None:
        entries = self.checker.finish_test(item)
        if not entries:
            return
        item.user_properties.extend(report.junit_properties(entries))
        verbose = item.config.getoption("verbose") > 0
        for entry in entries:
            if entry["outcome"] == "warned":
                item.warn(EstimatorIsolationWarning(report.format_leak(entry, verbose)))
        failed = [entry for entry in entries if entry["outcome"] == "failed"]
        if failed and fail:
            pytest.fail(report.format_failure(failed, verbose), pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        rep = yield
        if call.when == "call":
            item.stash[RAN] = not rep.skipped or hasattr(rep, "wasxfail")
        if rep.failed and call.when != "teardown" and self.checker.left_behind:
            polluters = self.checker.polluters(str(rep.longrepr))
            rep.sections.append(("estimator isolation: leaks still in place", report.format_polluters(polluters)))
        if call.when == "teardown":
            entries = self.checker.found(item)
            if entries:  # on the report, so xdist carries it to the controller's summary
                setattr(rep, report.REPORT_ATTR, entries)
            from .checker import JUDGED, JUDGED_FIXTURES

            judged = [item.nodeid] if item.stash.get(JUDGED, False) and item.stash.get(RAN, False) else []
            fixtures: list[str] = item.stash.get(JUDGED_FIXTURES, [])
            judged.extend(fixtures)
            if judged:  # what the baseline may replace, and call fixed (see gate.py)
                setattr(rep, gate.JUDGED_ATTR, judged)
        return rep
