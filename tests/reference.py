"""Naive NumPy reference implementations used as independent test oracles.

Everything here is written the slow, obvious way (explicit Python loops for
convolution and pooling) in float64, and never imports jax, so that it can be
used to check the library's fast implementations.

Conventions follow the library: images NHWC, conv kernels HWIO
(KH, KW, C_in, C_out), dense weights (D_in, D_out), integer labels (N,).
"""

import math

import numpy as np

__all__ = [
    "affine",
    "relu",
    "leaky_relu",
    "elu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "maxout",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "add",
    "concatenate",
    "global_avg_pool2d",
    "global_max_pool2d",
    "subsample2d",
    "pad_channels",
    "batch_norm_train",
    "batch_norm_eval",
    "update_running",
    "svm",
    "softmax_cross_entropy",
    "l1",
    "l2",
    "zero_one",
    "binary_hinge",
    "kl_divergence",
    "reg_l2",
    "reg_l1",
    "reg_elastic_net",
    "max_norm",
    "conv_output_size",
    "dropout_expected_keep",
    "numerical_gradient",
]


def _f64(a):
    return np.asarray(a, dtype=np.float64)


def _pair(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


# ---------------------------------------------------------------------------
# Layers and activations
# ---------------------------------------------------------------------------


def affine(x, w, b):
    """out = reshape(x, (N, D)) @ w + b."""
    x = _f64(x)
    x2 = x.reshape(x.shape[0], -1)
    return x2 @ _f64(w) + _f64(b)


def relu(x):
    """relu(x) = max(0, x)."""
    x = _f64(x)
    return np.where(x > 0, x, 0.0)


def leaky_relu(x, negative_slope=0.01):
    """leaky_relu(x) = x if x > 0 else negative_slope * x."""
    x = _f64(x)
    return np.where(x > 0, x, negative_slope * x)


def elu(x, alpha=1.0):
    """elu(x) = x if x > 0 else alpha * (exp(x) - 1)."""
    x = _f64(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(-x)), evaluated stably for both signs."""
    x = _f64(x)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def tanh(x):
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))."""
    return np.tanh(_f64(x))


def softmax(s):
    """softmax(s)_j = exp(s_j - max s) / sum_k exp(s_k - max s), over the last axis."""
    s = _f64(s)
    z = s - np.max(s, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(s):
    """log_softmax(s)_j = (s_j - max s) - log sum_k exp(s_k - max s), over the last axis."""
    s = _f64(s)
    z = s - np.max(s, axis=-1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def maxout(x, w, b):
    """out[n, m] = max_k (x2 @ w[k] + b[k])[n, m], x2 = x flattened to (N, D)."""
    x = _f64(x)
    w = _f64(w)
    b = _f64(b)
    x2 = x.reshape(x.shape[0], -1)
    k_pieces = w.shape[0]
    out = None
    for k in range(k_pieces):
        piece = x2 @ w[k] + b[k]
        out = piece if out is None else np.maximum(out, piece)
    return out


# ---------------------------------------------------------------------------
# Convolution and pooling
# ---------------------------------------------------------------------------


def _sides(padding):
    """((top, bottom), (left, right)) of an int, a pair (rows, cols) or per-side pairs."""
    per_axis = padding if isinstance(padding, (tuple, list)) else (padding, padding)
    if len(per_axis) != 2:
        raise ValueError(f"padding must be an int or a pair, got {padding!r}")
    return tuple(
        (int(p[0]), int(p[1])) if isinstance(p, (tuple, list)) else (int(p), int(p))
        for p in per_axis
    )


def _pad_image(x, pads, value):
    """x (N, H, W, C) inside a border of ``value``, pads = ((top, bottom), (left, right))."""
    (top, bottom), (left, right) = pads
    n_batch, height, width, channels = x.shape
    xp = np.full((n_batch, height + top + bottom, width + left + right, channels), value,
                 dtype=np.float64)
    xp[:, top:top + height, left:left + width, :] = x
    return xp


def _same_pads(size, kernel, stride):
    out = -(-size // stride)  # ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    before = total // 2
    return before, total - before


def conv2d(x, w, b, stride=1, padding=0):
    """out[n,i,j,o] = b[o] + sum_{p,q,c} xpad[n, i*sh+p, j*sw+q, c] * w[p,q,c,o] (cross-correlation).

    padding: an int, a pair (rows, cols), per side ((top, bottom), (left, right)), 'SAME'
    or 'VALID'. The output size is floored, as PyTorch does: a window that would run
    past the padded input is dropped.
    """
    x = _f64(x)
    w = _f64(w)
    b = _f64(b)
    n_batch, height, width, c_in = x.shape
    kh, kw, c_in_w, c_out = w.shape
    if c_in_w != c_in:
        raise ValueError(f"w has {c_in_w} input channels, x has {c_in}")
    sh, sw = _pair(stride, "stride")

    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            pads_h, pads_w = (0, 0), (0, 0)
        elif mode == "SAME":
            pads_h = _same_pads(height, kh, sh)
            pads_w = _same_pads(width, kw, sw)
        else:
            raise ValueError(f"padding must be an int, a pair, 'SAME' or 'VALID', got {padding!r}")
    else:
        pads_h, pads_w = _sides(padding)

    xp = _pad_image(x, (pads_h, pads_w), 0.0)

    h_out = (xp.shape[1] - kh) // sh + 1
    w_out = (xp.shape[2] - kw) // sw + 1
    out = np.zeros((n_batch, h_out, w_out, c_out), dtype=np.float64)
    for n in range(n_batch):
        for i in range(h_out):
            for j in range(w_out):
                window = xp[n, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
                for o in range(c_out):
                    out[n, i, j, o] = np.sum(window * w[:, :, :, o]) + b[o]
    return out


def _pool(x, size, stride, reduce_fn, padding=0, fill=0.0):
    x = _pad_image(_f64(x), _sides(padding), fill)
    n_batch, height, width, channels = x.shape
    kh, kw = _pair(size, "size")
    sh, sw = _pair(stride, "stride")
    h_out = (height - kh) // sh + 1
    w_out = (width - kw) // sw + 1
    out = np.zeros((n_batch, h_out, w_out, channels), dtype=np.float64)
    for n in range(n_batch):
        for i in range(h_out):
            for j in range(w_out):
                for c in range(channels):
                    window = x[n, i * sh:i * sh + kh, j * sw:j * sw + kw, c]
                    out[n, i, j, c] = reduce_fn(window)
    return out


def max_pool2d(x, size=2, stride=2, padding=0):
    """out[n,i,j,c] = max_{p<KH,q<KW} xpad[n, i*sh+p, j*sw+q, c], xpad bordered by -inf
    (padding as in conv2d; output size floored)."""
    return _pool(x, size, stride, np.max, padding, -np.inf)


def avg_pool2d(x, size=2, stride=2, padding=0):
    """out[n,i,j,c] = mean_{p<KH,q<KW} xpad[n, i*sh+p, j*sw+q, c], xpad bordered by zeros
    that count in the mean (PyTorch's count_include_pad=True; output size floored)."""
    return _pool(x, size, stride, np.mean, padding, 0.0)


# ---------------------------------------------------------------------------
# Merges, global pooling and shortcuts (residual networks, Inception)
# ---------------------------------------------------------------------------


def add(a, b):
    """out = a + b, same shapes only (no broadcasting)."""
    a, b = _f64(a), _f64(b)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    return a + b


def concatenate(xs, axis=-1):
    """out = the arrays of xs one after another along axis, copied element by element."""
    xs = [_f64(x) for x in xs]
    axis = axis % xs[0].ndim
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    out = np.zeros(shape, dtype=np.float64)
    offset = 0
    for x in xs:
        for index in np.ndindex(*x.shape):
            target = list(index)
            target[axis] += offset
            out[tuple(target)] = x[index]
        offset += x.shape[axis]
    return out


def global_avg_pool2d(x):
    """out[n, c] = sum_{i,j} x[n, i, j, c] / (H * W)."""
    x = _f64(x)
    n_batch, height, width, channels = x.shape
    out = np.zeros((n_batch, channels), dtype=np.float64)
    for n in range(n_batch):
        for c in range(channels):
            total = 0.0
            for i in range(height):
                for j in range(width):
                    total += x[n, i, j, c]
            out[n, c] = total / (height * width)
    return out


def global_max_pool2d(x):
    """out[n, c] = max_{i,j} x[n, i, j, c]."""
    x = _f64(x)
    n_batch, height, width, channels = x.shape
    out = np.full((n_batch, channels), -np.inf, dtype=np.float64)
    for n in range(n_batch):
        for c in range(channels):
            for i in range(height):
                for j in range(width):
                    out[n, c] = max(out[n, c], x[n, i, j, c])
    return out


def subsample2d(x, stride):
    """out[n, i, j, c] = x[n, i*sh, j*sw, c] for every i*sh < H, j*sw < W."""
    x = _f64(x)
    sh, sw = _pair(stride, "stride")
    n_batch, height, width, channels = x.shape
    rows = [i for i in range(height) if i % sh == 0]
    cols = [j for j in range(width) if j % sw == 0]
    out = np.zeros((n_batch, len(rows), len(cols), channels), dtype=np.float64)
    for a, i in enumerate(rows):
        for b, j in enumerate(cols):
            out[:, a, b, :] = x[:, i, j, :]
    return out


def pad_channels(x, before, after):
    """out[..., before + k] = x[..., k]; the other (before + after) channels are zero."""
    x = _f64(x)
    channels = x.shape[-1]
    out = np.zeros(x.shape[:-1] + (before + channels + after,), dtype=np.float64)
    for k in range(channels):
        out[..., before + k] = x[..., k]
    return out


# ---------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------


def batch_norm_train(x, gamma, beta, eps=1e-5):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, mean/var (biased) over all axes but the last."""
    x = _f64(x)
    axes = tuple(range(x.ndim - 1))
    m = 1
    for a in axes:
        m *= x.shape[a]
    mean = np.sum(x, axis=axes) / m
    var = np.sum((x - mean) ** 2, axis=axes) / m
    y = _f64(gamma) * (x - mean) / np.sqrt(var + eps) + _f64(beta)
    return y, mean, var


def batch_norm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta."""
    x = _f64(x)
    return _f64(gamma) * (x - _f64(running_mean)) / np.sqrt(_f64(running_var) + eps) + _f64(beta)


def update_running(running, batch, momentum=0.9):
    """running' = momentum * running + (1 - momentum) * batch."""
    return momentum * _f64(running) + (1.0 - momentum) * _f64(batch)


# ---------------------------------------------------------------------------
# Per-example losses (each returns shape (N,))
# ---------------------------------------------------------------------------


def svm(scores, y, margin=1.0, squared=False):
    """L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin) (each term squared if squared)."""
    scores = _f64(scores)
    y = np.asarray(y)
    n_batch, n_classes = scores.shape
    out = np.zeros(n_batch, dtype=np.float64)
    for i in range(n_batch):
        yi = int(y[i])
        total = 0.0
        for j in range(n_classes):
            if j == yi:
                continue
            term = max(0.0, scores[i, j] - scores[i, yi] + margin)
            total += term * term if squared else term
        out[i] = total
    return out


def softmax_cross_entropy(scores, y):
    """L_i = logsumexp(s_i) - s_{i, y_i} = -log softmax(s_i)[y_i]."""
    scores = _f64(scores)
    y = np.asarray(y)
    n_batch = scores.shape[0]
    out = np.zeros(n_batch, dtype=np.float64)
    for i in range(n_batch):
        row = scores[i]
        mx = np.max(row)
        lse = mx + math.log(np.sum(np.exp(row - mx)))
        out[i] = lse - row[int(y[i])]
    return out


def l1(pred, target):
    """L_i = sum over non-batch axes of |pred_i - target_i| (|diff| for 1-D input)."""
    d = np.abs(_f64(pred) - _f64(target))
    if d.ndim <= 1:
        return d
    return d.reshape(d.shape[0], -1).sum(axis=1)


def l2(pred, target):
    """L_i = sum over non-batch axes of (pred_i - target_i)^2 (no 1/2; diff^2 for 1-D input)."""
    d = (_f64(pred) - _f64(target)) ** 2
    if d.ndim <= 1:
        return d
    return d.reshape(d.shape[0], -1).sum(axis=1)


def zero_one(scores, y):
    """L_i = 1.0 if argmax_j s_{i,j} != y_i else 0.0."""
    scores = _f64(scores)
    y = np.asarray(y)
    return (np.argmax(scores, axis=1) != y).astype(np.float64)


def binary_hinge(score, y_pm1):
    """L_i = max(0, 1 - y_i * score_i) with y_i in {-1, +1}."""
    return np.maximum(0.0, 1.0 - _f64(y_pm1) * _f64(score))


def kl_divergence(p, q):
    """KL(p || q) = sum over the last axis of p * log(p / q), with 0 * log(0 / q) = 0."""
    p = _f64(p)
    q = _f64(q)
    pos = p > 0
    safe_p = np.where(pos, p, 1.0)
    safe_q = np.where(pos, q, 1.0)
    terms = np.where(pos, p * np.log(safe_p / safe_q), 0.0)
    return np.sum(terms, axis=-1)


# ---------------------------------------------------------------------------
# Regularisers
# ---------------------------------------------------------------------------


def _leaves(params):
    if isinstance(params, dict):
        out = []
        for key in params:
            out.extend(_leaves(params[key]))
        return out
    if isinstance(params, (list, tuple)):
        out = []
        for item in params:
            out.extend(_leaves(item))
        return out
    if params is None:
        return []
    return [_f64(params)]


def _map_leaves(fn, params):
    if isinstance(params, dict):
        return {key: _map_leaves(fn, val) for key, val in params.items()}
    if isinstance(params, list):
        return [_map_leaves(fn, val) for val in params]
    if isinstance(params, tuple):
        return tuple(_map_leaves(fn, val) for val in params)
    if params is None:
        return None
    return fn(_f64(params))


def reg_l2(params):
    """R = sum over every leaf of sum(W^2)."""
    return float(sum(np.sum(leaf ** 2) for leaf in _leaves(params)))


def reg_l1(params):
    """R = sum over every leaf of sum(|W|)."""
    return float(sum(np.sum(np.abs(leaf)) for leaf in _leaves(params)))


def reg_elastic_net(params, beta):
    """R = sum over every leaf of sum(beta * W^2 + |W|)."""
    return float(sum(np.sum(beta * leaf ** 2 + np.abs(leaf)) for leaf in _leaves(params)))


def max_norm(params, c):
    """For leaves with ndim >= 2, rescale each output unit's incoming vector (last axis
    index) to norm <= c."""

    def project(leaf):
        if leaf.ndim < 2:
            return leaf.copy()
        out = leaf.copy()
        for o in range(leaf.shape[-1]):
            vec = leaf[..., o]
            norm = math.sqrt(float(np.sum(vec ** 2)))
            if norm > c:
                out[..., o] = vec * (c / norm)
        return out

    return _map_leaves(project, params)


# ---------------------------------------------------------------------------
# Misc
# ---------------------------------------------------------------------------


def conv_output_size(size, kernel, stride, padding):
    """out = (size - kernel + 2*padding) / stride + 1, ValueError if not an integer."""
    num = size - kernel + 2 * padding
    if num < 0:
        raise ValueError(
            f"kernel {kernel} does not fit input size {size} with padding {padding}"
        )
    if num % stride != 0:
        raise ValueError(
            f"(size - kernel + 2*padding) = {num} is not divisible by stride {stride}"
        )
    return num // stride + 1


def dropout_expected_keep(rate):
    """E[mask] = P(keep) = 1 - rate."""
    return 1.0 - rate


def numerical_gradient(f, x, h=1e-5):
    """grad_i = (f(x + h e_i) - f(x - h e_i)) / (2h), on a float64 copy of x (array outputs are summed)."""
    x = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    gflat = grad.reshape(-1)
    for idx in range(flat.size):
        old = flat[idx]
        flat[idx] = old + h
        fp = float(np.sum(f(x.copy())))
        flat[idx] = old - h
        fm = float(np.sum(f(x.copy())))
        flat[idx] = old
        gflat[idx] = (fp - fm) / (2.0 * h)
    return grad
