"""Where in the user's code something was created: cheap enough for every session or Estimator call."""

from __future__ import annotations

import os
import sys
import sysconfig
from types import FrameType

from .leaks import Site

_here = os.path.dirname(os.path.abspath(__file__))
_LIBRARY_MARKERS = (
    f"{os.sep}tensorflow{os.sep}",
    f"{os.sep}tensorflow_estimator{os.sep}",
    f"{os.sep}keras{os.sep}",
    f"{os.sep}tf_keras{os.sep}",
    f"{os.sep}_pytest{os.sep}",
    f"{os.sep}pytest{os.sep}",
    f"{os.sep}runpy.py",
    f"{os.sep}pluggy{os.sep}",
    f"{os.sep}pytest_forked{os.sep}",  # test runners around the test, like pytest's own frames
    f"{os.sep}xdist{os.sep}",
    f"{os.sep}execnet{os.sep}",
    f"{os.sep}contextlib.py",
    "<frozen ",
    "<string>",  # code run by exec (execnet starts xdist workers so): no file to point at
)
_stdlib = sysconfig.get_paths().get("stdlib", "\0")


# Both answers depend only on the file name, and a run sees few distinct files: computing them once per
# file keeps a creation site at a few microseconds even under Estimator.train's deep stacks.
_user: dict[str, bool] = {}
_shown: dict[str, str] = {}


def is_user(filename: str) -> bool:
    known = _user.get(filename)
    if known is None:
        known = _user[filename] = not filename.startswith((_here, _stdlib)) and not any(
            marker in filename for marker in _LIBRARY_MARKERS
        )
    return known


def user_stack(depth: int = 2, limit: int = 8) -> tuple[Site, ...]:
    """The innermost ``limit`` frames of user code (outside TF, Keras, pytest and this plugin),
    innermost first."""
    frame: FrameType | None = sys._getframe(depth)
    out: list[Site] = []
    while frame is not None and len(out) < limit:
        code = frame.f_code
        if is_user(code.co_filename):
            out.append(Site(relative(code.co_filename), frame.f_lineno, code.co_name))
        frame = frame.f_back
    return tuple(out)


def relative(path: str) -> str:
    """``path`` relative to the working directory when it is below it (as pytest shows paths)."""
    shown = _shown.get(path)
    if shown is None:
        try:
            rel = os.path.relpath(path)
        except ValueError:
            rel = path
        shown = _shown[path] = path if rel.startswith("..") else rel
    return shown
