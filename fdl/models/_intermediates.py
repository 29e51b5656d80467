"""Every layer's output for one batch (lecture: "activation statistics").

Looking at what each layer produces is how the notes diagnose a bad initialisation:
with weights that are too small the activations of deep layers collapse to zero, with
weights that are too large ``tanh`` units saturate at +-1. ``intermediates`` runs a
model layer by layer and keeps every leaf layer's output, ready for
``fdl.viz.plot_activation_histograms``. Inside a ``residual``, ``concat`` or
``parallel`` it records every branch's layers, then the combined output (the residual
sum, the concatenation), computed by the combinator's own ``join``.
"""

import functools

import jax

from fdl.layers._core import Layer, check_entries, check_train, sublayer_keys, wiring


def _expands(layer):
    """How ``intermediates`` walks ``layer``: ``"serial"``, ``"parallel"`` (element ``i``
    of the input to sublayer ``i``), ``"shared"`` (the same input to every sublayer), or
    None: one step, ``layer.apply`` (single layers, and hand-made combinators without a
    ``join``)."""
    kind = wiring(layer)
    if kind is None or kind == "serial":
        return kind
    if layer.join is None:
        return None
    return "parallel" if kind == "parallel" else "shared"


def _label(layer, prefix):
    return f"{'.'.join(map(str, prefix))}:{layer.name}" if prefix else layer.name


def _leaves(layer, prefix):
    """``(label, layer, index path)`` for every step ``intermediates`` records, in
    execution order: each single layer, and each branching combinator after its
    branches (its joined output: the residual sum, the concatenation).

    Labels read ``"<index path>:<layer name>"``, e.g. ``"3:Relu"``, ``"1.0:Dense(8)"``
    for a model nested in a model, ``"2.1:Identity"`` for a residual's shortcut and
    ``"2:residual"`` for its sum; the index path is where the layer's params sit
    (``params[1][0]``).
    """
    how = _expands(layer)
    if how is None:
        return [(_label(layer, prefix), layer, prefix)]
    out = []
    for i, sub in enumerate(layer.sublayers):
        out += _leaves(sub, prefix + (i,))
    if how != "serial":
        out.append((_label(layer, prefix), layer, prefix))
    return out


def layer_labels(model):
    """The labels ``intermediates`` gives the steps of ``model``, in order."""
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a fdl.layers.Layer, got {type(model).__name__}")
    return [label for label, _, _ in _leaves(model, ())]


def _run(layer, params, state, x, train, key, outputs):
    """Applies ``layer`` like its own ``apply`` would, appending each step's output in
    the order of ``_leaves``.

    Keys are split exactly as the combinators split them (``sublayer_keys``: one
    sub-key per sublayer that needs one, in order), so dropout masks, and therefore the
    outputs, are the same as ``model.apply`` with the same key; a branching combinator's
    output is its own ``join`` of its branches' outputs.
    """
    how = _expands(layer)
    if how is None:
        out, _ = layer.apply(params, state, x, train=train, key=key)
        outputs.append(out)
        return out
    subs = layer.sublayers
    # zip below would silently drop what does not match: check as apply does.
    check_entries(params, state, len(subs), layer.name, "per-sublayer")
    if how == "parallel" and (not isinstance(x, (tuple, list)) or len(x) != len(subs)):
        raise ValueError(f"{layer.name}: x must be a tuple of {len(subs)}, one per branch")
    keys = sublayer_keys(subs, key)
    if how == "serial":
        for sub, p, s, k in zip(subs, params, state, keys):
            x = _run(sub, p, s, x, train, k, outputs)
        return x
    xs = x if how == "parallel" else (x,) * len(subs)
    outs = tuple(_run(sub, p, s, xi, train, k, outputs)
                 for sub, p, s, xi, k in zip(subs, params, state, xs, keys))
    out = layer.join(outs)
    outputs.append(out)
    return out


@functools.partial(jax.jit, static_argnums=0, static_argnames="train")
def _activations(model, params, state, x, key, *, train):
    outputs = []
    _run(model, params, state, x, train, key, outputs)
    return outputs


def intermediates(model, params, state, x, *, train=False, key=None):
    """The output of every leaf layer of ``model`` on the batch ``x``.

    One compiled program per model and input shape. The last entry is the model's
    output (``model.apply(params, state, x, train=train, key=key)[0]``); running
    statistics are read but not updated. A branching combinator (``residual``,
    ``concat``, ``parallel``) contributes its branches' layers, then its own combined
    output. A layer whose output is a tuple (``fan_out``, ``parallel``) gives a tuple.

    Args:
      model: a ``Layer``, usually a ``serial`` model from ``fdl.models``.
      params, state: as returned by ``model.init``.
      x: a batch, ``(N, ...)``.
      train: training mode (batch statistics in batch norm, masks in dropout).
      key: PRNG key for dropout in training mode.
    Returns:
      A list of ``(label, activation)`` pairs, one per leaf layer (and per branching
      combinator, after its branches) in execution order, labelled ``"<index
      path>:<layer name>"`` (e.g. ``"1:Dense(100)"``, ``"2.0.1:Relu"`` inside a
      residual block, ``"2:residual"`` for the sum); each activation has the batch
      axis first.
    """
    labels = layer_labels(model)
    check_train(train, "intermediates")
    if not isinstance(params, (tuple, list, dict)) or not isinstance(state, (tuple, list, dict)):
        raise TypeError("intermediates: params and state must be the pytrees model.init returns")
    outputs = _activations(model, params, state, x, key, train=train)
    return list(zip(labels, outputs))
