"""fit: learning, history, the two loops agree, loop choice, evaluate and predict."""

import io
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import data, losses, models, optim, train

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")

CE = losses.softmax_cross_entropy
# The MLP of every MLP fit here (its dropout variant included): one set of weight shapes,
# so its initial draws compile once. A width no other test file uses, so the fixture
# mlp_run's configuration is compiled (and announced) by its own fit.
MLP = models.mlp([64], 10)


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


@pytest.fixture(scope="module")
def few_digits(digits):
    """The first 96 training digits: the small fits below share one compiled permutation
    (its size is part of the program) and the evaluation programs of 96 rows."""
    return digits.train.x[:96], digits.train.y[:96]


def test_mlp_learns_digits(digits):
    model = MLP
    params, state, history = train.fit(
        model, digits.train, loss=CE, optimizer=optim.momentum(0.05), epochs=5,
        batch_size=32, key=jax.random.key(0), val_data=digits.val,
    )
    steps = len(digits.train.y) // 32
    assert len(history["loss"]) == 5 * steps
    for name in ("train_accuracy", "val_accuracy", "val_loss", "lr", "update_ratio",
                 "epoch_time", "examples_per_sec", "epoch_loss"):
        assert len(history[name]) == 5, name
    assert history["val_accuracy"][-1] > 0.9, history["val_accuracy"]
    assert np.mean(history["loss"][-steps:]) < 0.5 * np.mean(history["loss"][:steps])
    assert history["lr"] == pytest.approx([0.05] * 5)
    assert set(history["update_ratio"][0]) == {"1:Dense(64)", "3:Dense(10)"}
    assert all(0 < r < 1 for r in history["update_ratio"][-1].values())
    assert all(v > 0 for v in history["examples_per_sec"])
    # history is JSON-ready
    assert json.loads(json.dumps(history.to_dict()))["loss"] == history["loss"]
    result = train.evaluate(model, params, state, digits.val, loss=CE)
    assert result["accuracy"] == pytest.approx(history["val_accuracy"][-1])
    assert result["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-5)


def test_scan_and_steps_loops_agree(few_digits):
    """Dropout, the L2 penalty and augmentation included: the two loops run the same step
    on the same keys."""
    x, y = few_digits
    model = models.mlp([64], 10, dropout=0.2)  # MLP's weights: its initial draws
    kwargs = dict(loss=CE, optimizer=optim.momentum(0.05), epochs=2, batch_size=20,
                  key=jax.random.key(3), reg=1e-3,
                  augment=data.augmentation(crop_padding=1, flip=True), progress=False)
    p_scan, s_scan, h_scan = train.fit(model, (x, y), loop="scan", **kwargs)
    p_steps, s_steps, h_steps = train.fit(model, (x, y), loop="steps", **kwargs)
    # float32 (the dtype users train in; the runs share the file's initial draws and
    # permutation): the loops differ at most in how XLA fuses the same arithmetic
    # (bit for bit equal on XLA:CPU), a few float32 roundings; another key or a misplaced
    # step moves the weights and losses by 1e-3 and more.
    for a, b in zip(jax.tree.leaves(p_scan), jax.tree.leaves(p_steps)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(h_scan["loss"], h_steps["loss"], rtol=1e-5)
    assert len(h_scan["loss"]) == 2 * (96 // 20)  # the remainder is dropped
    # Each epoch's last update, measured inside the scan and around the last step.
    ratios = [[list(h["update_ratio"][e].values()) for e in range(2)] for h in (h_scan, h_steps)]
    np.testing.assert_allclose(ratios[0], ratios[1], rtol=1e-5)
    assert np.all(np.asarray(ratios[0]) > 0)


def test_loop_choice():
    assert train.choose_loop(models.mlp([8], 3)) == "scan"
    assert train.choose_loop(models.convnet(((4,),), hidden=(), num_classes=3)) == "steps"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


# One conv model, optimizer, augmentation and data for the three steps-loop tests below:
# one compiled step between them. An Adam eps no other test uses, so the first fit
# compiles (and says so): fit traces the learning rate, so a new lr alone would reuse
# another test's step.
CONV = models.convnet(((4,),), hidden=(), num_classes=10)
CONV_ADAM = optim.adam(0.0103, eps=1.03e-8)
CROP = data.augmentation(crop_padding=1)


@pytest.fixture(scope="module")
def conv_run(few_digits):
    """CONV trained by Adam on 96 digits with random crops (3 epochs of 12 steps, the loop
    chosen for it) with progress on a terminal, then a second, 1-epoch fit of the same
    model, optimizer and augmentation: ``(history, first fit's progress text, second
    fit's)``."""
    out, again = _Terminal(), _Terminal()
    kwargs = dict(loss=CE, optimizer=CONV_ADAM, batch_size=8, key=jax.random.key(1),
                  augment=CROP)
    _, _, history = train.fit(CONV, few_digits, epochs=3, progress=out, **kwargs)
    train.fit(CONV, few_digits, epochs=1, progress=again, **kwargs)
    return history, out.getvalue(), again.getvalue()


def test_tiny_convnet_trains_with_augmentation_on_the_steps_loop(conv_run):
    history, _, _ = conv_run
    assert train.choose_loop(CONV) == "steps"
    assert len(history["loss"]) == 3 * 12
    # The last epoch's mean loss is 0.84-0.90 of the first's over keys 0-5 (0.56-0.65
    # without the crops).
    assert np.mean(history["loss"][-12:]) < np.mean(history["loss"][:12])
    assert "0:Conv(4, 3x3, stride 1, pad 1)" in history["update_ratio"][-1]


# SGD for the small MLP fits below (MLP on 96 digits): one compiled epoch between them.
SGD = optim.sgd(0.1017)


@pytest.fixture(scope="module")
def mlp_run(few_digits):
    """MLP fitted by SGD on ``few_digits`` for 3 epochs, from parameters the caller
    initialised, with validation data and progress lines written to a (non-tty) stream:
    ``(given params, a copy of them taken before, the result's params, progress text)``."""
    params, state = MLP.init(jax.random.key(0), (8, 8, 1))
    before = jax.tree.map(np.asarray, params)
    out = io.StringIO()
    result, _, _ = train.fit(MLP, few_digits, loss=CE, optimizer=SGD, epochs=3,
                             batch_size=16, key=jax.random.key(0), val_data=few_digits,
                             params=params, state=state, progress=out)
    return params, before, result, out.getvalue()


def test_given_params_are_not_consumed(mlp_run):
    params, before, out, _ = mlp_run
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(before)):
        np.testing.assert_array_equal(a, b)  # still readable, unchanged
    assert not np.allclose(jax.tree.leaves(out)[0], jax.tree.leaves(before)[0])


def test_bad_arguments(few_digits):
    x, y = few_digits
    kw = dict(loss=CE, optimizer=SGD, epochs=1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="batch_size"):
        train.fit(MLP, (x, y), batch_size=1000, **kw)
    with pytest.raises(ValueError, match="loop"):
        train.fit(MLP, (x, y), batch_size=8, loop="fast", **kw)
    with pytest.raises(ValueError, match="data"):
        train.fit(MLP, (x, y[:-1]), batch_size=8, **kw)


def test_evaluate_and_predict_match_manual_argmax(few_digits, mlp_run):
    # mlp_run's model and rows: its two evaluation programs (with and without the loss,
    # all rows in one batch) serve the first and last evaluate calls here.
    x, y = few_digits
    model = MLP
    params, state = model.init(jax.random.key(0), (8, 8, 1))

    @jax.jit  # the reference as one program (eagerly, each of its ops compiles on its own)
    def reference(params, state, x, y):
        scores, _ = model.apply(params, state, x)
        return scores, CE(scores, y)

    scores, mean_loss = reference(params, state, jnp.asarray(x), jnp.asarray(y))
    expected = np.argmax(np.asarray(scores), axis=1)
    # All in one batch (1000 is clamped to the 96 rows), and batches of 10 whose last one
    # overlaps the one before.
    for bs in (1000, 96, 10):
        labels = train.predict(model, params, state, x, batch_size=bs)
        assert labels.shape == (96,)
        np.testing.assert_array_equal(labels, expected)
        result = train.evaluate(model, params, state, (x, y), batch_size=bs, loss=CE)
        assert result["accuracy"] == pytest.approx(np.mean(expected == y))
        assert result["loss"] == pytest.approx(float(mean_loss), rel=1e-5)
    assert train.evaluate(model, params, state, (x, y))["loss"] is None


def test_progress_lines_to_explicit_stream(mlp_run, few_digits):
    text = mlp_run[3]
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("compiling")  # said once, before the first epoch
    assert lines[1].startswith("epoch 1/3") and "val_acc" in lines[1] and "ex/s" in lines[1]
    assert "incl. compilation" in lines[1] and "incl." not in lines[2]
    assert "\r" not in text and "\x1b" not in text  # plain when not a tty
    # A freshly built, identical model and optimizer reuse that compilation (another
    # learning rate too: it is traced): no announcement.
    again = io.StringIO()
    train.fit(models.mlp([64], 10), few_digits, loss=CE, optimizer=optim.sgd(0.05), epochs=1,
              batch_size=16, key=jax.random.key(1), progress=again)
    assert not again.getvalue().startswith("compiling"), again.getvalue()


def test_progress_on_a_terminal_draws_steps_and_starts_lines_plainly(conv_run):
    _, text, again = conv_run
    assert text.startswith("compiling")  # no control characters before any status line
    assert "\rstep" not in text and "step 1/12" in text and "ETA" in text  # a step line
    for line in text.split("\n")[:-1]:
        # A permanent line clears the transient step line only when one was drawn.
        assert line.startswith(("compiling", "epoch", "\r")), line
    # A second fit of the same model, optimizer and augmentation reuses the compiled step:
    # no notice.
    assert "compiling" not in again


def test_progress_silent_when_stderr_is_not_a_tty(mlp_run, few_digits, capsys):
    train.fit(MLP, few_digits, loss=CE, optimizer=SGD, epochs=2, batch_size=16,
              key=jax.random.key(0))
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_conv_model_with_adam_on_the_steps_loop(conv_run):
    """Adam's state holds two zero trees; donating them must not alias one buffer."""
    history, _, _ = conv_run
    assert len(history["loss"]) == 3 * 12
    assert all(np.isfinite(v) for v in history["loss"])
