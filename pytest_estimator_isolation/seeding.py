"""TensorFlow's global random seed.

With pytest-randomly, :func:`reseed` is its ``pytest_randomly.random_seeder`` entry point: before every
test TF is reseeded with the run's seed, as ``random`` and numpy are, so a test that does not seed
itself gets the same numbers whatever ran before it. Only where TF is already imported (never imports
it). Without pytest-randomly, the seed check puts back a global seed a test changed (EI302).
"""

from __future__ import annotations

import sys

from . import problems


def reseed(seed: int) -> None:
    tf = sys.modules.get("tensorflow")
    if tf is None or not hasattr(tf, "random"):
        return
    try:
        tf.random.set_seed(seed)
    except Exception as exc:  # e.g. the default graph is finalized: leave the seed as it is
        problems.report(f"could not reseed TensorFlow for pytest-randomly: {exc!r}")
