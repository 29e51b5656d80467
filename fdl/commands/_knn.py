"""``fdl knn``: choose ``k`` and the distance of a nearest-neighbour classifier by
cross-validation, then evaluate the choice once on the test set.

The lecture's experiment: split the training data into folds, let each fold in turn be
the validation data for a classifier that remembers the others, average the accuracies
for every candidate ``(k, metric)``, keep the best, and only then touch the test set.
The training and validation splits of the data are pooled into the data that is
folded (cross-validation replaces the single validation split).

Writes to ``--out``: ``knn.json`` (every fold's accuracy, the choice, the test accuracy)
and ``knn_cv_<metric>.png`` (accuracy against ``k``: each fold a dot, the mean with one
standard deviation as error bars).
"""

import json
import math
import os
import time

from fdl._io import atomic_open
from fdl.commands._errors import UsageError

# The candidate k of the lecture's cross-validation plot.
DEFAULT_KS = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)
DEFAULT_METRICS = ("l2", "l1")


def register(subparsers):
    """Add ``fdl knn`` and its flags to the command's subparsers."""
    knn = subparsers.add_parser(
        "knn",
        help="cross-validate k and the distance of a k-nearest-neighbour classifier",
        description="Cross-validate k and the distance (L1/L2) of a k-nearest-neighbour "
        "classifier on the training data, write knn.json and accuracy-vs-k plots to --out, "
        "then evaluate the best choice once on the test set.",
    )
    knn.add_argument("--data", default="digits",
                     help="'digits' (bundled, default) or a CIFAR-10 directory")
    knn.add_argument("--k", default=None, metavar="K1,K2,...",
                     help="candidate k (default 1,3,5,8,10,12,15,20,50,100, keeping those "
                     "the fold size allows)")
    knn.add_argument("--metric", default=",".join(DEFAULT_METRICS), metavar="l2,l1",
                     help="distances to compare (default l2,l1)")
    knn.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    knn.add_argument("--limit", type=int, default=None, metavar="N",
                     help="cross-validate on N randomly chosen training points (for CIFAR-10)")
    knn.add_argument("--seed", type=int, default=0,
                     help="seed of the fold shuffle and of --limit (default 0)")
    knn.add_argument("--out", default=None, help="output directory (default runs/knn-<timestamp>)")
    knn.set_defaults(run=run_knn)


def _parse_ks(text):
    if text is None:
        return None
    try:
        ks = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--k must be a comma-separated list of integers, got {text!r}") from None
    if min(ks) < 1:
        raise UsageError(f"--k values must be >= 1, got {min(ks)}")
    return tuple(dict.fromkeys(ks))  # unique, in the order given


def _parse_metrics(text):
    from fdl.classic import METRICS

    metrics = tuple(dict.fromkeys(part.strip() for part in text.split(",")))
    for metric in metrics:
        if metric not in METRICS:
            raise UsageError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    return metrics


def _load(args):
    """``(x, y, x_test, y_test, description)``: the pooled train+val data and the test set."""
    import numpy as np

    from fdl import data

    if args.data == "digits":
        splits = data.load_digits(seed=0)
    elif not os.path.isdir(args.data):
        raise UsageError(f"--data must be 'digits' or a CIFAR-10 directory; {args.data!r} is neither")
    else:
        try:
            splits = data.load_cifar10(args.data)
        except (FileNotFoundError, ValueError) as err:
            raise UsageError(f"--data {args.data}: {err}") from err
    x = np.concatenate([splits.train.x, splits.val.x])
    y = np.concatenate([splits.train.y, splits.val.y])
    if args.limit is not None:
        if args.limit < 2:
            raise UsageError(f"--limit must be >= 2, got {args.limit}")
        if args.limit < len(x):
            keep = np.sort(np.random.default_rng(args.seed).permutation(len(x))[: args.limit])
            x, y = x[keep], y[keep]
    return x, y, splits.test.x, splits.test.y


def _candidate_ks(requested, n, folds):
    """The ks to try: those requested (an error if too large), or the defaults that fit."""
    # The smallest training split holds n - ceil(n / folds) examples: k can be no larger.
    largest = n - math.ceil(n / folds)
    if requested is not None:
        if max(requested) > largest:
            raise UsageError(
                f"--k {max(requested)} is larger than the smallest training split "
                f"({largest} of {n} examples with {folds} folds)"
            )
        return requested
    ks = tuple(k for k in DEFAULT_KS if k <= largest)
    if not ks:
        raise UsageError(f"too few examples ({n}) for {folds} folds")
    return ks


def format_table(ks, metrics, results):
    """The cross-validation table: one row per k, ``mean ± std`` per metric."""
    header = f"{'k':>5}  " + "  ".join(f"{m:>17}" for m in metrics)
    lines = [header, "-" * len(header)]
    for i, k in enumerate(ks):
        cells = "  ".join(
            f"{results[m].mean[i]:>8.4f} ± {results[m].std[i]:.4f}" for m in metrics
        )
        lines.append(f"{k:>5}  {cells}")
    return "\n".join(lines)


def _best(ks, metrics, results):
    """``(k, metric)`` of the highest mean accuracy; ties go to the first listed."""
    best = None
    for metric in metrics:
        for i, k in enumerate(ks):
            mean = float(results[metric].mean[i])
            if best is None or mean > best[0]:
                best = (mean, float(results[metric].std[i]), k, metric)
    return best


def run_knn(args):
    import jax
    import numpy as np

    from fdl import classic, tune

    ks = _parse_ks(args.k)
    metrics = _parse_metrics(args.metric)
    if args.folds < 2:
        raise UsageError(f"--folds must be >= 2, got {args.folds}")
    x, y, x_test, y_test = _load(args)
    n = len(x)
    if args.folds > n:
        raise UsageError(f"--folds {args.folds} is more than the {n} examples")
    ks = _candidate_ks(ks, n, args.folds)
    out = args.out or os.path.join("runs", "knn-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)

    print(f"fdl knn: {args.folds}-fold cross-validation on {args.data} ({n} examples), "
          f"k in {list(ks)}, metrics {', '.join(metrics)}")
    key = jax.random.key(args.seed)
    results = {}
    start = time.perf_counter()
    for metric in metrics:
        # The same key for every metric: the metrics are compared on the same folds.
        results[metric] = tune.cross_validate_knn(x, y, ks, folds=args.folds, key=key,
                                                  metric=metric)
    seconds = time.perf_counter() - start
    print(format_table(ks, metrics, results))
    cv_mean, cv_std, best_k, best_metric = _best(ks, metrics, results)
    print(f"best: k={best_k}, metric={best_metric} (cross-validation accuracy "
          f"{cv_mean:.4f} ± {cv_std:.4f}; {seconds:.1f} s)")

    predictions = classic.knn_predict(x, y, x_test, best_k, best_metric)
    test_accuracy = float(np.mean(np.asarray(predictions) == np.asarray(y_test)))
    report = {
        "data": args.data,
        "examples": n,
        "test_examples": int(len(x_test)),
        "folds": args.folds,
        "seed": args.seed,
        "ks": list(ks),
        "metrics": list(metrics),
        "cross_validation": {
            m: {"mean": r.mean.tolist(), "std": r.std.tolist(),
                "fold_accuracies": r.accuracies.tolist()}
            for m, r in results.items()
        },
        "best": {"k": best_k, "metric": best_metric, "cv_mean": cv_mean, "cv_std": cv_std},
        "test_accuracy": test_accuracy,
        "cv_seconds": seconds,
    }
    # The results first: a missing plotting library must not cost the computed numbers.
    with atomic_open(os.path.join(out, "knn.json"), "w") as f:
        json.dump(report, f, indent=2)
    written = ["knn.json"]
    try:
        for metric in metrics:
            path = os.path.join(out, f"knn_cv_{metric}.png")
            tune.plot_cv_accuracy(ks, results[metric].accuracies, path, metric=metric)
            written.append(os.path.basename(path))
    except ImportError as err:
        print(f"fdl knn: plots skipped ({err})")
    print(f"wrote {out}/{', '.join(written)}")
    print(f"test accuracy (k={best_k}, {best_metric}): {test_accuracy:.4f}")
    return 0
