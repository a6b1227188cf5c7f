"""``tf.summary``'s process-wide defaults (EI304): the default writer, the default step and ``record_if``,
one :class:`.state.Entry` each, all kept in ``summary_ops_v2._summary_state`` (per thread, the same on TF
2.12-2.21).

The default writer a test's ``set_as_default()`` replaced is remembered here only, as the entry's value
before the test: the check puts it back (unset, never closed: closing is the writers check's, after).
"""

from __future__ import annotations

from typing import Any

from ._core import _SUMMARY, summary_state
from .state import Entry

SUMMARY_STATE = "summary-state"  # the name of their kind (declared in checks/tf_state.py)


def _show_writer(writer: Any) -> str:
    return "unset" if writer is None else f"{type(writer).__name__} at 0x{id(writer):x}"


_SET_AS_DEFAULT = tuple(
    f"{_SUMMARY}:{cls}.set_as_default"
    for cls in ("SummaryWriter", "_ResourceSummaryWriter", "_LegacyResourceSummaryWriter", "_NoopSummaryWriter")
)

_SUMMARY_WRITER = Entry(
    "the default summary writer (writer.set_as_default())",
    SUMMARY_STATE,
    lambda: summary_state().writer,
    lambda value: setattr(summary_state(), "writer", value),  # unset only: closing is the writers check's
    "use `with writer.as_default():`, which unsets it when the block ends",
    setters=_SET_AS_DEFAULT,
    show=_show_writer,
    same=lambda old, new: old is new,
)
_SUMMARY_STEP = Entry(
    "the default summary step (tf.summary.experimental.get_step())",
    SUMMARY_STATE,
    lambda: summary_state().step,
    lambda value: setattr(summary_state(), "step", value),
    "pass step= to the summary calls or `with writer.as_default(step):`, or set_step({old}) in a finally",
    setters=(f"{_SUMMARY}:set_step", *_SET_AS_DEFAULT),
    show=lambda step: repr(getattr(step, "numpy", lambda: step)()) if step is not None else "None",
    same=lambda old, new: old is new,
)
_RECORD_IF = Entry(
    "tf.summary.record_if(...) (entered, never exited)",
    SUMMARY_STATE,
    lambda: summary_state().is_recording,
    lambda value: setattr(summary_state(), "is_recording", value),
    "use `with tf.summary.record_if(...):`",
    setters=(f"{_SUMMARY}:record_if",),
    same=lambda old, new: old is new,
)

ENTRIES = (_SUMMARY_WRITER, _SUMMARY_STEP, _RECORD_IF)
