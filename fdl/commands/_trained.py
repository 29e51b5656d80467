"""A model trained by ``fdl train``, rebuilt from its checkpoint and judged on a split.

``fdl train`` records in every checkpoint's ``meta["rebuild"]`` what it takes to use the
model later without repeating a flag: the ``fdl.models`` builder's name and arguments,
the loss, the input shape and value range, the class names, the compute dtype and the
data it was trained on. ``load_trained`` reads that back, rebuilds the model from a
fixed list of builders (a file never names code to run or import) and restores the
parameters into the rebuilt model's structure. ``fdl evaluate`` and ``fdl predict`` use
it, and ``fdl train`` computes its test metrics with the same ``split_report``, so that
evaluating a checkpoint repeats ``fdl train``'s test accuracy exactly.
"""

import json
import os
from typing import Any, NamedTuple

from fdl.commands._errors import UsageError

# The builders and losses a checkpoint may name (``fdl.models`` / ``fdl.losses``
# attributes). Anything else in a file is refused, not looked up.
BUILDERS = ("linear", "mlp", "convnet", "lenet5", "resnet_cifar", "resnet9", "vgg")
LOSSES = ("softmax_cross_entropy", "svm")


def rebuild_spec(builder, args, kwargs, *, loss, input_shape, class_names, input_range,
                 compute_dtype, data):
    """The JSON-able record ``fdl train`` stores in its checkpoints' ``meta["rebuild"]``
    (``build`` checks it: fdl train builds its model from the record)."""
    # Through JSON and back: fdl train builds its model from exactly what it records.
    return json.loads(json.dumps({
        "builder": builder,
        "args": list(args),
        "kwargs": dict(kwargs),
        "loss": loss,
        "input_shape": [int(d) for d in input_shape],
        "class_names": [str(c) for c in class_names],
        "input_range": [float(input_range[0]), float(input_range[1])],
        "compute_dtype": None if compute_dtype is None else str(compute_dtype),
        "data": data,
    }))


def _tuples(value):
    """JSON's lists back as the tuples the builders take (``blocks=((16,), (32,))``)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def build(spec):
    """``(model, loss)`` from a ``rebuild_spec`` record; ``ValueError`` if it is not one."""
    from fdl import losses, models

    if not isinstance(spec, dict):
        raise ValueError("the record of how to rebuild the model is missing")
    builder, loss = spec.get("builder"), spec.get("loss")
    if builder not in BUILDERS:
        raise ValueError(f"it names the builder {builder!r}, which is not one of fdl train's "
                         f"({', '.join(BUILDERS)})")
    if loss not in LOSSES:
        raise ValueError(f"it names the loss {loss!r}, not one of {', '.join(LOSSES)}")
    args, kwargs = spec.get("args", []), spec.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError("its builder arguments are malformed")
    try:
        model = getattr(models, builder)(*_tuples(args),
                                         **{k: _tuples(v) for k, v in kwargs.items()})
    except (TypeError, ValueError) as err:
        raise ValueError(f"fdl.models.{builder} refuses its recorded arguments ({err})") from None
    return model, getattr(losses, loss)


class Trained(NamedTuple):
    """A checkpoint of ``fdl train``, ready to evaluate or predict with.

    ``spec`` is the checkpoint's ``meta["rebuild"]``; ``config`` the ``fdl train``
    configuration (a dict), ``epoch`` the epochs it completed.
    """

    model: Any
    loss: Any
    params: Any
    state: Any
    spec: dict
    config: dict
    epoch: int

    @property
    def class_names(self):
        return tuple(self.spec["class_names"])

    @property
    def input_shape(self):
        return tuple(self.spec["input_shape"])

    @property
    def compute_dtype(self):
        return self.spec.get("compute_dtype")


def load_trained(path):
    """Rebuilds the model a ``fdl train`` checkpoint holds and restores its parameters.

    Raises:
      UsageError: no such file; a corrupt, truncated or foreign file; one written without
        the rebuild record (by ``fdl.train.fit`` alone, or an older fdl); parameters that
        do not fit the recorded model.
    """
    import jax

    from fdl import train
    from fdl.train import _checkpoint

    if not os.path.isfile(path):
        raise UsageError(f"no checkpoint file at {path}")
    where = f"checkpoint {path}"
    try:
        meta = _checkpoint.read_meta(path)
    except train.CheckpointError as err:
        raise UsageError(str(err)) from None
    spec = meta.get("rebuild")
    if spec is None:
        raise UsageError(f"{where} does not record how to rebuild its model (it was not "
                         "written by fdl train, or by an older fdl); retrain with fdl train")
    try:
        model, loss = build(spec)
        shape = tuple(int(d) for d in spec["input_shape"])
        if len(spec["class_names"]) < 2:
            raise ValueError("it records fewer than 2 classes")
    except (KeyError, TypeError, ValueError) as err:
        raise UsageError(f"{where}: its rebuild record is unusable: {err}") from None
    params, state = jax.eval_shape(lambda: model.init(jax.random.key(0), shape))
    try:
        saved = train.load_checkpoint(path, like={"params": params, "state": state})
    except train.CheckpointError as err:
        raise UsageError(str(err)) from None
    return Trained(model, loss, saved["params"], saved["state"], spec,
                   meta.get("config") or {}, int(saved["epoch"]))


def split_report(model, params, state, loss, dataset, class_names, compute_dtype):
    """Accuracy, mean loss, confusion matrix and per-class report of one split.

    Returns ``(metrics, report)``: ``metrics`` is the JSON-able dict both ``fdl train``
    and ``fdl evaluate`` write (``accuracy``, ``loss``, ``confusion_matrix``,
    ``per_class``); ``report`` the ``fdl.train.ClassReport``.
    """
    from fdl import train

    result = train.evaluate(model, params, state, (dataset.x, dataset.y), loss=loss,
                            compute_dtype=compute_dtype)
    # Per class, as the notes judge classifiers: the accuracy hides which classes fail.
    predicted = train.predict(model, params, state, dataset.x, compute_dtype=compute_dtype)
    report = train.per_class_report(dataset.y, predicted, len(class_names),
                                    class_names=class_names)
    metrics = {
        "accuracy": float(result["accuracy"]),
        "loss": None if result.get("loss") is None else float(result["loss"]),
        # Rows: true class, columns: predicted (scikit-learn's convention), in the order
        # of per_class["classes"].
        "confusion_matrix": report.confusion_matrix.tolist(),
        "per_class": report.to_dict(),
    }
    return metrics, report
