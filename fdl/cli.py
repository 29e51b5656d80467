"""The ``fdl`` command (also ``python -m fdl``). Parses arguments; no numerics here."""

import argparse
import sys


from fdl.commands._train import MODELS, OPTIMIZERS, SCHEDULES, UsageError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line (status 2), not usage + error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _cmd_train(args):
    from fdl.commands import TrainConfig, run_train

    config = TrainConfig(
        model=args.model, optimizer=args.optimizer, lr=args.lr, schedule=args.schedule,
        epochs=args.epochs, batch_size=args.batch_size, reg=args.reg, dropout=args.dropout,
        batchnorm=args.batchnorm, seed=args.seed, data=args.data, out=args.out,
        resume=args.resume, grads=args.grads,
    )
    run_train(config)
    return 0


def _cmd_gradcheck(args):
    import jax

    from fdl import gradcheck

    with jax.enable_x64(True):  # gradient checks need float64; scoped, not global
        reports = gradcheck.run_suite(gradcheck.CASES, seed=args.seed, pattern=args.only)
    if not reports:
        raise UsageError(f"no op matches --only {args.only!r}")
    print(gradcheck.format_table(reports))
    failed = [r.name for r in reports if not r.ok]
    analytic = max((r.worst_analytic for r in reports if r.worst_analytic is not None), default=0.0)
    numerical = max(r.worst_numerical for r in reports)
    print()
    print(f"{len(reports)} checks in float64; worst manual vs jax.grad {analytic:.2e} "
          f"(tolerance {gradcheck.ANALYTIC_TOL:.0e}); worst vs finite differences "
          f"{numerical:.2e} (tolerance {gradcheck.NUMERICAL_TOL:.0e})")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    print("all gradients agree")
    return 0


def build_parser():
    parser = _Parser(prog="fdl", description="fdl: a functional deep-learning toolkit on JAX.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    tr = sub.add_parser(
        "train", help="train a model (default: a small convnet on the bundled digits)",
        description="Train a model and write metrics.json, a checkpoint and PNG plots to --out.",
    )
    tr.add_argument("--model", default="convnet", metavar="|".join(MODELS),
                    help="model to train (default convnet)")
    tr.add_argument("--optimizer", default="adam", metavar="|".join(OPTIMIZERS),
                    help="update rule (default adam)")
    tr.add_argument("--lr", type=float, default=2e-3, help="learning rate (default 2e-3)")
    tr.add_argument("--schedule", default="constant", metavar="|".join(SCHEDULES),
                    help="learning-rate schedule over the run (default constant)")
    tr.add_argument("--epochs", type=int, default=15, help="epochs (default 15)")
    tr.add_argument("--batch-size", type=int, default=32, help="minibatch size (default 32)")
    tr.add_argument("--reg", type=float, default=0.0, help="L2 regularisation strength on weights")
    tr.add_argument("--dropout", type=float, default=0.0, help="dropout rate for mlp/convnet")
    tr.add_argument("--batchnorm", action="store_true", help="batch norm in mlp/convnet")
    tr.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    tr.add_argument("--data", default="digits", help="'digits' (bundled) or a CIFAR-10 directory")
    tr.add_argument("--out", default=None, help="output directory (default runs/<timestamp>)")
    tr.add_argument("--resume", default=None, metavar="CHECKPOINT", help="continue from a checkpoint")
    tr.add_argument("--grads", default="auto", choices=("auto", "manual"),
                    help="jax.grad (auto) or the hand-written backward passes (manual)")
    tr.set_defaults(run=_cmd_train)
    gc = sub.add_parser(
        "gradcheck",
        help="check every op's hand-written gradient against jax.grad and finite differences",
        description="Compare hand-written, jax.grad and numerical gradients of every op and "
        "loss in float64; exit 1 if any error exceeds its tolerance.",
    )
    gc.add_argument("--seed", type=int, default=0, help="seed for the random inputs (default 0)")
    gc.add_argument("--only", metavar="NAME", help="check only ops whose name contains NAME")
    gc.set_defaults(run=_cmd_gradcheck)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except UsageError as err:
        print(f"fdl {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
