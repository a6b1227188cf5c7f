"""Which directories are this run's temporary ones: pytest's basetemp, and every ``tempfile.mkdtemp()``
(``TemporaryDirectory``, ``tf.test.get_temp_dir()``, a ``TestCase.get_temp_dir()``) made while the run is
checked. A fixed name under the system temp dir (``/tmp/model``) is not one: it outlives the run, and the
next run starts from what it holds.

``tempfile.mkdtemp`` is wrapped (it never changes what it makes or returns) from the moment checking is
enabled; ``TemporaryDirectory`` calls it through the module too. A directory made before that (at the
import of a root conftest.py, which pytest loads before it configures plugins) is not known as temporary.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_made: set[str] = set()  # real paths of the directories mkdtemp made since watch()
_original: Any = None  # tempfile.mkdtemp as it was before watch()


def watch() -> None:
    """Record every directory ``tempfile.mkdtemp`` makes from now on (idempotent)."""
    global _original
    if _original is not None:
        return
    original = _original = tempfile.mkdtemp

    def mkdtemp(*args: Any, **kwargs: Any) -> Any:
        made = original(*args, **kwargs)
        try:
            _made.add(os.path.realpath(made))
        except Exception:  # never break the caller's mkdtemp (bytes paths, odd types)
            pass
        return made

    mkdtemp.__wrapped__ = original  # type: ignore[attr-defined]
    mkdtemp.__doc__ = original.__doc__
    tempfile.mkdtemp = mkdtemp


def unwatch() -> None:
    """The run is over: put ``tempfile.mkdtemp`` back (unless someone wrapped it since) and forget."""
    global _original
    if _original is not None and getattr(tempfile.mkdtemp, "__wrapped__", None) is _original:
        setattr(tempfile, "mkdtemp", _original)  # noqa: B010 (mypy: mkdtemp is overloaded)
    _original = None
    _made.clear()


def made_by_mkdtemp(real: str) -> str | None:
    """The directory ``mkdtemp`` made during the run that ``real`` is in (or is), if any."""
    if not _made:
        return None
    path = real
    while True:
        if path in _made:
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def pytest_roots(basetemp: Path | None) -> list[str]:
    """pytest's temporary roots for this run: the ``--basetemp`` it was given (under xdist, the workers'
    shared root), and the system temp dir (or ``PYTEST_DEBUG_TEMPROOT``), where only the
    ``pytest-of-<user>`` directory pytest numbers its own basetemps under counts (see :func:`is_temporary`)."""
    temproot = os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir()
    roots = [str(basetemp)] if basetemp is not None else []
    return [os.path.realpath(root) for root in roots] + [os.path.join(os.path.realpath(temproot), "pytest-of-*")]


def under(real: str, roots: Sequence[str]) -> bool:
    """Whether ``real`` is one of ``roots`` or below one; a root ending in ``*`` matches names that begin
    with the rest (``/tmp/pytest-of-*``)."""
    for root in roots:
        if root.endswith("*"):
            if real.startswith(root[:-1]):
                return True
        elif real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return True
    return False


def is_temporary(real: str, roots: Sequence[str]) -> bool:
    """Whether ``real`` (a real path) is in one of this run's temporary directories: under one of
    :func:`pytest_roots`, or made by ``mkdtemp`` during the run."""
    return under(real, roots) or made_by_mkdtemp(real) is not None
