"""``fdl.train``: the training loop, evaluation, prediction and checkpoints.

::

    params, state, history = fdl.train.fit(
        model, (x_train, y_train), loss=fdl.losses.softmax_cross_entropy,
        optimizer=fdl.optim.momentum(1e-2), epochs=10, batch_size=128,
        key=jax.random.key(0), val_data=(x_val, y_val), checkpoint="run.ckpt.npz",
    )
    fdl.train.evaluate(model, params, state, (x_test, y_test))   # {"accuracy", "loss"}
    labels = fdl.train.predict(model, params, state, x_test)
    scores = fdl.train.predict_scores(model, params, state, x_test)   # (N, C)

``fit`` runs each epoch as one compiled ``lax.scan`` for dense models and as a Python
loop of jitted, buffer-donating steps for convolutional ones (``loop="auto"``). It
records a ``History`` (loss per step; accuracy, learning rate, update/weight ratios and
throughput per epoch), can checkpoint after every epoch and resume exactly, and stops
with ``TrainingDiverged`` when the loss explodes. ``augment`` applies a data
augmentation (``fdl.data.augmentation``) to every training minibatch. ``devices``
trains data-parallel over several devices, or hosts after ``jax.distributed.initialize``
(``jax.sharding``); ``compute_dtype=jnp.bfloat16`` computes in bfloat16 while the
parameters stay float32.

Before a long run, ``sanity_check`` does the notes' babysitting checks: the initial loss
is ``ln C`` (softmax) or ``C - 1`` (SVM), regularisation raises it, and the model can
overfit 20 examples (``expected_initial_loss``, ``check_initial_loss``,
``check_regularization_raises_loss``, ``check_overfit_small_subset``).

After training, ``confusion_matrix(y_true, y_pred, C)`` (rows true, columns predicted) and
``per_class_report`` (class accuracy = recall, precision, F1, support; the best and
worst class, ``format_class_report``) show which classes the accuracy hides.
"""

from fdl.train._checkpoint import CheckpointError as CheckpointError
from fdl.train._checkpoint import load_checkpoint as load_checkpoint
from fdl.train._checkpoint import load_train_state as load_train_state
from fdl.train._checkpoint import save_checkpoint as save_checkpoint
from fdl.train._checkpoint import save_train_state as save_train_state
from fdl.train._history import History as History
from fdl.train._loop import TRAIN_EVAL_LIMIT as TRAIN_EVAL_LIMIT
from fdl.train._loop import TrainingDiverged as TrainingDiverged
from fdl.train._loop import choose_loop as choose_loop
from fdl.train._loop import evaluate as evaluate
from fdl.train._loop import fit as fit
from fdl.train._loop import predict as predict
from fdl.train._loop import predict_scores as predict_scores
from fdl.train._metrics import ClassReport as ClassReport
from fdl.train._metrics import confusion_matrix as confusion_matrix
from fdl.train._metrics import format_class_report as format_class_report
from fdl.train._metrics import per_class_report as per_class_report
from fdl.train._sanity import SanityResult as SanityResult
from fdl.train._sanity import check_initial_loss as check_initial_loss
from fdl.train._sanity import check_overfit_small_subset as check_overfit_small_subset
from fdl.train._sanity import check_regularization_raises_loss as check_regularization_raises_loss
from fdl.train._sanity import expected_initial_loss as expected_initial_loss
from fdl.train._sanity import format_sanity_table as format_sanity_table
from fdl.train._sanity import sanity_check as sanity_check
from fdl.train._state import TrainState as TrainState
