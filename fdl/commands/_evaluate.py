"""``fdl evaluate CHECKPOINT``: a trained model's metrics on a split of its data.

Rebuilds the model from the checkpoint ``fdl train`` wrote (no flags to repeat), loads
the data it was trained on (or ``--data``) and prints the split's accuracy, loss and
per-class table; ``--out DIR`` also writes ``evaluation.json`` and ``confusion.png``. On
the test split it repeats ``fdl train``'s ``test_accuracy`` exactly: the same split, the
same parameters and the same evaluation code (``_trained.split_report``).
"""

import json
import os
import sys

from fdl._io import atomic_open
from fdl.commands import _trained
from fdl.commands._errors import UsageError

SPLITS = ("test", "val", "train")


def run_evaluate(checkpoint, *, data=None, split="test", out=None, stream=None):
    """Evaluates the model in ``checkpoint`` on ``split`` of ``data`` (default: the data it
    was trained on); prints a report to ``stream`` and returns the metrics dict."""
    from fdl import train
    from fdl.commands._train import _load_data

    stream = sys.stdout if stream is None else stream
    if split not in SPLITS:
        raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    trained = _trained.load_trained(checkpoint)
    data = data or trained.spec.get("data") or "digits"
    splits = _load_data(data)
    if tuple(splits.train.x.shape[1:]) != trained.input_shape \
            or len(splits.class_names) != len(trained.class_names):
        raise UsageError(f"--data {data}: images of shape {tuple(splits.train.x.shape[1:])} in "
                         f"{len(splits.class_names)} classes, but the model takes "
                         f"{trained.input_shape} in {len(trained.class_names)} classes")
    dataset = getattr(splits, split)
    metrics, report = _trained.split_report(
        trained.model, trained.params, trained.state, trained.loss, dataset,
        trained.class_names, trained.compute_dtype)
    model_name = trained.config.get("model", trained.spec["builder"])
    print(f"fdl evaluate: {model_name} from {checkpoint} (epoch {trained.epoch}) on the "
          f"{split} split of {data} ({len(dataset.x)} examples)", file=stream)
    print(train.format_class_report(report), file=stream)
    loss_text = "" if metrics["loss"] is None else f", loss: {metrics['loss']:.4f}"
    print(f"{split} accuracy: {metrics['accuracy']:.4f}{loss_text}", file=stream)
    result = {"checkpoint": os.path.abspath(checkpoint), "epoch": trained.epoch, "data": data,
              "split": split, "examples": len(dataset.x), **metrics}
    if out is not None:
        _write(out, result, report, trained.class_names, stream)
    return result


def _write(out, result, report, class_names, stream):
    from fdl import viz
    from fdl.commands._train import _output_directory

    out = _output_directory(out)
    with atomic_open(os.path.join(out, "evaluation.json"), "w") as f:
        json.dump(result, f, indent=2)
    written = ["evaluation.json"]
    try:
        viz.plot_confusion_matrix(report.confusion_matrix, os.path.join(out, "confusion.png"),
                                  class_names=class_names)
        written.append("confusion.png")
    except ImportError as err:
        print(f"fdl evaluate: plot skipped ({err})", file=stream)
    print(f"wrote {', '.join(os.path.join(out, name) for name in written)}", file=stream)


def register(subparsers):
    """Add ``fdl evaluate`` to the command's subparsers."""
    ev = subparsers.add_parser(
        "evaluate", help="a trained model's accuracy, loss and per-class table on its test set",
        description="Evaluate a checkpoint written by fdl train on a split of its data (the "
                    "model, its input shape and class names are read from the checkpoint).")
    ev.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint.npz of fdl train")
    ev.add_argument("--data", help="'digits' or a CIFAR-10 directory (default: the data the "
                                   "model was trained on)")
    ev.add_argument("--split", default="test", choices=SPLITS, help="which split (default test)")
    ev.add_argument("--out", help="also write evaluation.json and confusion.png to this directory")
    ev.set_defaults(run=_run_from_args)


def _run_from_args(args):
    run_evaluate(args.checkpoint, data=args.data, split=args.split, out=args.out)
    return 0
