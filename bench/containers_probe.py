"""What watching the containers costs a clean test, two ways (issue 29), measured in one process:

- *per-test snapshot*: every container read before and compared after every test, identity first, in C
  where it can be (a dict copy for Keras 3's global_state, ``operator.itemgetter`` tuples for module
  globals and the eager context's settings, lengths of the default graph's collections);
- *writers recorded* (what the plugin does): nothing per test; a write inside a test snapshots the
  container once. Its cost is on the writers: the wrapper of Keras 3's ``set_global_attribute`` (called
  around every layer call) and of the ``Graph``'s ``get_collection_ref`` on a private graph.

Run it with the env to measure: ``python bench/containers_probe.py`` (TF 2.15: no Keras 3 rows).
Prints microseconds per call, the median of 7 timeit repeats; cold caches (after a TF test body) make
the per-test numbers 3-10x larger, which is why a constant per-test read is avoided.
"""

from __future__ import annotations

import operator
import os
import statistics
import sys
import timeit

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def per_call(stmt, number=20000) -> float:
    return statistics.median(timeit.repeat(stmt, number=number, repeat=7)) / number * 1e6


def main() -> None:
    # The plugin's patches, as in a run (installed before TF is imported), and a test running.
    from pytest_estimator_isolation import _tf, scopes

    _tf.state.install(_tf.entries.ENTRIES)
    scopes.push(scopes.Scope("probe::test", "test"))

    import tensorflow as tf
    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops

    tf.constant(1.0) + 1
    rows = []
    ctx = context.context()
    props = [n for n, v in vars(type(ctx)).items() if isinstance(v, property) and v.fset is not None]
    attrs = [f"_{n}" for n in props if f"_{n}" in vars(ctx)]
    get_ctx = operator.itemgetter(*attrs)
    graph = ops.get_default_graph()
    for i in range(8):
        graph.get_collection_ref(f"c{i}").append(i)
    stack = ops._default_graph_stack
    config_names = {}
    keras3 = None
    try:
        import keras
        from keras.src.backend import config
        from keras.src.backend.common import global_state

        if hasattr(global_state, "GLOBAL_STATE_TRACKER"):
            keras3 = global_state
            config_names = vars(config)
            keras.config.disable_traceback_filtering()
            keras.config.enable_traceback_filtering()
    except ImportError:
        pass
    names = [n for n in ("_FLOATX", "_EPSILON", "_IMAGE_DATA_FORMAT", "_MAX_EPOCHS") if n in config_names]
    get_config = operator.itemgetter(*names) if names else None

    def snapshot():
        g = stack._global_default_graph
        out = [get_ctx(vars(context._context)), g, tuple(map(len, g._collections.values()))]
        if keras3 is not None:
            out.append(dict(vars(keras3.GLOBAL_STATE_TRACKER)))
            out.append(get_config(config_names))
        return out

    before = snapshot()
    rows.append(("per-test snapshot of every container (before the test)", per_call(snapshot)))
    rows.append(("per-test compare of every container (after the test)", per_call(lambda: before == snapshot())))
    rows.append(("writers recorded: a clean test", 0.0))
    private = tf.Graph()
    plain = getattr(type(private).get_collection_ref, "__wrapped__", None)
    rows.append(
        ("Graph.get_collection_ref on a private graph, in a test", per_call(lambda: private.get_collection_ref("x")))
    )
    if plain is not None:
        rows.append(("  the same, unwrapped", per_call(lambda: plain(private, "x"))))
    if keras3 is not None:
        setter = keras3.set_global_attribute
        call = "keras global_state.set_global_attribute('current_call_ctx', None), in a test"
        rows.append((call, per_call(lambda: setter("current_call_ctx", None))))
        original = getattr(setter, "__wrapped__", None)
        if original is not None:
            rows.append(("  the same, unwrapped", per_call(lambda: original("current_call_ctx", None))))
    print(f"TF {tf.__version__}, Python {sys.version.split()[0]}")
    for name, us in rows:
        print(f"| {name} | {us:.2f} us |")


if __name__ == "__main__":
    main()
