"""pytest-estimator-isolation: find TensorFlow resource leaks between tests and fail the test that
caused them. The pytest plugin lives in :mod:`pytest_estimator_isolation.plugin`."""

from __future__ import annotations

from .dispatch import check_hook
from .leaks import EstimatorIsolationWarning, Leak, LeakKind, Site
from .scopes import Scope

__version__ = "0.2.0"
__all__ = ["EstimatorIsolationWarning", "Leak", "LeakKind", "Scope", "Site", "__version__", "check_hook"]
