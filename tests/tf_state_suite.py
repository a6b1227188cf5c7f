"""The generated suite of tests/test_tf_state.py: for each watched state, a polluter, its victim and a
clean counterpart, run in pytester subprocesses (one TF import per run). Not collected by itself: its
name does not start with ``test_``.

``SUITE`` is the inner test module. Each case is ``(kind code, polluter, victim, clean)``: bodies of
test functions (``None``: no victim, the state cannot be undone or nothing later notices it).
"""

from __future__ import annotations

CASES: dict[str, tuple[str, str, str | None, str | None]] = {
    "tf_config": (
        "EI303",
        "os.environ['TF_CONFIG'] = json.dumps({'cluster': {'worker': ['localhost:1']}, "
        "'task': {'type': 'worker', 'index': 0}})",
        "assert 'TF_CONFIG' not in os.environ",
        "monkeypatch.setenv('TF_CONFIG', '{}')",
    ),
    "summary_writer": (
        "EI304",
        "WRITERS.append(tf.summary.create_file_writer(str(tmp_path)))\nWRITERS[-1].set_as_default()",
        "assert not tf.summary.should_record_summaries()",
        "w = tf.summary.create_file_writer(str(tmp_path))\nwith w.as_default():\n    pass\nw.close()",
    ),
    "summary_step": (
        "EI304",
        "tf.summary.experimental.set_step(5)",
        "assert tf.summary.experimental.get_step() is None",
        "try:\n    tf.summary.experimental.set_step(5)\nfinally:\n    tf.summary.experimental.set_step(None)",
    ),
    "record_if": (
        "EI304",
        # kept: an unreferenced generator context would be exited by the garbage collector
        "SCOPES.append(tf.summary.record_if(False))\nSCOPES[-1].__enter__()",
        "w = tf.summary.create_file_writer(str(tmp_path))\nwith w.as_default():\n"
        "    recording = tf.summary.should_record_summaries()\nw.close()\nassert recording",
        "with tf.summary.record_if(False):\n    pass",
    ),
    "name_scope": (
        "EI305",
        "tf.name_scope('leaked').__enter__()",
        "assert tf.Variable(1.0, name='v').name == 'v:0'",
        "with tf.name_scope('kept'):\n    tf.Variable(1.0, name='v')",
    ),
    "device": (
        "EI305",
        "tf.device('/job:localhost/replica:0/task:0/device:CPU:0').__enter__()",
        "from tensorflow.python.eager import context\nassert not context.context().device_name",
        "with tf.device('/CPU:0'):\n    tf.constant(1.0)",
    ),
    "strategy_scope": (
        "EI305",
        "tf.distribute.OneDeviceStrategy('/cpu:0').scope().__enter__()",
        "assert not tf.distribute.has_strategy()",
        "with tf.distribute.OneDeviceStrategy('/cpu:0').scope():\n    tf.Variable(1.0)",
    ),
    "set_strategy": (
        "EI305",
        "tf.distribute.experimental_set_strategy(tf.distribute.OneDeviceStrategy('/cpu:0'))",
        "assert not tf.distribute.has_strategy()",
        "tf.distribute.experimental_set_strategy(tf.distribute.OneDeviceStrategy('/cpu:0'))\n"
        "try:\n    tf.Variable(1.0)\nfinally:\n    tf.distribute.experimental_set_strategy(None)",
    ),
    "tensor_equality": (
        "EI306",
        "tf.compat.v1.disable_tensor_equality()",
        "assert bool((tf.constant(1) == tf.constant(1)).numpy())",
        "tf.compat.v1.disable_tensor_equality()\ntf.compat.v1.enable_tensor_equality()",
    ),
    "tensorshape": (
        "EI306",
        "tf.compat.v1.disable_v2_tensorshape()",
        "assert type(tf.TensorShape([2])[0]) is int",
        "tf.compat.v1.disable_v2_tensorshape()\ntf.compat.v1.enable_v2_tensorshape()",
    ),
    "control_flow": (
        "EI306",
        "tf.compat.v1.disable_control_flow_v2()",
        "assert tf.compat.v1.control_flow_v2_enabled()",
        "tf.compat.v1.disable_control_flow_v2()\ntf.compat.v1.enable_control_flow_v2()",
    ),
    "resource_variables": (
        "EI306",
        "tf.compat.v1.disable_resource_variables()",
        "assert tf.compat.v1.resource_variables_enabled()",
        "tf.compat.v1.disable_resource_variables()\ntf.compat.v1.enable_resource_variables()",
    ),
    "numpy_behavior": (
        "EI306",
        "tf.experimental.numpy.experimental_enable_numpy_behavior()",
        # NumPy's methods on tf.Tensor, and its dtype promotion (int32 + float32 is float64 once enabled)
        "assert not hasattr(tf.constant([1]), 'T')\n"
        "with pytest.raises(tf.errors.InvalidArgumentError):\n    tf.ones([], tf.int32) + tf.ones([], tf.float32)",
        None,
    ),
    "async": (
        "EI306",
        "tf.config.experimental.set_synchronous_execution(False)\ntf.constant(1.0) + 1",
        "assert tf.config.experimental.get_synchronous_execution()",
        "tf.config.experimental.set_synchronous_execution(False)\n"
        "tf.config.experimental.set_synchronous_execution(True)",
    ),
    "log_placement": (
        "EI306",
        "tf.debugging.set_log_device_placement(True)",
        "assert not tf.debugging.get_log_device_placement()",
        "tf.debugging.set_log_device_placement(True)\ntf.debugging.set_log_device_placement(False)",
    ),
    "custom_objects": (
        "EI307",
        "tf.keras.utils.get_custom_objects()['LeakedThing'] = dict",
        "assert 'LeakedThing' not in tf.keras.utils.get_custom_objects()",
        "tf.keras.utils.get_custom_objects()['KeptThing'] = dict\ndel tf.keras.utils.get_custom_objects()['KeptThing']",
    ),
    "custom_object_scope": (
        "EI307",
        "tf.keras.utils.custom_object_scope({'ScopedThing': dict}).__enter__()",
        "assert tf.keras.utils.get_registered_object('ScopedThing') is None",
        "with tf.keras.utils.custom_object_scope({'ScopedThing': dict}):\n    pass",
    ),
    "flags": (
        "EI307",
        "FLAGS.ei_depth = 7",
        "assert FLAGS.ei_depth == 3",
        "with flagsaver.flagsaver(ei_depth=9):\n    assert FLAGS.ei_depth == 9",
    ),
    "data_debug": (
        "EI308",
        "tf.data.experimental.enable_debug_mode()",
        None,
        None,
    ),
    "server": (
        "EI308",
        "SERVERS.append(tf.distribute.Server.create_local_server())",
        None,
        None,
    ),
    # Last: it flips several switches at once (and the execution mode, EI105).
    "v2_behavior": (
        "EI306",
        "tf.compat.v1.disable_v2_behavior()",
        "assert tf.executing_eagerly() and tf.compat.v1.resource_variables_enabled() "
        "and tf.compat.v1.control_flow_v2_enabled() and tf.__internal__.tf2.enabled()",
        None,
    ),
}

# What the polluter reports (beside its own code, in a few cases).
ALSO = {"summary_writer": {"EI401"}, "v2_behavior": {"EI105"}}


def _body(source: str) -> str:
    return "\n".join("    " + line for line in source.splitlines())


def _function(name: str, role: str, source: str) -> str:
    return f"def test_{role}_{name}(tmp_path, monkeypatch):\n{_body(source)}\n"


HEADER = """
import json
import os

import pytest
import tensorflow as tf
from absl import flags
from absl.testing import flagsaver

flags.DEFINE_integer("ei_depth", 3, "a flag defined at import: not a leak")
FLAGS = flags.FLAGS
FLAGS.mark_as_parsed()
WRITERS = []
SERVERS = []
SCOPES = []

"""


def suite(names: list[str] | None = None) -> str:
    """The inner module: for each case in order, its clean counterpart, polluter and victim."""
    out = [HEADER]
    for name in names or list(CASES):
        _code, polluter, victim, clean = CASES[name]
        if clean is not None:
            out.append(_function(name, "clean", clean))
        out.append(_function(name, "polluter", polluter))
        if victim is not None:
            out.append(_function(name, "victim", victim))
    return "\n\n".join(out)
