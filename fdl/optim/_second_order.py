"""Full-batch Newton and dense BFGS: the second-order methods that hold an ``N x N`` matrix.

Newton's method minimises the local quadratic model
``J(t) ~ J(t0) + g^T (t - t0) + 1/2 (t - t0)^T H (t - t0)``, whose minimiser is

$$\\theta^* = \\theta_0 - H^{-1} \\nabla J(\\theta_0).$$

It has no learning rate and converges quadratically near a minimum, but the Hessian of a
net with ``N`` parameters has ``N^2`` entries and solving with it costs ``O(N^3)``: for a
small net of 10^6 parameters that is 10^12 entries (4 TB in float32) and ~10^18 flops per
step. That is the notes' answer to "why not for deep nets?". BFGS avoids computing
``H`` by building an approximation of ``H^{-1}`` from gradient differences with rank-2
updates (``O(N^2)`` per step), but still stores an ``N x N`` matrix; L-BFGS (``lbfgs``)
keeps only the last ``m`` update pairs, ``O(m N)``, and is the one to use beyond a few
thousand parameters.

Both solvers here refuse more than ``max_params`` parameters (default 10,000: a
10,000 x 10,000 float32 matrix is 400 MB) with a ``ValueError`` that says what the
matrix would cost. They share ``lbfgs``'s strong-Wolfe line search, stopping tests and
result type (``LbfgsInfo``), and are each one ``lax.while_loop``, compiled once per
objective function, in the dtype of the parameters (float32 or float64).
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg
from jax import lax

from fdl.optim import _base, _lbfgs

DEFAULT_MAX_PARAMS = 10_000
_MAX_SHIFTS = 64  # doublings of the Hessian shift: from beta to beta * 2^63, ample


def check_dense_size(params, max_params, method, matrix):
    """Raises ``ValueError`` when ``params`` has more than ``max_params`` entries.

    The message gives the size of the ``N x N`` matrix ``method`` would hold and the
    ``O(N^3)`` / ``O(N^2)`` cost per step, so the user learns why, not just that.
    """
    leaves = jax.tree.leaves(params)
    n = sum(int(jnp.size(leaf)) for leaf in leaves)
    if n <= max_params:
        return
    itemsize = jnp.result_type(*leaves).itemsize if leaves else 4
    entries = n * n
    cost = "a Cholesky solve costs O(N^3)" if method == "newton" else (
        "each rank-2 update costs O(N^2)"
    )
    raise ValueError(
        f"params has N = {n:,} entries, more than max_params = {max_params:,}: "
        f"{method} would hold the N x N {matrix}, {entries:,} entries "
        f"({entries * itemsize:,} bytes at {itemsize} bytes each), and {cost} per "
        f"step (~{float(n) ** 3:.1e} flops for N^3). Use lbfgs, which keeps O(m N), "
        f"or raise max_params if the memory is really there."
    )


def _check_common(f, params, max_iters, tol, ftol, max_params, max_linesearch, c1, c2):
    _lbfgs.check_objective(f, params)
    max_iters = _base.positive_int(max_iters, "max_iters")
    max_params = _base.positive_int(max_params, "max_params")
    max_linesearch = _base.positive_int(max_linesearch, "max_linesearch")
    tol = _base.nonnegative_float(tol, "tol")
    ftol = _base.nonnegative_float(ftol, "ftol")
    c1 = _base.real_in_range(c1, "c1", low=0.0, high=1.0, low_open=True, high_open=True)
    c2 = _base.real_in_range(c2, "c2", low=c1, high=1.0, low_open=True, high_open=True)
    return max_iters, tol, ftol, max_params, max_linesearch, c1, c2


class _State(NamedTuple):
    """The loop carry of both solvers. ``matrix`` is what the method carries from one
    iteration to the next: ``(H, updated)`` (the inverse-Hessian approximation, and
    whether it has been updated yet) for ``bfgs``, the last Hessian shift ``tau`` for
    ``newton``."""

    iteration: jax.Array
    x: jax.Array
    f: jax.Array
    g: jax.Array
    matrix: jax.Array
    evals: jax.Array
    status: jax.Array


def _run(value_and_grad, x0, matrix0, direction, first_step, update, max_iters, tol,
         ftol, max_linesearch, c1, c2):
    """The loop both solvers share: a direction, a line search along it, an update.

    ``direction(state) -> (d, matrix)``; ``first_step(state)`` the first trial step;
    ``update(matrix, state, s, y, ok)`` the matrix carried to the next iteration.
    """
    f0, g0 = value_and_grad(x0)
    init = _State(
        iteration=jnp.zeros((), jnp.int32),
        x=x0,
        f=f0,
        g=g0,
        matrix=matrix0,
        evals=jnp.ones((), jnp.int32),
        status=_lbfgs.initial_status(g0, tol),
    )

    def iterate(state):
        d, matrix = direction(state)
        # Should rounding make d point uphill, fall back to steepest descent rather than
        # search in the wrong direction.
        d = jnp.where(jnp.dot(state.g, d) < 0, d, -state.g)
        search = _lbfgs.line_search(
            value_and_grad, state.x, state.f, state.g, d, first_step(state),
            max_linesearch, c1, c2,
        )
        ok = search.ok
        s, y = search.a * d, search.g - state.g
        f_new = jnp.where(ok, search.f, state.f)
        g_new = jnp.where(ok, search.g, state.g)
        return _State(
            iteration=state.iteration + ok.astype(jnp.int32),
            x=jnp.where(ok, state.x + s, state.x),
            f=f_new,
            g=g_new,
            matrix=update(matrix, state, s, y, ok),
            evals=state.evals + search.evals,
            status=_lbfgs.step_status(ok, state.f, f_new, g_new, tol, ftol),
        )

    return lax.while_loop(
        lambda state: _lbfgs.still_running(state, max_iters), iterate, init
    )


# ------------------------------------------------------------------------------ Newton


def newton(
    f,
    params,
    *,
    max_iters=100,
    tol=1e-6,
    ftol=0.0,
    damping=1e-3,
    max_params=DEFAULT_MAX_PARAMS,
    max_linesearch=20,
    c1=1e-4,
    c2=0.9,
):
    """Minimises ``f(params)`` by Newton's method with a modified Hessian and a line search.

    Each iteration computes the exact Hessian ``H = jax.hessian(f)`` (forward-over-reverse
    autodiff, ``N x N``) and the gradient ``g``, and solves

    $$(H + \\tau I)\\, d = -g$$

    by a Cholesky factorisation (a linear solve, never an explicit inverse). The shift
    ``tau`` is 0 when ``H`` is positive definite, so near a minimum the step is the
    plain Newton step ``-H^{-1} g``. Where ``H`` is indefinite (a saddle, a
    non-convex region) the plain step may point uphill or towards a maximum, so ``tau``
    is raised (Levenberg-style damping, Nocedal & Wright Algorithm 3.3, "Cholesky with
    added multiple of the identity"): starting from ``beta - min_i H_ii`` (or 0 when the
    diagonal is positive), doubled until the factorisation succeeds, with ``beta =
    damping * ||H||_F``. A positive definite ``H + tau I`` makes ``d`` a descent
    direction. A large ``tau`` turns the step into gradient descent with step ``1/tau``.

    The step length comes from ``lbfgs``'s strong-Wolfe line search, whose first trial is
    ``a = 1``, the full Newton step, accepted whenever it decreases ``f`` enough (on a
    positive definite quadratic it is exact: one iteration); otherwise the search
    shortens (or lengthens) it, so a step that does not decrease ``f`` is never taken.

    Stopping tests as ``lbfgs``: ``||g||_inf <= tol``, the relative decrease ``<= ftol``
    (when ``ftol > 0``), ``max_iters`` iterations, or a line search without decrease.

    Args:
      f: the objective, a JAX-traceable, twice-differentiable function ``params ->
        scalar``, deterministic (full batch). The solve is compiled once per ``f``.
      params: the starting point, a pytree of float arrays with ``N`` entries in all
        (flattened with ``ravel_pytree``); the solve runs in their dtype.
      max_iters: the iteration limit (= Hessian evaluations), an int >= 1.
      tol: gradient tolerance >= 0 on the largest absolute gradient entry.
      ftol: relative-decrease tolerance >= 0; 0 turns the test off.
      damping: ``beta / ||H||_F`` > 0, the relative size of the smallest shift tried
        when ``H`` is not positive definite.
      max_params: the largest ``N`` accepted, an int >= 1 (default 10,000: the Hessian is
        ``N^2`` entries, 400 MB in float32, and a solve ~10^12 flops).
      max_linesearch: evaluations allowed per line search, an int >= 1.
      c1: sufficient-decrease constant, in ``(0, 1)``.
      c2: curvature constant, in ``(c1, 1)``.
    Returns:
      ``(params, info)``: the minimiser, a tree like ``params``, and an ``LbfgsInfo``
      (``function_evals`` counts evaluations of ``f`` and its gradient; the Hessian is
      evaluated once per iteration).
    Raises:
      TypeError: ``f`` not callable, a non-float ``params`` leaf, or a hyperparameter
        of the wrong type.
      ValueError: a hyperparameter out of range, ``f`` not returning a scalar, or more
        than ``max_params`` parameters (the message gives the Hessian's size in bytes).

    Examples:
      >>> import jax.numpy as jnp
      >>> x, info = newton(lambda p: jnp.sum((p - 3.0) ** 2), jnp.zeros(2))
      >>> [round(float(v), 4) for v in x], int(info.iterations)
      ([3.0, 3.0], 1)

    References:
      Nocedal & Wright, "Numerical optimization", 2nd ed., 2006: sections 3.3-3.4 (Newton
      with Hessian modification, Algorithm 3.3), 3.5 (line search).
    """
    max_iters, tol, ftol, max_params, max_linesearch, c1, c2 = _check_common(
        f, params, max_iters, tol, ftol, max_params, max_linesearch, c1, c2
    )
    damping = _base.positive_float(damping, "damping")
    check_dense_size(params, max_params, "newton", "Hessian")
    return _newton_solve(f, params, max_iters, tol, ftol, damping, max_linesearch, c1, c2)


@functools.partial(jax.jit, static_argnums=(0,))
def _newton_solve(f, params, max_iters, tol, ftol, damping, max_linesearch, c1, c2):
    x0, unravel, value_and_grad = _lbfgs.raveled_objective(f, params)
    dtype = x0.dtype
    tol, ftol, damping, c1, c2 = (
        jnp.asarray(v).astype(dtype) for v in (tol, ftol, damping, c1, c2)
    )
    hessian = jax.hessian(lambda z: f(unravel(z)))

    def direction(state):
        h = hessian(state.x).astype(dtype)
        h = 0.5 * (h + h.T)  # autodiff's rounding may leave it slightly asymmetric
        return modified_newton_direction(h, state.g, damping)

    final = _run(
        value_and_grad, x0, jnp.zeros((), dtype), direction,
        lambda state: jnp.ones((), dtype),  # the full Newton step first
        lambda tau, state, s, y, ok: tau,
        max_iters, tol, ftol, max_linesearch, c1, c2,
    )
    return unravel(final.x), _lbfgs.solve_info(final)


def modified_newton_direction(h, g, damping):
    """``(d, tau)`` with ``d = -(H + tau I)^{-1} g`` and ``H + tau I`` positive definite.

    Nocedal & Wright Algorithm 3.3: ``tau = 0`` when the Cholesky factorisation of
    ``H`` succeeds; otherwise ``tau`` starts at ``beta - min_i H_ii`` (``beta =
    damping * ||H||_F``) and doubles until it does. ``h`` is ``(N, N)`` symmetric, ``g``
    ``(N,)``. If no shift within ``_MAX_SHIFTS`` doublings works (a non-finite ``H``),
    ``d = -g``.
    """
    n = g.shape[0]
    eye = jnp.eye(n, dtype=h.dtype)
    norm = jnp.linalg.norm(h)
    # A zero Hessian has no scale of its own; shift by damping itself.
    beta = damping * jnp.where(norm > 0, norm, 1.0)
    min_diag = jnp.min(jnp.diag(h), initial=jnp.inf)

    def factor(tau):
        chol = jnp.linalg.cholesky(h + tau * eye)
        # A failed factorisation comes back as NaNs.
        return chol, jnp.all(jnp.isfinite(chol))

    chol0, ok0 = factor(jnp.zeros((), h.dtype))
    tau1 = jnp.where(min_diag > 0, beta, beta - min_diag)

    def not_done(carry):
        _, _, ok, tries = carry
        return ~ok & (tries < _MAX_SHIFTS)

    def retry(carry):
        tau, _, _, tries = carry
        chol, ok = factor(tau)
        return jnp.where(ok, tau, 2.0 * tau), chol, ok, tries + 1

    tau, chol, ok, _ = lax.while_loop(
        not_done, retry, (tau1, chol0, ok0, jnp.zeros((), jnp.int32))
    )
    tau = jnp.where(ok0, 0.0, tau).astype(h.dtype)
    safe_chol = jnp.where(ok, chol, eye)
    d = jax.scipy.linalg.cho_solve((safe_chol, True), -g)
    return jnp.where(ok, d, -g), tau


# -------------------------------------------------------------------------------- BFGS


def bfgs(
    f,
    params,
    *,
    max_iters=200,
    tol=1e-6,
    ftol=0.0,
    max_params=DEFAULT_MAX_PARAMS,
    max_linesearch=20,
    c1=1e-4,
    c2=0.9,
):
    """Minimises ``f(params)`` by BFGS with a dense inverse-Hessian approximation.

    Each iteration steps along ``d = -H_k g_k``, where ``H_k`` (``N x N``) approximates
    the inverse Hessian, with ``lbfgs``'s strong-Wolfe line search, then updates ``H``
    with the rank-2 BFGS formula for the pair ``s = x_{k+1} - x_k``, ``y = g_{k+1} -
    g_k``, ``rho = 1 / (y^T s)``:

    $$H_{k+1} = (I - \\rho s y^T) H_k (I - \\rho y s^T) + \\rho s s^T,$$

    the matrix closest to ``H_k`` that satisfies the secant equation ``H_{k+1} y = s``
    (Nocedal & Wright eq. 6.17), computed in ``O(N^2)`` as ``H - rho (s (Hy)^T + (Hy)
    s^T) + (rho^2 y^T H y + rho) s s^T``. ``H_0 = I``; before the first update it is
    rescaled to ``(y^T s / y^T y) I`` (N&W eq. 6.20), the same scaling ``lbfgs`` uses.
    The first trial step is ``1 / ||g||_2`` on the first iteration (``H_0`` knows no
    scale), as in SciPy, and 1 afterwards. A pair with ``y^T s <= eps y^T y`` is skipped,
    which keeps ``H`` positive definite. ``lbfgs`` with ``history >= max_iters``
    approximates the same matrix without storing it.

    Stopping tests as ``lbfgs``.

    Args:
      f: the objective, a JAX-traceable function ``params -> scalar``, deterministic
        (full batch). The solve is compiled once per ``f``.
      params: the starting point, a pytree of float arrays with ``N`` entries in all;
        the solve runs in their dtype.
      max_iters: the iteration limit, an int >= 1.
      tol: gradient tolerance >= 0 on the largest absolute gradient entry.
      ftol: relative-decrease tolerance >= 0; 0 turns the test off.
      max_params: the largest ``N`` accepted, an int >= 1 (default 10,000: ``H`` has
        ``N^2`` entries, 400 MB in float32).
      max_linesearch: evaluations allowed per line search, an int >= 1.
      c1: sufficient-decrease constant, in ``(0, 1)``.
      c2: curvature constant, in ``(c1, 1)``.
    Returns:
      ``(params, info)``: the minimiser, a tree like ``params``, and an ``LbfgsInfo``.
    Raises:
      TypeError: ``f`` not callable, a non-float ``params`` leaf, or a hyperparameter
        of the wrong type.
      ValueError: a hyperparameter out of range, ``f`` not returning a scalar, or more
        than ``max_params`` parameters (the message gives the matrix's size in bytes).

    Examples:
      >>> import jax.numpy as jnp
      >>> x, info = bfgs(lambda p: jnp.sum((p["x"] - 3.0) ** 2), {"x": jnp.zeros(2)})
      >>> [round(float(v), 4) for v in x["x"]], bool(info.converged)
      ([3.0, 3.0], True)

    References:
      Nocedal & Wright, "Numerical optimization", 2nd ed., 2006: section 6.1 (BFGS,
      Algorithm 6.1), 3.5 (line search).
    """
    max_iters, tol, ftol, max_params, max_linesearch, c1, c2 = _check_common(
        f, params, max_iters, tol, ftol, max_params, max_linesearch, c1, c2
    )
    check_dense_size(params, max_params, "bfgs", "inverse-Hessian approximation")
    return _bfgs_solve(f, params, max_iters, tol, ftol, max_linesearch, c1, c2)


@functools.partial(jax.jit, static_argnums=(0,))
def _bfgs_solve(f, params, max_iters, tol, ftol, max_linesearch, c1, c2):
    x0, unravel, value_and_grad = _lbfgs.raveled_objective(f, params)
    dtype = x0.dtype
    tol, ftol, c1, c2 = (jnp.asarray(v).astype(dtype) for v in (tol, ftol, c1, c2))
    # H_0 = I, and a flag: has H been updated yet? (its first update rescales H_0)
    matrix0 = (jnp.eye(x0.shape[0], dtype=dtype), jnp.array(False))

    def direction(state):
        h, _ = state.matrix
        return -h @ state.g, state.matrix

    def first_step(state):
        _, updated = state.matrix
        g_norm = jnp.linalg.norm(state.g)
        return jnp.where(
            updated, 1.0, 1.0 / jnp.where(g_norm > 0, g_norm, 1.0)
        ).astype(dtype)

    def update(matrix, state, s, y, ok):
        h, updated = matrix
        sy, yy = jnp.dot(s, y), jnp.dot(y, y)
        store = ok & (sy > jnp.finfo(dtype).eps * yy)
        h_new = bfgs_inverse_update(h, s, y, rescale=~updated)
        return jnp.where(store, h_new, h), updated | store

    final = _run(
        value_and_grad, x0, matrix0, direction, first_step, update,
        max_iters, tol, ftol, max_linesearch, c1, c2,
    )
    return unravel(final.x), _lbfgs.solve_info(final)


def bfgs_inverse_update(h, s, y, rescale=False):
    """The BFGS update of the inverse-Hessian approximation ``h`` (``(N, N)``) for the
    pair ``s``, ``y`` (``(N,)``, with ``y^T s > 0``), in ``O(N^2)``.

    With ``rescale`` (a bool), ``h`` is first replaced by ``(y^T s / y^T y) I``.
    """
    sy, yy = jnp.dot(s, y), jnp.dot(y, y)
    safe_sy = jnp.where(sy != 0, sy, 1.0)
    gamma = sy / jnp.where(yy > 0, yy, 1.0)
    h = jnp.where(rescale, gamma * jnp.eye(h.shape[0], dtype=h.dtype), h)
    rho = 1.0 / safe_sy
    hy = h @ y
    return (
        h
        - rho * (jnp.outer(s, hy) + jnp.outer(hy, s))
        + (rho * rho * jnp.dot(y, hy) + rho) * jnp.outer(s, s)
    )
