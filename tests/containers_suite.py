"""The generated suite of tests/test_containers.py: states that ``_tf/entries.py`` does not list one by one,
found in the containers where TF and Keras keep them (``_tf/containers.py``) and in the environment. Each
case is a polluter, its victim and a clean counterpart, as in ``tf_state_suite``; a case exists only where
this TF/Keras has the state (``needs``, evaluated by the inner module, which writes the available cases to
``available.json``). Not collected by itself: its name does not start with ``test_``.

Each case is ``(kind code, needs, polluter, victim, clean)``: ``needs`` is an expression of the inner
module's names, the others bodies of test functions (``None``: none).
"""

from __future__ import annotations

from tf_state_suite import _function

CASES: dict[str, tuple[str, str, str, str | None, str | None]] = {
    # ---- the global default graph's collections (EI307): no op built, so the graph's version does not move
    "collection_add": (
        "EI307",
        "True",
        "tf.compat.v1.add_to_collection('ei_things', 1)",
        "assert tf.compat.v1.get_collection('ei_things') == []",
        "with tf.Graph().as_default():\n    tf.compat.v1.add_to_collection('ei_things', 1)",
    ),
    "collection_ref": (
        "EI307",
        "True",
        "tf.compat.v1.get_collection_ref('losses').append(1.0)",
        "assert tf.compat.v1.losses.get_losses() == []",
        "ref = tf.compat.v1.get_collection_ref('losses')\nref.append(1.0)\nref.remove(1.0)",
    ),
    "collections_two": (
        "EI307",
        "True",
        "tf.compat.v1.add_to_collections(['ei_a', 'ei_b'], 'x')",
        "assert tf.compat.v1.get_collection('ei_a') == tf.compat.v1.get_collection('ei_b') == []",
        None,
    ),
    "update_ops": (
        "EI307",
        "True",
        "tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, 'op')",
        "assert tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS) == []",
        None,
    ),
    # ---- the eager context (EI301; EI308 for what cannot be written back)
    "device_policy": (
        "EI301",
        "True",
        "tf.config.experimental.set_device_policy('explicit')",
        "assert tf.config.experimental.get_device_policy() == 'silent'",
        "tf.config.experimental.set_device_policy('explicit')\ntf.config.experimental.set_device_policy(None)",
    ),
    "mlir_graph_optimization": (  # a property set without any function of the table
        "EI301",
        "True",
        "context.context().enable_mlir_graph_optimization = True",
        "assert context.context().enable_mlir_graph_optimization is None",
        "ctx = context.context()\nctx.enable_mlir_graph_optimization = True\nctx.enable_mlir_graph_optimization = None",
    ),
    "jit_compile_rewrite": (  # a module global and the property it mirrors: one finding
        "EI301",
        "hasattr(context, 'enable_jit_compile_rewrite')",
        "tf.constant(1.0) + 1\ncontext.enable_jit_compile_rewrite()",
        "assert not context.jit_compile_rewrite_enabled()",
        "tf.constant(1.0) + 1\ncontext.enable_jit_compile_rewrite()\ncontext.disable_jit_compile_rewrite()",
    ),
    "xla_sharding": (
        "EI301",
        "hasattr(context, 'enable_xla_sharding_for_resource_variables')",
        "context.enable_xla_sharding_for_resource_variables()",
        "assert not context.xla_sharding_for_resource_variables_enabled()",
        None,
    ),
    "optionals_in_gradients": (
        "EI301",
        "hasattr(context, 'disable_optionals_in_gradients')",
        "context.context().optionals_in_gradients = False",
        "assert context.optionals_in_gradients_enabled()",
        None,
    ),
    "mlir_bridge": (  # kept in C++ with an 'unset' state no setter brings back
        "EI308",
        "True",
        "tf.config.experimental.enable_mlir_bridge()",
        None,
        None,
    ),
    # ---- environment variables read at call time (EI303)
    "legacy_keras_env": (
        "EI303",
        "True",
        "os.environ['TF_USE_LEGACY_KERAS'] = '1'",
        "assert os.environ.get('TF_USE_LEGACY_KERAS') == ENV['TF_USE_LEGACY_KERAS']",
        "monkeypatch.setenv('TF_USE_LEGACY_KERAS', '1')",
    ),
    "keras_backend_env": (
        "EI303",
        "True",
        "os.environ['KERAS_BACKEND'] = 'jax'",
        "assert os.environ.get('KERAS_BACKEND') == ENV['KERAS_BACKEND']",
        "monkeypatch.setenv('KERAS_BACKEND', 'jax')",
    ),
    "autograph_strict_env": (
        "EI303",
        "True",
        "os.environ['AUTOGRAPH_STRICT_CONVERSION'] = '1'",
        "from tensorflow.python.autograph.impl import api\nassert not api.is_autograph_strict_conversion_mode()",
        "os.environ['AUTOGRAPH_STRICT_CONVERSION'] = '1'\ndel os.environ['AUTOGRAPH_STRICT_CONVERSION']",
    ),
    "autograph_verbosity_env": (
        "EI303",
        "True",
        "os.environ.update(AUTOGRAPH_VERBOSITY='7')",
        "from tensorflow.python.autograph.utils import ag_logging\nassert ag_logging.get_verbosity() == 0",
        None,
    ),
    # ---- tf.keras 2's backend globals (EI301)
    "manual_variable_initialization": (
        "EI301",
        "KERAS2",
        "tf.keras.backend.manual_variable_initialization(True)",
        "assert not KERAS2_BACKEND._MANUAL_VAR_INIT",
        "tf.keras.backend.manual_variable_initialization(True)\ntf.keras.backend.manual_variable_initialization(False)",
    ),
    "tf_random_generator": (
        "EI301",
        "KERAS2",
        "tf.keras.backend.experimental.enable_tf_random_generator()",
        "assert not tf.keras.backend.experimental.is_tf_random_generator_enabled()",
        None,
    ),
    # ---- Keras 3: keras.config's module globals and the global_state store (EI301)
    "unsafe_deserialization": (
        "EI301",
        "KERAS3",
        "keras.config.enable_unsafe_deserialization()",
        "from keras.src.saving import serialization_lib\nassert serialization_lib.in_safe_mode() is None",
        "from keras.src.saving import serialization_lib\nwith serialization_lib.SafeModeScope(False):\n    pass",
    ),
    "flash_attention": (
        "EI301",
        "KERAS3 and hasattr(keras.config, 'disable_flash_attention')",
        "keras.config.disable_flash_attention()",
        "assert keras.config.is_flash_attention_enabled() is None",
        None,
    ),
    "interactive_logging": (
        "EI301",
        "KERAS3",
        "keras.config.disable_interactive_logging()",
        "assert keras.config.is_interactive_logging_enabled()",
        "keras.config.disable_interactive_logging()\nkeras.config.enable_interactive_logging()",
    ),
    "nnx_half_set": (  # set_nnx_enabled(True) without flax raises, after it set the global
        "EI301",
        "KERAS3 and hasattr(keras.config, 'is_nnx_enabled') and not HAS_FLAX",
        "from keras.src.backend import config\nwith pytest.raises(ImportError):\n    config.set_nnx_enabled(True)",
        "assert not keras.config.is_nnx_enabled()",
        None,
    ),
    "distribution": (
        "EI301",
        "KERAS3",
        "keras.distribution.set_distribution('not a distribution')",
        "assert keras.distribution.distribution() is None",
        None,
    ),
    "global_attribute_nobody_listed": (
        "EI301",
        "KERAS3",
        "from keras.src.backend.common import global_state\nglobal_state.set_global_attribute('ei_setting', 1)",
        "from keras.src.backend.common import global_state\nassert global_state.get_global_attribute('ei_setting') is None",
        "from keras.src.backend.common import global_state\nglobal_state.set_global_attribute('ei_setting', 1)\n"
        "global_state.set_global_attribute('ei_setting', None)",
    ),
    # ---- a state the table lists, written without its setter: the table's own message (not counted above)
    "jit_without_its_setter": (
        "EI301",
        "True",
        "context.context().optimizer_jit = True",
        "assert tf.config.optimizer.get_jit() == ''",
        None,
    ),
}
LISTED = {"jit_without_its_setter"}  # the states entries.py lists (the others are the containers' own)

# Per-call scratch, caches and TF's own bookkeeping touched by ordinary tests: never a finding.
CLEAN = {
    "keras_model": (
        "KERAS3 or KERAS2",
        "m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])\n"
        "m.compile('sgd', 'mse')\n"
        "m.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)\n"
        "m.predict(np.ones((2, 3)), verbose=0)",
    ),
    "keras_save_load": (
        "KERAS3",
        "m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
        "m.save(tmp_path / 'm.keras')\n"
        "keras.models.load_model(tmp_path / 'm.keras')",
    ),
    "keras_clear_session": ("KERAS3 or KERAS2", "keras.backend.clear_session()"),
    "keras_seed": ("KERAS3", "keras.utils.set_random_seed(3)\nkeras.random.normal((2,))"),
    "keras_traceback_filtering": ("KERAS3", "keras.config.disable_traceback_filtering()"),  # display only
    "lookup_table_in_eager": (  # TF appends its initializer to the default graph's table_initializer
        "True",
        "table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(['a'], [1]), -1)\n"
        "assert int(table.lookup(tf.constant('a'))) == 1",
    ),
    "variable_scope_in_eager": (
        "True",
        "with tf.compat.v1.variable_scope('scope'):\n    tf.Variable(1.0)",
    ),
    "private_graph_collections": (
        "True",
        "with tf.Graph().as_default() as g:\n    tf.compat.v1.get_variable('w', [2])\n"
        "    tf.compat.v1.add_to_collection('ei_things', 1)\n"
        "assert g.get_collection('ei_things') == [1]",
    ),
}

HEADER = """
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.eager import context

try:
    import keras
except ImportError:
    keras = tf.keras
KERAS3 = hasattr(keras, "config") and hasattr(keras.config, "enable_unsafe_deserialization")
KERAS2 = not KERAS3 and hasattr(tf.keras.backend, "manual_variable_initialization")
if KERAS2:
    import importlib

    KERAS2_BACKEND = importlib.import_module(tf.keras.backend.manual_variable_initialization.__module__)
try:
    import flax  # noqa: F401

    HAS_FLAX = True
except ImportError:
    HAS_FLAX = False
ENV = {name: os.environ.get(name) for name in ("TF_USE_LEGACY_KERAS", "KERAS_BACKEND")}

NEEDS = {needs}
AVAILABLE = [name for name, needs in NEEDS.items() if eval(needs)]
with open("available.json", "w") as f:
    json.dump(AVAILABLE, f)

"""


def suite(names: list[str] | None = None) -> str:
    """The inner module: for each case, its clean counterpart, polluter and victim, defined only where
    the case is available; then the clean tests of :data:`CLEAN`."""
    names = names or list(CASES)
    needs = {name: CASES[name][1] for name in names}
    needs.update({f"clean_{name}": CLEAN[name][0] for name in CLEAN})
    out = [HEADER.replace("{needs}", repr(needs))]
    for name in names:
        _code, _needs, polluter, victim, clean = CASES[name]
        functions = []
        if clean is not None:
            functions.append(_function(name, "clean", clean))
        functions.append(_function(name, "polluter", polluter))
        if victim is not None:
            functions.append(_function(name, "victim", victim))
        out.append(_guarded(name, functions))
    for name, (_needs, body) in CLEAN.items():
        out.append(_guarded(f"clean_{name}", [_function(name, "scratch", body)]))
    return "\n\n".join(out)


def _guarded(name: str, functions: list[str]) -> str:
    body = "\n".join("    " + line if line else "" for line in "\n".join(functions).splitlines())
    return f"if {name!r} in AVAILABLE:\n\n{body}\n"
