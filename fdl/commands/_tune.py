"""``fdl tune``: random search of the learning rate and the L2 strength, on validation data.

The lecture's recipe: sample ``lr`` and ``reg`` log-uniformly (each decade gets the same
share of trials), train each configuration for a few epochs, compare validation
accuracies, stop a run as soon as its loss exceeds 3x its initial loss (``fit``'s
divergence rule: a moving mean over 10 steps, so one noisy minibatch does not), and
optionally narrow the ranges around the best trials and search again (coarse to fine).

Every trial starts from the same initial weights and runs the same compiled epoch: the
learning rate and the L2 strength enter it as traced values, so the whole search
compiles once per model, not once per trial.

Writes to ``--out``: ``trials.json`` (every trial), ``best.json`` (the best
configuration) and ``trials.png`` (log lr against log reg, coloured by val accuracy).
"""

import json
import math
import os
import shlex
import time

from fdl._io import atomic_open
from fdl.commands._errors import UsageError

# Dense models only: each epoch runs as one lax.scan, which is slow for convolutions on
# CPU (see PERFORMANCE.md); tune conv nets with repeated `fdl train` runs instead.
MODELS = ("softmax", "linear-svm", "mlp")


def register(subparsers):
    """Add ``fdl tune`` and its flags to the command's subparsers."""
    from fdl.commands._train import OPTIMIZERS

    tu = subparsers.add_parser(
        "tune",
        help="random (and coarse-to-fine) search of the learning rate and L2 strength",
        description="Random search, log-uniform, of the learning rate and the L2 "
        "regularisation strength on validation accuracy; writes trials.json, best.json "
        "and a scatter plot of the trials to --out.",
    )
    tu.add_argument("--model", default="softmax", metavar="|".join(MODELS),
                    help="model to tune (default softmax)")
    tu.add_argument("--optimizer", default="momentum", metavar="|".join(OPTIMIZERS),
                    help="update rule (default momentum)")
    tu.add_argument("--trials", type=int, default=20,
                    help="trials per round (default 20)")
    tu.add_argument("--epochs", type=int, default=5, help="epochs per trial (default 5)")
    tu.add_argument("--batch-size", type=int, default=64, help="minibatch size (default 64)")
    tu.add_argument("--lr-range", default="1e-4,1", metavar="LO,HI",
                    help="log-uniform range of the learning rate (default 1e-4,1)")
    tu.add_argument("--reg-range", default="1e-6,1e-1", metavar="LO,HI",
                    help="log-uniform range of the L2 strength (default 1e-6,1e-1)")
    tu.add_argument("--refine", type=int, default=0, metavar="ROUNDS",
                    help="extra coarse-to-fine rounds around the best trials (default 0)")
    tu.add_argument("--seed", type=int, default=0,
                    help="seed of the sampling, the initial weights and the shuffles")
    tu.add_argument("--data", default="digits",
                    help="'digits' (bundled, default) or a CIFAR-10 directory")
    tu.add_argument("--out", default=None, help="output directory (default runs/tune-<timestamp>)")
    tu.set_defaults(run=run_tune)


def _parse_range(text, flag):
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"{flag} must be two numbers LO,HI, got {text!r}") from None
    if not (0 < low < high and math.isfinite(high)):
        raise UsageError(f"{flag} needs 0 < LO < HI (searched in log space), got {text!r}")
    return low, high


def _validate(args):
    from fdl.commands._train import OPTIMIZERS

    if args.model not in MODELS:
        raise UsageError(f"unknown model {args.model!r} for tune; choose from {', '.join(MODELS)}")
    if args.optimizer not in OPTIMIZERS:
        raise UsageError(
            f"unknown optimizer {args.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    for flag, value in (("--trials", args.trials), ("--epochs", args.epochs),
                        ("--batch-size", args.batch_size)):
        if value < 1:
            raise UsageError(f"{flag} must be >= 1, got {value}")
    if args.refine < 0:
        raise UsageError(f"--refine must be >= 0, got {args.refine}")
    return _parse_range(args.lr_range, "--lr-range"), _parse_range(args.reg_range, "--reg-range")


class TrialRunner:
    """Trains one model from fixed initial weights for any ``(lr, reg)``, compiled once.

    Each epoch is ``fdl.train.fit``'s own compiled epoch (one ``lax.scan`` over the
    shuffled minibatches, the same step, keys and weights penalised), with the update
    rule built inside the trace from the traced ``lr`` and the traced ``reg``; a trial
    stops by ``fit``'s divergence rule (``fdl.train._divergence``).
    """

    def __init__(self, model, loss, optimizer_name, train, val, batch_size, key):
        import jax
        import jax.numpy as jnp

        from fdl import optim
        from fdl.train import _loop

        self.x, self.y = jnp.asarray(train[0]), jnp.asarray(train[1])
        self.x_val, self.y_val = jnp.asarray(val[0]), jnp.asarray(val[1])
        n = self.x.shape[0]
        if batch_size > n:
            raise UsageError(f"--batch-size {batch_size} exceeds the {n} training examples")
        self.model, self.loss = model, loss
        self.make_optimizer = getattr(optim, optimizer_name)
        init_key, self.train_key = jax.random.split(key)
        self.params, self.state = model.init(init_key, tuple(self.x.shape[1:]))
        self.init_opt = jax.jit(lambda params, lr: self.make_optimizer(lr).init(params))
        self.epoch = _loop._compiled_epoch(model, loss, self.make_optimizer, batch_size, n,
                                           "scan", None)

    def run(self, lr, reg, epochs):
        """``(val_accuracy or None if diverged, per-step losses, epochs run)``."""
        from fdl.train import _divergence, _loop, _steps
        from fdl.train._history import History
        from fdl.train._state import TrainState

        run = TrainState(self.params, self.state, self.init_opt(self.params, lr), epoch=0,
                         step=0, key=self.train_key, history=History())
        hyper = _steps.hyperparameters(reg, lr=lr)
        losses = []
        for e in range(epochs):
            # fit's own epoch: it donates copies, so self.params stays the trials' start.
            run, epoch_losses, _, _ = _loop._train_epoch(run, self.epoch, hyper, self.x, self.y,
                                                         self.train_key)
            losses.extend(epoch_losses.tolist())
            # fit's rule: the loss's moving mean past 3x the initial loss, or NaN/inf.
            if _divergence.explosion(epoch_losses, losses[0]) is not None:
                return None, losses, e + 1
        accuracy = _loop._evaluate(self.model, run.params, run.state, self.x_val, self.y_val,
                                   1000, None, None, "fdl tune")["accuracy"]
        return accuracy, losses, epochs


def format_table(records):
    """The trials, best validation accuracy first (diverged runs last)."""
    header = f"{'rank':>4}  {'lr':>9}  {'reg':>9}  {'val acc':>8}  {'time':>6}  round"
    lines = [header, "-" * len(header)]
    for rank, r in enumerate(records, 1):
        acc = "diverged" if r["diverged"] else f"{r['val_accuracy']:.4f}"
        lines.append(f"{rank:>4}  {r['lr']:>9.3e}  {r['reg']:>9.3e}  {acc:>8}  "
                     f"{r['seconds']:>5.1f}s  {r['round']}")
    return "\n".join(lines)


def trials_figure(records):
    """The scatter of the trials in log lr x log reg, coloured by validation accuracy,
    the best trial ringed and labelled, diverged trials as red crosses."""
    import numpy as np

    from fdl.viz._files import pyplot

    fig, ax = pyplot().subplots(figsize=(6, 4.5))
    good = [r for r in records if not r["diverged"]]
    bad = [r for r in records if r["diverged"]]
    if good:
        points = ax.scatter(np.log10([r["lr"] for r in good]), np.log10([r["reg"] for r in good]),
                            c=[r["val_accuracy"] for r in good], cmap="viridis", s=40)
        fig.colorbar(points, ax=ax, label="validation accuracy")
        # The first of the most accurate: the trial best.json reports.
        best = max(good, key=lambda r: (r["val_accuracy"], -r["trial"]))
        ax.scatter([np.log10(best["lr"])], [np.log10(best["reg"])], s=220, marker="*",
                   facecolors="none", edgecolors="black", linewidths=1.2,
                   label=f"best: trial {best['trial']}, val acc {best['val_accuracy']:.4f}")
    if bad:
        ax.scatter(np.log10([r["lr"] for r in bad]), np.log10([r["reg"] for r in bad]),
                   marker="x", color="tab:red", label="diverged")
    if records:
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel("log10 learning rate")
    ax.set_ylabel("log10 L2 strength")
    ax.set_title("Random search")
    ax.grid(alpha=0.3)
    return fig


def plot_trials(records, path):
    """Writes ``trials_figure(records)`` as a PNG at ``path`` (atomically)."""
    from fdl.viz._files import save_figure

    return save_figure(trials_figure(records), path)


def train_command(args, best):
    """The ``fdl train`` command that repeats the best trial's configuration."""
    parts = ["fdl train", f"--model {args.model}", f"--optimizer {args.optimizer}",
             f"--lr {best['lr']:.4g}", f"--reg {best['reg']:.4g}",
             f"--epochs {args.epochs}", f"--batch-size {args.batch_size}",
             f"--seed {args.seed}"]
    if args.data != "digits":
        parts.append(f"--data {shlex.quote(args.data)}")
    return " ".join(parts)


def _write_json(path, payload):
    with atomic_open(path, "w") as f:
        json.dump(payload, f, indent=2)


def run_tune(args):
    import jax

    from fdl import tune
    from fdl.commands._train import TrainConfig, _build_model, _load_data

    (lr_low, lr_high), (reg_low, reg_high) = _validate(args)
    config = TrainConfig(model=args.model, optimizer=args.optimizer, data=args.data,
                         seed=args.seed, epochs=args.epochs, batch_size=args.batch_size)
    splits = _load_data(config.data)
    model, loss, _ = _build_model(config, splits)
    key = jax.random.key(args.seed)
    runner_key, search_key = jax.random.split(key)
    runner = TrialRunner(model, loss, args.optimizer, splits.train, splits.val,
                         args.batch_size, runner_key)
    out = args.out or os.path.join("runs", "tune-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    rounds = 1 + args.refine
    total = rounds * args.trials
    print(f"fdl tune: {args.model} on {args.data} with {args.optimizer}, {total} trials "
          f"({rounds} round{'s' if rounds > 1 else ''}) of {args.epochs} epochs; lr in "
          f"[{lr_low:g}, {lr_high:g}], reg in [{reg_low:g}, {reg_high:g}] (log-uniform)")

    records = []

    def objective(cfg):
        index = len(records)
        start = time.perf_counter()
        accuracy, losses, epochs_run = runner.run(cfg["lr"], cfg["reg"], args.epochs)
        seconds = time.perf_counter() - start
        record = {
            "trial": index + 1, "round": index // args.trials + 1,
            "lr": cfg["lr"], "reg": cfg["reg"], "val_accuracy": accuracy,
            "diverged": accuracy is None, "epochs_run": epochs_run,
            "initial_loss": losses[0], "final_loss": losses[-1], "seconds": seconds,
        }
        records.append(record)
        status = (f"stopped: diverged in epoch {epochs_run}" if accuracy is None
                  else f"val acc {accuracy:.4f}")
        print(f"trial {index + 1:>3}/{total}  lr {cfg['lr']:.3e}  reg {cfg['reg']:.3e}  "
              f"{status}  ({seconds:.2f} s)", flush=True)
        return math.inf if accuracy is None else -accuracy

    space = {"lr": tune.loguniform(lr_low, lr_high), "reg": tune.loguniform(reg_low, reg_high)}
    at_edge = ()
    if args.refine:
        result = tune.coarse_to_fine(objective, space, key=search_key, rounds=rounds,
                                     trials_per_round=args.trials)
        at_edge = result.at_edge
    else:
        tune.random_search(space, args.trials, search_key, objective=objective)

    # Best validation accuracy first; diverged runs last; ties keep the trial order.
    ranked = sorted(records, key=lambda r: (r["diverged"], -(r["val_accuracy"] or 0.0)))
    print()
    print(format_table(ranked))
    # The results first: a missing plotting library must not cost the computed numbers.
    _write_json(os.path.join(out, "trials.json"), ranked)
    written = ["trials.json"]
    best = ranked[0]
    if not best["diverged"]:
        summary = {
            "model": args.model, "optimizer": args.optimizer, "lr": best["lr"],
            "reg": best["reg"], "val_accuracy": best["val_accuracy"], "epochs": args.epochs,
            "batch_size": args.batch_size, "data": args.data, "seed": args.seed,
            "trial": best["trial"], "at_edge": list(at_edge),
            "train_command": train_command(args, best),
        }
        _write_json(os.path.join(out, "best.json"), summary)
        written.append("best.json")
    try:
        plot_trials(records, os.path.join(out, "trials.png"))
        written.append("trials.png")
    except ImportError as err:
        print(f"fdl tune: plots skipped ({err})")
    if best["diverged"]:
        raise UsageError(f"every trial diverged (see {out}/trials.json); lower --lr-range")
    for name in at_edge:
        print(f"note: the best {name} lies at an edge of its range; consider widening it")
    print(f"wrote {out}/{', '.join(written)}")
    print(f"best: lr {best['lr']:.3e}, reg {best['reg']:.3e}, "
          f"val accuracy {best['val_accuracy']:.4f}")
    return 0
