"""CONTRIBUTING.md's "Adding a hazard", followed to the letter: its example check is built as a module of
``checks/`` (without writing into the package), registered the way the guide says, and driven by the
guide's own example tests, in process and without TensorFlow. So the guide cannot drift from the code."""

from __future__ import annotations

import logging
import re
import sys
import textwrap
import types
from pathlib import Path

import pytest
from helpers import CHECKOUT, CONTRIBUTING, README, leak_table_rows

from pytest_estimator_isolation import checks

GUIDE = CONTRIBUTING.read_text(encoding="utf-8")


def example(name: str) -> str:
    found = re.search(rf"<!-- example: {re.escape(name)} -->\s*```python\n(.*?)```\s*<!-- /example -->", GUIDE, re.S)
    assert found, f"CONTRIBUTING.md has no example {name}"
    return textwrap.dedent(found.group(1))  # the examples inside a list item are indented


@pytest.fixture
def tf_logger(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The guide's check module, as ``pytest_estimator_isolation.checks.tf_logger`` (its relative imports
    resolve in the package), for this test only."""
    name = f"{checks.__name__}.tf_logger"
    module = types.ModuleType(name)
    module.__package__ = checks.__name__
    exec(compile(example("checks/tf_logger.py"), "CONTRIBUTING.md (checks/tf_logger.py)", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, name, module)
    level = logging.getLogger("tensorflow").level
    yield module
    logging.getLogger("tensorflow").setLevel(level)


def test_the_example_check_catches_its_polluter_in_process(pytester, run_pytest, tf_logger):
    pytester.makeconftest(example("conftest.py"))
    pytester.makepyfile(test_tf_logger=example("test_tf_logger.py"))
    result = run_pytest("--estimator-isolation", "-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_quiets_tensorflow*",
            "EI390 logger-level: the 'tensorflow' logger's level is ERROR, was NOTSET",
            "  fix: `caplog.set_level(level, logger='tensorflow')`, which puts it back after the test",
        ]
    )
    # The hazard is real: without the plugin, the victim fails.
    pytester.makeconftest("")
    run_pytest("-p", "no:randomly", "-p", "no:estimator_isolation").assert_outcomes(passed=2, failed=1)


def test_the_example_fits_the_registry_and_the_pins(pytester, tf_logger):
    config = pytester.parseconfigure("-p", "no:randomly")
    check = checks.register(config, "tf_logger")
    assert config.pluginmanager.get_plugin("estimator_isolation.tf_logger") is check
    assert not {kind.code for kind in tf_logger.KINDS} & {kind.code for kind in checks.kinds()}
    # A README without the new kind's row fails the pin, as the guide says.
    rows = leak_table_rows(README.read_text(encoding="utf-8"))
    with_example = sorted([*checks.kinds(), *tf_logger.KINDS], key=lambda kind: kind.code)
    assert rows != [(kind.code, kind.name) for kind in with_example]

    class Misnamed:
        name = "tf_logger"

    tf_logger.make = lambda run: Misnamed()
    with pytest.raises(TypeError, match=re.escape("name it 'estimator_isolation.tf_logger', after its module")):
        checks.register(pytester.parseconfigure("-p", "no:randomly"), "tf_logger")


def test_the_guide_names_every_file_a_hazard_touches():
    table = GUIDE.split("## Adding a hazard")[1].split("### 1.")[0]
    named = re.findall(r"^\| `([^`]+)` \|", table, re.M)
    for path in named:
        real = Path(CHECKOUT, path.replace("<hazard>", "eager"))
        assert real.exists(), f"CONTRIBUTING.md names {path}, which is not there"
    for needed in ("checks/__init__.py", "README.md", "docs/leaks.md", "CHANGELOG.md", "_tf/__init__.py"):
        assert any(path.endswith(needed) for path in named), needed
