"""The notes' classification pipeline on the digits: image -> features -> linear softmax.

    features:   f = phi(x), phi fitted on the training split only, applied to every split
    scores:     s = z W + b,  z = (f - mean) / std  (standardised with training statistics)
    objective:  1/N sum_i -log softmax(s_i)_{y_i} + reg * sum W^2,  reg chosen on val

The features, each fed to the same classifier (``fdl.classic.softmax_classifier``):
raw pixels (64), PCA (the top 10, 20 and 40 components), LDA (9 = C - 1 directions), a
bag of visual words (a k-means codebook of dense patches, one word histogram per image)
for a few patch sizes and codebook sizes, and the spatial pyramid (word histograms per
cell of 1x1, 2x2 and 4x4 grids) on the codebook that did best on val. The bag of words
is orderless: it says which strokes occur, not where, and on digits where matters (a 6
and a 9 are made of the same strokes); the pyramid puts the where back.

For reference, scikit-learn's ``LogisticRegression`` fitted on the same standardised
features with ``C = 1 / (2 reg N)``: its objective ``1/2 |W|^2 + C sum_i L_i`` is
``C N`` times fdl's, so both minimise the same function (neither penalises the bias),
sklearn to convergence with L-BFGS, fdl by 60 epochs of momentum SGD.

Usage:
    python examples/digits_features.py [--out DIR] [--seed N] [--quick]

Prints the table (feature, dimension, chosen reg, val and test accuracy, scikit-learn's
test accuracy) and writes it as ``results.json`` to ``--out`` (default
``runs/examples/digits_features``). ``--quick`` (for tests) keeps raw pixels, one bag of
words (3x3 patches, 64 words) and its level-1 pyramid.
"""

import argparse
import json
import os
import time

import jax
import numpy as np

import fdl
import fdl.features

PCA_SIZES = (10, 20, 40)
# (patch size, stride, codebook size k). An 8x8 digit has room for few patches: 3x3 at
# stride 1 gives 36 per image (43k training patches), 4x4 at stride 2 only 9 (coarser
# strokes, noisier histograms). 2x2 patches (4 pixels) are too small to tell strokes
# apart: a bag of 16 such words reached 67% on val.
BOW_SETTINGS = ((3, 1, 32), (3, 1, 64), (4, 2, 64))
QUICK_BOW_SETTINGS = ((3, 1, 64),)
# L = 2 on 8x8 images: 4x4 cells of 2x2 pixels, each still holding 1-4 centres of the
# 3x3 patches at stride 1 (but none, in the last row and column, of 4x4 at stride 2).
PYRAMID_LEVELS = (1, 2)
QUICK_PYRAMID_LEVELS = (1,)
REGS = (1e-4, 1e-3, 1e-2)
# With standardised features one rate suits every feature: on val, momentum SGD at 0.03
# matched or beat 0.1 (the classifier's default, set for raw [0, 1] pixels) on 9 of 11
# features and lost by one image on the other two. A second rate is not worth its cost:
# a compilation per feature (the optimizer is part of the compiled epoch; reg is traced,
# so the whole reg grid compiles once).
OPTIMIZER = fdl.optim.momentum(0.03)

# with_coordinates is left out on purpose: its (u, v) channels are the same for every
# image, so raw_pixels of it only appends 128 constant columns, which standardisation
# turns into zeros. A linear classifier cannot use a constant (it would only duplicate
# the bias), and raw pixels already carry position: feature d is always pixel d.


def require_sklearn():
    """scikit-learn's ``LogisticRegression`` and threadpoolctl's ``threadpool_limits``."""
    try:
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits
    except ImportError as err:
        raise SystemExit(
            "examples/digits_features.py needs scikit-learn (pip install scikit-learn): it "
            "ships the digits and is the reference classifier"
        ) from err
    return LogisticRegression, threadpool_limits


def on_every_split(apply, digits):
    """``(train, val, test)`` features of a per-example map ``apply``, computed on the
    three splits stacked: one compiled program instead of one per split size (each
    image's features depend on that image alone, so nothing mixes across splits)."""
    x = np.concatenate([part.x for part in digits[:3]])
    bounds = np.cumsum([len(digits.train.x), len(digits.val.x)])
    return tuple(np.split(np.asarray(apply(x)), bounds))


def fitted(feature, digits, *fit_args):
    """``feature`` fitted on the training images alone, applied to train, val and test."""
    state = feature.fit(digits.train.x, *fit_args)
    return on_every_split(lambda x: feature.apply(state, x), digits)


def standardized(train, val, test):
    """Every split scaled by the training mean and std of each feature
    (``fdl.data.standardize`` fitted on train): one learning rate and one reg grid then
    suit features whose raw scales differ by 100x (word frequencies ~1/36 against PCA
    coordinates of size ~1). The splits go through ``apply`` together: its ops compile
    once per feature width, not three times."""
    standardize = fdl.data.standardize()
    state = standardize.fit(train)
    stacked = np.asarray(standardize.apply(state, np.concatenate([train, val, test])))
    return tuple(np.split(stacked, [len(train), len(train) + len(val)]))


def accuracy(classifier, x, y):
    return float(np.mean(np.asarray(fdl.classic.linear_predict(classifier, x)) == y))


def train_softmax(features, digits, *, regs=REGS):
    """The linear softmax classifier on standardised ``(train, val, test)`` features, one
    per ``reg`` (the same initialisation and shuffles for all); returns ``(reg, val
    accuracy, classifier)`` of the best on val (the smallest reg among ties)."""
    train, val, _ = features
    best = None
    for reg in regs:
        classifier = fdl.classic.softmax_classifier(train, digits.train.y, key=jax.random.key(0),
                                                    reg=reg, optimizer=OPTIMIZER)
        val_accuracy = accuracy(classifier, val, digits.val.y)
        if best is None or val_accuracy > best[1]:
            best = (reg, val_accuracy, classifier)
    return best


def sklearn_accuracy(features, digits, reg):
    """Test accuracy of scikit-learn's ``LogisticRegression`` minimising fdl's objective
    at ``reg`` on the same standardised features: ``C = 1 / (2 reg N)``."""
    logistic_regression, threadpool_limits = require_sklearn()
    train, _, test = features
    model = logistic_regression(C=1 / (2 * reg * len(train)), max_iter=1000)
    # One BLAS thread: on a problem this small, BLAS threads competing with JAX's for the
    # same cores made each fit 10-40x slower (0.9 s against 0.02 s for 64 features).
    with threadpool_limits(limits=1):
        model.fit(train, digits.train.y)
    return float(model.score(test, digits.test.y))


def bow_states(digits, key, settings):
    """``{(patch, stride, k): CodebookState}``: one codebook of ``k`` words per setting,
    fitted on the training images' patches alone."""
    return {(patch, stride, k): fdl.features.bag_of_words(k, patch_size=patch, stride=stride)
            .fit(digits.train.x, key) for patch, stride, k in settings}


def codebook_features(digits, state, setting, levels):
    """The bag of words (``levels=0``) or spatial pyramid of ``state``'s codebook on
    train, val and test."""
    patch, stride, k = setting
    pyramid = fdl.features.spatial_pyramid(k, levels=levels, patch_size=patch, stride=stride)
    return on_every_split(lambda x: pyramid.apply(state, x), digits)


def evaluate(features, digits):
    """Standardises ``(train, val, test)`` features, trains fdl's softmax classifier (reg
    chosen on val) and scikit-learn's at the same reg: the table's row as a dict."""
    features = standardized(*features)
    reg, val_accuracy, classifier = train_softmax(features, digits)
    return {
        "dim": int(features[0].shape[1]),
        "reg": reg,
        "val_accuracy": val_accuracy,
        "test_accuracy": accuracy(classifier, features[2], digits.test.y),
        "sklearn_test_accuracy": sklearn_accuracy(features, digits, reg),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "examples", "digits_features"))
    parser.add_argument("--seed", type=int, default=0, help="k-means seed (default 0)")
    parser.add_argument("--quick", action="store_true",
                        help="raw pixels, one bag of words and its L=1 pyramid (for tests)")
    args = parser.parse_args(argv)
    require_sklearn()
    start = time.perf_counter()
    digits = fdl.data.load_digits()
    results = {}
    print(f"{'feature':<42} {'dim':>5} {'reg':>6} {'val acc':>7} {'test acc':>8} {'sklearn test':>12}")

    def row(name, features):
        results[name] = r = evaluate(features, digits)
        print(f"{name:<42} {r['dim']:>5} {r['reg']:>6.0e} {r['val_accuracy']:>7.3f} "
              f"{r['test_accuracy']:>8.3f} {r['sklearn_test_accuracy']:>12.3f}")
        return r

    row("raw pixels", on_every_split(fdl.features.raw_pixels, digits))
    if not args.quick:
        for k in PCA_SIZES:
            row(f"PCA {k}", fitted(fdl.features.pca(k), digits))
        row("LDA 9", fitted(fdl.features.lda(9), digits, digits.train.y))
    states = bow_states(digits, jax.random.key(args.seed),
                        QUICK_BOW_SETTINGS if args.quick else BOW_SETTINGS)
    val = {}
    for (patch, stride, k), state in states.items():
        name = f"bag of words {patch}x{patch}/{stride}, k={k}"
        val[patch, stride, k] = row(name, codebook_features(digits, state, (patch, stride, k), 0))
    # The pyramids on the codebook whose bag did best on val (the first among ties).
    best = max(val, key=lambda setting: val[setting]["val_accuracy"])
    patch, stride, k = best
    for level in QUICK_PYRAMID_LEVELS if args.quick else PYRAMID_LEVELS:
        row(f"spatial pyramid L={level} ({patch}x{patch}/{stride}, k={k})",
            codebook_features(digits, states[best], best, level))

    print(f"{time.perf_counter() - start:.1f} s")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "results.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {path}")
    return {"results": results, "path": path}


if __name__ == "__main__":
    main()
