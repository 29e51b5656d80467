"""Inverted dropout as a layer (lecture: "Regularization: Dropout")."""

from fdl import _checks
from fdl._config import configured
from fdl.layers._core import Layer, check_input_shape, check_train, ops


@configured
def Dropout(rate, *, manual=False):
    """Inverted dropout: in training each unit is zeroed with probability ``rate`` and
    survivors are scaled by ``1 / (1 - rate)``; at evaluation it is the identity.

    ``rate`` is the probability of DROPPING a unit; the notes' ``p`` is the probability
    of KEEPING one, so ``rate = 1 - p`` (the notes' ``p = 0.5`` is ``Dropout(0.5)``).

    Args:
      rate: in ``[0, 1)``.
      manual: compute with ``fdl.manual.dropout`` (hand-written backward pass).
    ``apply(..., train=True)`` needs ``key`` (``ValueError`` otherwise); ``serial`` gives
    every dropout layer its own sub-key, so two layers draw different masks.
    """
    name = f"Dropout({rate})"
    try:
        _checks.real_scalar(rate, "rate", low=0.0, high=1.0, high_open=True)
    except (TypeError, ValueError) as err:
        raise type(err)(
            f"{name}: {err} (rate is the probability of dropping a unit; 1.0 would drop "
            "everything)"
        ) from None
    rate = float(rate)
    op = ops(manual)

    def output_shape(input_shape):
        return check_input_shape(input_shape, name)

    def init(key, input_shape, dtype=None):
        del key, dtype
        output_shape(input_shape)
        return {}, {}

    def apply(params, state, x, *, train=False, key=None):
        del params
        check_train(train, name)
        if not train or rate == 0.0:
            return x, state
        if key is None:
            raise ValueError(
                f"{name}: training (train=True) needs a PRNG key: pass "
                "key=jax.random.key(...) to apply"
            )
        return op.dropout(x, key, rate=rate, train=True), state

    return Layer(init, apply, output_shape, name, needs_key=rate > 0.0)
