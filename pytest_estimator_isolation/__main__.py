"""``python -m pytest_estimator_isolation merge REPORT... [-o OUT]``: see :mod:`.merge`."""

from __future__ import annotations

import sys

from .merge import main

USAGE = "usage: python -m pytest_estimator_isolation merge REPORT... [-o OUTPUT]"


def run(argv: list[str]) -> int:
    if not argv or argv[0] != "merge":
        print(USAGE, file=sys.stderr)
        return 2
    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
