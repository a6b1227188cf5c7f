"""What the plugin's own tests share: markers for what the environment has, and the inner-run flags."""

from __future__ import annotations

import importlib.util
import json
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent
README = CHECKOUT / "README.md"
CONTRIBUTING = CHECKOUT / "CONTRIBUTING.md"

HAS_TF = importlib.util.find_spec("tensorflow") is not None
HAS_ESTIMATOR = importlib.util.find_spec("tensorflow_estimator") is not None
HAS_XDIST = importlib.util.find_spec("xdist") is not None
HAS_RANDOMLY = importlib.util.find_spec("pytest_randomly") is not None


def _keras2() -> bool:
    """Whether tf.keras is Keras 2 (keras 2.x up to TF 2.15, or tf_keras with TF_USE_LEGACY_KERAS=1),
    without importing TF here."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true"):
            return version("tf-keras").startswith("2")
        return version("keras").startswith("2")
    except PackageNotFoundError:
        return False


HAS_KERAS2 = HAS_TF and _keras2()

# The two tiers. A test whose inner run imports TensorFlow carries the `tf` marker: `run` starts that inner
# pytest in a fresh interpreter (TF's global state must not reach this process), the fast tier
# (`pytest -m "not tf"`) leaves it out, and conftest skips it where the environment lacks what it names.
NEEDS = {
    "tensorflow": (HAS_TF, "needs tensorflow"),
    "estimator": (HAS_ESTIMATOR, "needs tf.estimator (TensorFlow <= 2.15)"),
    "keras2": (HAS_KERAS2, "needs Keras 2 as tf.keras (graph mode, learning phase)"),
}
requires_tf = pytest.mark.tf("tensorflow")
requires_estimator = pytest.mark.tf("estimator")
requires_keras2 = pytest.mark.tf("keras2")
requires_xdist = pytest.mark.skipif(not HAS_XDIST, reason="needs pytest-xdist")
requires_randomly = pytest.mark.skipif(not HAS_RANDOMLY, reason="needs pytest-randomly")

# The inner runs must not be shuffled or cached by plugins of the outer environment, and their warning
# counts are the plugin's own (TF 2.12 warns about a deprecated module at import).
QUIET = ("-p", "no:randomly", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")

# A TF-free check for the baseline's machinery: every test whose name contains "leaky" leaks a
# "stray-file", at a made-up creation site. Deterministic in any order, process or shard.
BY_NAME_CHECK = """
import pytest
from pytest_estimator_isolation import Leak, LeakKind

STRAY = LeakKind("X001", "stray-file", "a test left a file behind", "delete it in the test")


class ByName:
    @pytest.hookimpl
    def pytest_estimator_isolation_kinds(self):
        return [STRAY]

    @pytest.hookimpl
    def pytest_estimator_isolation_find_leaks(self, scope):
        if "leaky" in scope.owner:
            return [Leak(STRAY, scope.owner, "left stray.txt", where="lib/make_leak.py:7 in make")]
        return []


def pytest_configure(config):
    config.pluginmanager.register(ByName(), "by_name")
"""

SUITE_A = """
def test_leaky_a1():
    pass

def test_leaky_a2():
    pass

def test_clean_a():
    pass
"""

SUITE_B = """
def test_leaky_b():
    pass

def test_clean_b():
    pass
"""

ALL_LEAKY = ["test_a.py::test_leaky_a1", "test_a.py::test_leaky_a2", "test_b.py::test_leaky_b"]


# The head of an inner test file that needs Keras 2 (graph mode, the learning phase): skipped on Keras 3.
KERAS_2 = """
import importlib
import importlib.util

import numpy as np
import pytest
import tensorflow as tf

# tf.keras: keras 2 on TF <= 2.15, tf_keras with TF_USE_LEGACY_KERAS=1, Keras 3 otherwise
KERAS = tf.keras.__name__.split(".")[0]
if (getattr(tf.keras, "__version__", None) or importlib.import_module(KERAS).__version__).startswith("3"):
    pytest.skip("Keras 3 has no graph mode and no learning phase", allow_module_level=True)
"""


def read_report(pytester: pytest.Pytester) -> dict[str, Any]:
    """The JSON report an inner run wrote to report.json."""
    data: dict[str, Any] = json.loads((pytester.path / "report.json").read_text())
    return data


def baseline_owners(path: Path) -> list[str]:
    return [entry["owner"] for entry in json.loads(path.read_text())["leaks"]]


def write_baseline(path: Path, entries: list[dict[str, Any]], schema: int = 2) -> None:
    path.write_text(json.dumps({"schema": schema, "leaks": entries}, indent=2) + "\n")


def leak_table_rows(readme: str) -> list[tuple[str, str]]:
    """(code, name) of every row of the README's leak table, in order (the table is pinned to the code)."""
    table = readme.split("<!-- leak-table -->")[1].split("<!-- /leak-table -->")[0]
    rows = [line.split("|")[1:3] for line in table.splitlines() if line.startswith("| EI")]
    return [(code.strip(), name.strip().strip("`")) for code, name in rows]


# The generated suites of watched state (tf_state_suite.py, containers_suite.py) run as one module.
SUITE_MODULE = "test_suite.py"


def outcomes(result: pytest.RunResult, module: str = SUITE_MODULE) -> dict[str, str]:
    """By test name: passed / failed / error, from ``-rA``'s short summary."""
    out: dict[str, str] = {}
    for line in result.outlines:
        for word in ("PASSED", "FAILED", "ERROR"):
            if line.startswith(f"{word} {module}::"):
                name = line.split("::", 1)[1].split(" ", 1)[0]
                out[name] = "error" if word == "ERROR" else out.get(name, word.lower())
    return out


def leaks_by_owner(pytester: pytest.Pytester) -> dict[str, list[dict[str, Any]]]:
    """The JSON report's leaks (``report.json``), by the owner's test name."""
    found: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in json.loads((pytester.path / "report.json").read_text())["leaks"]:
        found[entry["owner"].split("::", 1)[1]].append(entry)
    return found


def in_random_order(pytester: pytest.Pytester, seed: int) -> Callable[..., pytest.RunResult]:
    """A ``run_pytest`` that runs the inner suite in a subprocess, in pytest-randomly's order for ``seed``."""

    def run(*args: str) -> pytest.RunResult:
        options = ("-p", "no:cacheprovider", "-p", "randomly", "-p", "no:xdist", f"--randomly-seed={seed}")
        return pytester.runpytest_subprocess(*options, "-W", "ignore::DeprecationWarning", *args)

    return run
