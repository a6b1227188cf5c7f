"""TensorFlow's global random seed.

With pytest-randomly, :func:`reseed` is its ``pytest_randomly.random_seeder`` entry point: before every
test TF is reseeded with the run's seed, as ``random`` and numpy are, so a test that does not seed
itself gets the same numbers whatever ran before it. Only where TF is already imported (never imports
it). Without pytest-randomly, the seed check puts back a global seed a test changed (EI302).
"""

from __future__ import annotations

import sys
from typing import Any

from . import problems

_last: int | None = None  # the seed reseed() set last


def reseed(seed: int) -> None:
    global _last
    tf = sys.modules.get("tensorflow")
    if tf is None or not hasattr(tf, "random"):
        return
    try:
        tf.random.set_seed(seed)
    except Exception as exc:  # e.g. the default graph is finalized: leave the seed as it is
        problems.report(f"could not reseed TensorFlow for pytest-randomly: {exc!r}")
    else:
        _last = seed


def reseeded_to(seed: Any) -> bool:
    """Whether ``seed`` is what pytest-randomly had TF reseeded to last (it reseeds before each test's
    setup, call and teardown, with a different seed each time): no test's doing."""
    return _last is not None and seed == _last
