"""Independent NumPy references for every case of ``fdl.gradcheck.CASES``.

The registry of ops lives in ``fdl.gradcheck`` (``fdl gradcheck`` runs it too); this
file adds, for each op, the reference its forward values are checked against. A new op
needs one line there and one line here; ``test_every_case_has_a_reference`` enforces it.
"""

import numpy as np
import reference as ref


def _np(tree):
    if isinstance(tree, dict):
        return {k: _np(v) for k, v in tree.items()}
    return np.asarray(tree, dtype=np.float64) if np.asarray(tree).dtype.kind == "f" else np.asarray(tree)


def _reduced(per_example):
    def loss(*args, reduction="mean", **kwargs):
        values = per_example(*[_np(a) for a in args], **kwargs)
        return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](values)
    return loss


def _batch_norm(x, gamma, beta, state, *, train, momentum=0.9, eps=1e-5):
    x, gamma, beta, state = _np(x), _np(gamma), _np(beta), _np(state)
    if train:
        y, mean, var = ref.batch_norm_train(x, gamma, beta, eps)
        return y, {"mean": ref.update_running(state["mean"], mean, momentum),
                   "var": ref.update_running(state["var"], var, momentum)}
    return ref.batch_norm_eval(x, gamma, beta, state["mean"], state["var"], eps), state


def _dropout(x, key, *, rate, train):
    import jax

    # The mask is jax.random's Bernoulli draw for this key; what is checked is the
    # inverted scaling 1 / (1 - rate) of the kept units and zeros elsewhere.
    keep = np.asarray(jax.random.bernoulli(key, 1 - rate, np.shape(x)))
    return np.where(keep, _np(x) / (1 - rate), 0.0) if train else _np(x)


REFERENCES = {
    "affine": lambda x, w, b: ref.affine(_np(x), _np(w), _np(b)),
    "flatten": lambda x: _np(x).reshape(np.shape(x)[0], -1),
    "relu": lambda x: ref.relu(_np(x)),
    "leaky_relu": lambda x, negative_slope=0.01: ref.leaky_relu(_np(x), negative_slope),
    "elu": lambda x, alpha=1.0: ref.elu(_np(x), alpha),
    "sigmoid": lambda x: ref.sigmoid(_np(x)),
    "tanh": lambda x: ref.tanh(_np(x)),
    "maxout": lambda x, w, b: ref.maxout(_np(x), _np(w), _np(b)),
    "softmax": lambda s: ref.softmax(_np(s)),
    "log_softmax": lambda s: ref.log_softmax(_np(s)),
    "conv2d": lambda x, w, b, stride=1, padding=0, impl=None: ref.conv2d(
        _np(x), _np(w), _np(b), stride, padding),
    "max_pool2d": lambda x, size=2, stride=2, padding=0: ref.max_pool2d(_np(x), size, stride,
                                                                        padding),
    "avg_pool2d": lambda x, size=2, stride=2, padding=0: ref.avg_pool2d(_np(x), size, stride,
                                                                        padding),
    "add": lambda a, b: ref.add(_np(a), _np(b)),
    "concatenate": lambda xs, axis=-1: ref.concatenate([_np(x) for x in xs], axis),
    "global_avg_pool2d": lambda x: ref.global_avg_pool2d(_np(x)),
    "global_max_pool2d": lambda x: ref.global_max_pool2d(_np(x)),
    "subsample2d": lambda x, stride: ref.subsample2d(_np(x), stride),
    "pad_channels": lambda x, before, after: ref.pad_channels(_np(x), before, after),
    "batch_norm": _batch_norm,
    "dropout": _dropout,
    "svm": _reduced(ref.svm),
    "softmax_cross_entropy": _reduced(ref.softmax_cross_entropy),
    "zero_one": _reduced(ref.zero_one),
    "binary_hinge": _reduced(ref.binary_hinge),
    "l1": _reduced(ref.l1),
    "l2": _reduced(ref.l2),
    "kl_divergence": _reduced(ref.kl_divergence),
    "regularizers.l2": lambda p: ref.reg_l2(_np(p)),
    "regularizers.l1": lambda p: ref.reg_l1(_np(p)),
    "regularizers.elastic_net": lambda p, beta: ref.reg_elastic_net(_np(p), beta),
}


def reference_for(case):
    return REFERENCES[case.name.split("[")[0]]
