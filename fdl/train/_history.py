"""The record of a training run: ``History``, a dict of lists that serialises to JSON."""

import math

# Per step: "loss". Per epoch: every other key.
KEYS = (
    "loss",             # the objective (data loss + reg penalty) of every step
    "epoch_loss",       # the mean of an epoch's step losses
    "train_accuracy",   # eval mode, on at most ``TRAIN_EVAL_LIMIT`` training examples
    "val_accuracy",     # eval mode, on the whole validation set (empty without val_data)
    "val_loss",         # the data loss on the validation set (empty without val_data)
    "lr",               # ``fdl.optim.current_lr`` after the epoch's last update
    "update_ratio",     # {layer: ||dw|| / ||w||} of the epoch's last update
    "epoch_time",       # seconds spent in the epoch's training steps (compilation included)
    "examples_per_sec", # trained examples / epoch_time
)


class History(dict):
    """A dict of lists, one entry per step (``"loss"``) or per epoch (every other key).

    ``history["loss"]`` holds Python floats; ``history["update_ratio"]`` one dict per
    epoch, ``{"<layer index>:<layer name>": ||dw|| / ||w||}`` for every layer with a weight
    ``"w"`` (the notes' rule of thumb: about ``1e-3``). Being a plain ``dict`` subclass,
    it is JSON-serialisable as it is; ``to_dict()`` returns a detached copy.
    """

    def __init__(self, data=None):
        super().__init__({key: [] for key in KEYS})
        if data:
            for key, values in dict(data).items():
                self[key] = list(values)

    @property
    def epochs(self):
        """The number of completed epochs."""
        return len(self["epoch_time"])

    def to_dict(self):
        """A plain ``{key: list}`` copy, ready for ``json.dump``."""
        return {
            key: [dict(v) if isinstance(v, dict) else v for v in values]
            for key, values in self.items()
        }

    @classmethod
    def from_dict(cls, data):
        return cls(data)

    def __repr__(self):
        last = {k: v[-1] for k, v in self.items() if v and k not in ("loss", "update_ratio")}
        shown = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) and math.isfinite(v) else f"{k}={v}"
            for k, v in last.items()
        )
        return f"History(epochs={self.epochs}, steps={len(self['loss'])}, last: {shown})"
