"""``fdl.train``: the training loop, evaluation, prediction and checkpoints.

::

    params, state, history = fdl.train.fit(
        model, (x_train, y_train), loss=fdl.losses.softmax_cross_entropy,
        optimizer=fdl.optim.momentum(1e-2), epochs=10, batch_size=128,
        key=jax.random.key(0), val_data=(x_val, y_val), checkpoint="run.ckpt.npz",
    )
    fdl.train.evaluate(model, params, state, (x_test, y_test))   # {"accuracy", "loss"}
    labels = fdl.train.predict(model, params, state, x_test)

``fit`` runs each epoch as one compiled ``lax.scan`` for dense models and as a Python
loop of jitted, buffer-donating steps for convolutional ones (``loop="auto"``). It
records a ``History`` (loss per step; accuracy, learning rate, update/weight ratios and
throughput per epoch), can checkpoint after every epoch and resume exactly, and stops
with ``TrainingDiverged`` when the loss explodes.
"""

from fdl.train._checkpoint import CheckpointError as CheckpointError
from fdl.train._checkpoint import load_checkpoint as load_checkpoint
from fdl.train._checkpoint import save_checkpoint as save_checkpoint
from fdl.train._history import History as History
from fdl.train._loop import TRAIN_EVAL_LIMIT as TRAIN_EVAL_LIMIT
from fdl.train._loop import TrainingDiverged as TrainingDiverged
from fdl.train._loop import choose_loop as choose_loop
from fdl.train._loop import evaluate as evaluate
from fdl.train._loop import fit as fit
from fdl.train._loop import predict as predict
