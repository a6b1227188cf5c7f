"""Where in the user's code something was created: cheap enough for every session or Estimator call.

A frame is library code by where its module is installed, not by what its path spells: a directory of
installed packages (``site-packages``, ``dist-packages``), the standard library and the interpreter's other
library directories (of the virtualenv and of the Python it was made from), this plugin itself, or code with
no file (``<frozen runpy>``, ``<string>``). So a user's ``my_project/keras/estimator_test.py`` is user code,
and ``keras/`` in site-packages is not. Test runners that call the test are library code like pytest's own
frames wherever they are installed: pytest, pluggy, and absl's ``absl/testing`` (``absltest``,
``parameterized``), which may run from a source tree (a Bazel runfiles tree) rather than site-packages.
"""

from __future__ import annotations

import os
import sys
from types import FrameType

from .leaks import Site

_here = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Directories of installed packages, wherever they are (another virtualenv on PYTHONPATH, the user site, a
# Debian python3-* package).
_INSTALLED = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")
# Test runners around the test, wherever they are installed: package directories no project's own code has.
_RUNNERS = (
    f"{os.sep}_pytest{os.sep}",
    f"{os.sep}pluggy{os.sep}",
    f"{os.sep}absl{os.sep}testing{os.sep}",
)
_NO_FILE = ("<frozen ", "<string>")  # frozen modules, code run by exec (execnet starts xdist workers so)

_library: tuple[str, ...] | None = None


def library_dirs() -> tuple[str, ...]:
    """This plugin's directory and the interpreter's library directories (stdlib, platstdlib, purelib and
    platlib of this environment and of the base Python), each ending in a separator. Computed once, on the
    first file a creation site looks at (reading sysconfig is not start-up's to pay)."""
    global _library
    if _library is None:
        import sysconfig

        dirs = {_here}
        for base, platbase in {(sys.prefix, sys.exec_prefix), (sys.base_prefix, sys.base_exec_prefix)}:
            paths = sysconfig.get_paths(
                vars={"base": base, "platbase": platbase, "installed_base": base, "installed_platbase": platbase}
            )
            for name in ("stdlib", "platstdlib", "purelib", "platlib"):
                path = paths.get(name)
                if path:
                    dirs.add(os.path.join(os.path.abspath(path), ""))
        _library = tuple(sorted(dirs))
    return _library


# Both answers depend only on the file name, and a run sees few distinct files: computing them once per
# file keeps a creation site at a few microseconds even under Estimator.train's deep stacks.
_user: dict[str, bool] = {}
_shown: dict[str, str] = {}


def is_user(filename: str) -> bool:
    """Whether ``filename`` is the user's code (a test, a helper, a conftest), not a library's."""
    known = _user.get(filename)
    if known is None:
        known = _user[filename] = not (
            filename.startswith(_NO_FILE)
            or filename.startswith(library_dirs())
            or any(marker in filename for marker in _INSTALLED)
            or any(marker in filename for marker in _RUNNERS)
        )
    return known


def user_stack(depth: int = 2, limit: int = 8) -> tuple[Site, ...]:
    """The innermost ``limit`` frames of user code (outside installed packages, the standard library,
    test runners and this plugin), innermost first."""
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
