"""``fdl predict CHECKPOINT FILE.npy``: a trained model's class for every row of an array.

The array holds examples as the model was trained on them: ``(N, *input_shape)``, one
example of ``input_shape``, or flattened rows ``(N, prod(input_shape))``, with values on
the training data's scale (the bundled digits lie in [0, 1]; a warning says so when the
file's values do not). For each row it writes the predicted class (index and name) and,
for a softmax classifier, the class probabilities ``softmax(f(x))``; a hinge-loss (SVM)
model's scores are margins, not probabilities, and are written as scores. CSV (default)
or JSON, to standard output or atomically to ``--out``.
"""

import csv
import io
import json
import math
import sys

from fdl._io import atomic_open
from fdl.commands import _trained
from fdl.commands._errors import UsageError

FORMATS = ("csv", "json")


def predict_rows(trained, x):
    """``(labels, values, kind)`` for the float32 batch ``x``: the predicted classes
    ``(N,)``, per-class values ``(N, C)`` and their kind, ``"probability"`` (softmax
    classifiers) or ``"score"`` (SVM margins)."""
    import numpy as np

    from fdl import nn, train

    scores = train.predict_scores(trained.model, trained.params, trained.state, x,
                                  compute_dtype=trained.compute_dtype)
    labels = np.asarray(scores.argmax(axis=-1))  # first maximum on ties, as fdl.train.predict
    if trained.spec["loss"] == "softmax_cross_entropy":
        return labels, np.asarray(nn.softmax(scores)), "probability"
    return labels, np.asarray(scores), "score"


def _load_array(path):
    import numpy as np

    if not str(path).endswith(".npy"):
        raise UsageError(f"{path}: expected a NumPy .npy file (np.save(path, x))")
    try:
        # Never unpickle: a .npy file with Python objects could run code.
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, ValueError) as err:
        raise UsageError(f"{path}: not a readable .npy array of numbers ({err})") from None


def check_inputs(x, trained, source):
    """``x`` as a float32 batch of the model's input shape; ``UsageError`` otherwise.

    Accepts ``(N, *input_shape)``, one example of ``input_shape``, or flattened rows
    ``(N, prod(input_shape))`` (e.g. digits as 64 columns). Returns ``(x, warning)``:
    ``warning`` is a sentence when the values lie far outside the range the model was
    trained on (e.g. 0..255 pixels for a model trained on [0, 1]), else None.
    """
    import numpy as np

    shape = trained.input_shape
    if x.dtype.kind not in "fiub":
        raise UsageError(f"{source}: expected numbers, got an array of dtype {x.dtype}")
    if x.shape == shape:
        x = x[None]
    elif x.ndim == 2 and x.shape[1] == math.prod(shape) and len(shape) > 1:
        x = x.reshape((x.shape[0], *shape))
    if x.shape[1:] != shape or x.shape[0] == 0:
        raise UsageError(f"{source}: expected rows of shape {shape} (an array (N, "
                         f"{', '.join(map(str, shape))}) or (N, {math.prod(shape)})), "
                         f"got an array of shape {x.shape}")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise UsageError(f"{source}: holds NaN or infinite values")
    low, high = trained.spec.get("input_range", (None, None))
    warning = None
    if low is not None and high is not None:
        span = max(high - low, 1e-12)
        if x.min() < low - span or x.max() > high + span:
            warning = (f"{source}: values span [{x.min():.4g}, {x.max():.4g}], but the model was "
                       f"trained on inputs in [{low:.4g}, {high:.4g}]; scale them as the "
                       "training data was (fdl's loaders divide digits by 16 and CIFAR-10 "
                       "pixels by 255) or the predictions mean little")
    return x, warning


def format_csv(labels, values, kind, class_names):
    """One header line (``row,class,name,<kind>_<name>...``), then one line per row."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["row", "class", "name", *(f"{kind}_{name}" for name in class_names)])
    for i, (label, row) in enumerate(zip(labels, values)):
        writer.writerow([i, int(label), class_names[label], *(f"{v:.6g}" for v in row)])
    return text.getvalue()


def format_json(labels, values, kind, class_names):
    """``{"classes", "values", "predictions": [{"row", "class", "name", "<kind>"}]}``."""
    key = "probabilities" if kind == "probability" else "scores"
    return json.dumps({
        "classes": list(class_names),
        "values": key,
        "predictions": [
            {"row": i, "class": int(label), "name": class_names[label],
             key: [float(v) for v in row]}
            for i, (label, row) in enumerate(zip(labels, values))
        ],
    }, indent=1) + "\n"


def run_predict(checkpoint, array_path, *, fmt="csv", out=None, stream=None, errors=None):
    """Predicts every row of the ``.npy`` file with the model in ``checkpoint``; writes the
    table to ``out`` (or ``stream``) and returns ``(labels, values, kind)``."""
    stream = sys.stdout if stream is None else stream
    errors = sys.stderr if errors is None else errors
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    trained = _trained.load_trained(checkpoint)
    x, warning = check_inputs(_load_array(array_path), trained, array_path)
    if warning:
        print(f"fdl predict: warning: {warning}", file=errors)
    labels, values, kind = predict_rows(trained, x)
    formatter = format_csv if fmt == "csv" else format_json
    text = formatter(labels, values, kind, trained.class_names)
    if out is None:
        stream.write(text)
    else:
        with atomic_open(out, "w") as f:
            f.write(text)
        print(f"fdl predict: wrote {len(labels)} predictions to {out}", file=errors)
    return labels, values, kind


def register(subparsers):
    """Add ``fdl predict`` to the command's subparsers."""
    pr = subparsers.add_parser(
        "predict", help="classes and probabilities for the rows of a .npy array",
        description="Predict with a checkpoint written by fdl train: one line per row of "
                    "FILE.npy with the class and its probabilities (softmax models) or "
                    "scores (SVM).")
    pr.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint.npz of fdl train")
    pr.add_argument("array", metavar="FILE.npy",
                    help="examples (N, *input_shape), or flattened rows, on the training "
                         "data's scale")
    pr.add_argument("--format", default="csv", choices=FORMATS, help="output format (default csv)")
    pr.add_argument("--out", help="write to this file (atomically) instead of standard output")
    pr.set_defaults(run=_run_from_args)


def _run_from_args(args):
    run_predict(args.checkpoint, args.array, fmt=args.format, out=args.out)
    return 0
