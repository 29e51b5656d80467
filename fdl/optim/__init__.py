"""``fdl.optim``: hand-written update rules, learning-rate schedules, clipping, and the
full-batch solvers L-BFGS, BFGS and Newton.

Every first-order optimizer is an ``Optimizer(init, update)`` pair of pure functions::

    opt = fdl.optim.adam(1e-3)
    state = opt.init(params)
    params, state = opt.update(params, grads, state)   # jit-able, never retraces

over any pytree of float arrays (``grads`` must match ``params`` leaf for leaf). The state
is a NamedTuple named with the rule's symbols, and every state has ``step`` (int32, the
number of updates done) and ``lr`` (float32, the learning rate of the latest update; at
init, the rate at step 0), read with ``current_lr(state)`` for logging. Each rule is
computed in the parameter's dtype and returns parameters of that dtype.

Conventions (``x`` a parameter array, ``dx`` its gradient, ``lr`` the learning rate of
this update; all operations elementwise):

- **lr and schedules.** ``lr`` is a float > 0 or a schedule ``step -> lr``, called with
  ``step`` = the number of updates already done (0 for the first update): ``constant``,
  ``step_decay``, ``exponential_decay`` (``a0*exp(-k t)``), ``inverse_time_decay``
  (``a0/(1 + k t)``), ``cosine_decay``, ``warmup`` and ``join_schedules``, or any
  jnp-traceable function of the int32 step.
- **sgd**: ``x -= lr * dx``.
- **momentum**, as in the notes: ``v = mu*v - lr*dx; x += v``. The velocity carries the
  learning rate. The other common form, in which the velocity accumulates raw gradients,
  ``u = mu*u + dx; x -= lr*u``, gives the identical sequence of ``x`` for a constant
  ``lr`` (substitute ``v = -lr*u``); under a schedule they differ slightly, since here a
  new ``lr`` scales only new gradients.
- **nesterov**: defined with a look-ahead gradient, ``v_new = mu*v - lr*grad(x + mu*v);
  x += v_new``. The gradient a training loop has is at the parameters it holds, so, as in
  the notes, the parameters kept are the look-ahead point ``phi = x + mu*v``. In that
  variable the update needs only the gradient at the parameters, ``dx = grad(phi)``:
  ``v_prev = v; v = mu*v - lr*dx; phi += -mu*v_prev + (1+mu)*v``, which is the code.
  Since ``v = 0`` at the start, both variables start at the same point.
- **adagrad**: ``cache += dx**2; x -= lr*dx/(sqrt(cache) + eps)``.
- **rmsprop**: ``cache = decay_rate*cache + (1-decay_rate)*dx**2;
  x -= lr*dx/(sqrt(cache) + eps)``. For both, ``eps`` is added *outside* the square root,
  as in the notes (PyTorch does the same; optax's ``rmsprop`` adds it inside).
- **adam**, with bias correction and ``t`` counted from 1 (``t = step + 1``):
  ``m = beta1*m + (1-beta1)*dx; v = beta2*v + (1-beta2)*dx**2; mhat = m/(1-beta1**t);
  vhat = v/(1-beta2**t); x -= lr*mhat/(sqrt(vhat) + eps)``.
- **adamw**: Adam plus decoupled weight decay ``x -= lr*weight_decay*x``, with the same
  (scheduled) ``lr``, applied to the parameters from *before* the update, alongside the
  Adam step: ``x -= lr*(mhat/(sqrt(vhat) + eps) + weight_decay*x)`` (Loshchilov &
  Hutter; equal to decaying first, since the Adam step does not depend on ``x``).
  ``mask`` (a tree of bools or a callable, e.g. ``decay_mask_skip_biases``) selects the
  leaves that are decayed.

Gradient clipping is a wrapper, ``chain_clip(optimizer, max_norm)`` (clip the gradients
by global norm, then update), as is the max-norm constraint, ``with_max_norm(optimizer,
c)`` (update, then project every weight column / conv filter onto ``||w|| <= c``).
Both keep the wrapped optimizer's state.

The full-batch solvers are not ``Optimizer``s: each runs the whole minimisation of a
deterministic ``f(params)`` as one compiled ``lax.while_loop`` and returns ``(params,
info)``, ``info`` an ``LbfgsInfo``; all three share one strong-Wolfe line search.

- **newton**: ``x -= a * (H + tau*I)^-1 g`` with the exact Hessian ``H`` (``jax.hessian``)
  and a Cholesky solve; ``tau = 0`` where ``H`` is positive definite, raised until it is
  otherwise; ``a`` from the line search (1 when the full Newton step decreases ``f``).
- **bfgs**: ``x -= a * H g`` with ``H`` a dense approximation of the inverse Hessian,
  updated from ``s = x_new - x``, ``y = g_new - g`` by the rank-2 BFGS formula.
- **lbfgs**: BFGS keeping only the last ``history`` pairs ``(s, y)`` (two-loop recursion).

``newton`` and ``bfgs`` hold an ``N x N`` matrix (``N`` parameters) and refuse ``N >
max_params`` (default 10,000) with a ``ValueError`` giving its size: the reason
second-order methods are not used for deep nets, where ``lbfgs``'s ``O(m N)`` is.

Bad hyperparameters raise ``ValueError`` (out of range) or ``TypeError`` (wrong type) when
the optimizer is built, naming the argument; an ``update`` whose ``grads`` tree does not
match ``params`` raises ``ValueError`` naming both tree structures.
"""

from fdl.optim._adaptive import AdagradState as AdagradState
from fdl.optim._adaptive import AdamState as AdamState
from fdl.optim._adaptive import RmspropState as RmspropState
from fdl.optim._adaptive import adagrad as adagrad
from fdl.optim._adaptive import adam as adam
from fdl.optim._adaptive import adamw as adamw
from fdl.optim._adaptive import rmsprop as rmsprop
from fdl.optim._base import Optimizer as Optimizer
from fdl.optim._base import current_lr as current_lr
from fdl.optim._clipping import chain_clip as chain_clip
from fdl.optim._clipping import clip_by_global_norm as clip_by_global_norm
from fdl.optim._clipping import global_norm as global_norm
from fdl.optim._clipping import max_norm_project as max_norm_project
from fdl.optim._clipping import with_max_norm as with_max_norm
from fdl.optim._lbfgs import LbfgsInfo as LbfgsInfo
from fdl.optim._lbfgs import lbfgs as lbfgs
from fdl.optim._momentum import MomentumState as MomentumState
from fdl.optim._momentum import SgdState as SgdState
from fdl.optim._momentum import momentum as momentum
from fdl.optim._momentum import nesterov as nesterov
from fdl.optim._momentum import sgd as sgd
from fdl.optim._schedules import constant as constant
from fdl.optim._schedules import cosine_decay as cosine_decay
from fdl.optim._schedules import exponential_decay as exponential_decay
from fdl.optim._schedules import inverse_time_decay as inverse_time_decay
from fdl.optim._schedules import join_schedules as join_schedules
from fdl.optim._schedules import step_decay as step_decay
from fdl.optim._schedules import warmup as warmup
from fdl.optim._second_order import bfgs as bfgs
from fdl.optim._second_order import newton as newton
from fdl.optim._weight_decay import decay_mask_skip_biases as decay_mask_skip_biases
