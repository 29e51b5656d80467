"""Every layer's output for one batch (lecture: "activation statistics").

Looking at what each layer produces is how the notes diagnose a bad initialisation:
with weights that are too small the activations of deep layers collapse to zero, with
weights that are too large ``tanh`` units saturate at +-1. ``intermediates`` runs a
model layer by layer and keeps every leaf layer's output, ready for
``fdl.viz.plot_activation_histograms``.
"""

import functools

import jax

from fdl.layers._core import Layer, check_train


def _leaves(layer, prefix):
    """``(label, leaf layer, index path)`` for every leaf layer, in execution order.

    Labels read ``"<index path>:<layer name>"``, e.g. ``"3:Relu"`` or ``"1.0:Dense(8)"``
    for a model nested in a model; the index path is where the layer's params sit
    (``params[1][0]``).
    """
    if not layer.sublayers:
        path = ".".join(map(str, prefix))
        return [(f"{path}:{layer.name}" if prefix else layer.name, layer, prefix)]
    out = []
    for i, sub in enumerate(layer.sublayers):
        out += _leaves(sub, prefix + (i,))
    return out


def layer_labels(model):
    """The labels ``intermediates`` gives the leaf layers of ``model``, in order."""
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a fdl.layers.Layer, got {type(model).__name__}")
    return [label for label, _, _ in _leaves(model, ())]


def _run(layer, params, state, x, train, key, outputs):
    """Applies ``layer`` like its own ``apply`` would, appending each leaf's output.

    Keys are split exactly as ``serial`` splits them (one sub-key per layer that needs
    one, in order), so dropout masks, and therefore the outputs, are the same as
    ``model.apply`` with the same key.
    """
    if not layer.sublayers:
        out, _ = layer.apply(params, state, x, train=train, key=key)
        outputs.append(out)
        return out
    subs = layer.sublayers
    keyed = [i for i, sub in enumerate(subs) if sub.needs_key]
    subkeys = [None] * len(subs)
    if key is not None and keyed:
        for j, k in zip(keyed, jax.random.split(key, len(keyed))):
            subkeys[j] = k
    for sub, p, s, k in zip(subs, params, state, subkeys):
        x = _run(sub, p, s, x, train, k, outputs)
    return x


@functools.partial(jax.jit, static_argnums=0, static_argnames="train")
def _activations(model, params, state, x, key, *, train):
    outputs = []
    _run(model, params, state, x, train, key, outputs)
    return outputs


def intermediates(model, params, state, x, *, train=False, key=None):
    """The output of every leaf layer of ``model`` on the batch ``x``.

    One compiled program per model and input shape. The last entry is the model's
    output (``model.apply(params, state, x, train=train, key=key)[0]``); running
    statistics are read but not updated.

    Args:
      model: a ``Layer``, usually a ``serial`` model from ``fdl.models``.
      params, state: as returned by ``model.init``.
      x: a batch, ``(N, ...)``.
      train: training mode (batch statistics in batch norm, masks in dropout).
      key: PRNG key for dropout in training mode.
    Returns:
      A list of ``(label, activation)`` pairs, one per leaf layer in execution order,
      labelled ``"<index path>:<layer name>"`` (e.g. ``"1:Dense(100)"``); each
      activation has the batch axis first.
    """
    labels = layer_labels(model)
    check_train(train, "intermediates")
    if not isinstance(params, (tuple, list, dict)) or not isinstance(state, (tuple, list, dict)):
        raise TypeError("intermediates: params and state must be the pytrees model.init returns")
    outputs = _activations(model, params, state, x, key, train=train)
    return list(zip(labels, outputs))
