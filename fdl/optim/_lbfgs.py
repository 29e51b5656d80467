"""Full-batch L-BFGS: a quasi-Newton method that never forms the Hessian.

Newton's method steps to the minimum of the local quadratic model,
``x - H^{-1} g``; it has no learning rate, but ``H`` is ``n x n`` and inverting it costs
``O(n^3)``. BFGS builds an approximation of ``H^{-1}`` from the gradients it has already
seen; L-BFGS (limited-memory BFGS) keeps only the last ``m`` pairs

$$s_k = x_{k+1} - x_k, \\qquad y_k = g_{k+1} - g_k, \\qquad \\rho_k = 1 / (y_k^T s_k)$$

and applies the approximate inverse Hessian to a vector with the *two-loop recursion*
in ``O(m n)`` time and memory. The step length along the resulting direction comes from a
line search that satisfies the strong Wolfe conditions, which keeps ``y^T s > 0`` and so
the approximation positive definite.

The notes' advice: use L-BFGS when the whole data set fits in one batch, with every
source of noise (dropout, data augmentation) switched off: ``f`` must be deterministic.

The whole solve is one ``lax.while_loop`` (with the line search a nested one), compiled
once per objective function.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from fdl.optim import _base


class LbfgsInfo(NamedTuple):
    """How a full-batch solve went: the result type of ``lbfgs``, ``bfgs`` and ``newton``.

    Attributes:
      iterations: int32 scalar, the number of iterations (accepted steps); for ``newton``
        also the number of Hessian evaluations.
      loss: scalar, ``f`` at the returned parameters.
      grad_norm: scalar, ``||grad f||_inf`` at the returned parameters.
      converged: bool scalar, True when a stopping tolerance was met (``grad_norm <=
        tol``, or the relative decrease test of ``ftol``); False when the iteration
        limit was reached or the line search could not decrease ``f`` any further.
      function_evals: int32 scalar, evaluations of ``f`` and its gradient (one each).
    """

    iterations: jax.Array
    loss: jax.Array
    grad_norm: jax.Array
    converged: jax.Array
    function_evals: jax.Array


_RUNNING, _GTOL, _FTOL, _LINE_SEARCH_FAILED = 0, 1, 2, 3


def lbfgs(
    f,
    params,
    *,
    history=10,
    max_iters=100,
    tol=1e-6,
    ftol=0.0,
    max_linesearch=20,
    c1=1e-4,
    c2=0.9,
):
    """Minimises ``f(params)`` by L-BFGS with a strong-Wolfe line search.

    Each iteration computes the direction ``d = -H_k g_k`` by the two-loop recursion
    over the last ``history`` pairs ``(s, y)``, with the initial inverse Hessian
    ``H_0 = (s^T y / y^T y) I`` from the newest pair (Nocedal & Wright, eq. 7.20), then
    finds a step ``a`` satisfying the strong Wolfe conditions

    $$f(x + a d) \\le f(x) + c_1 a\\, g^T d, \\qquad |\\nabla f(x + a d)^T d| \\le c_2 |g^T d|$$

    by bracketing and zoom (cubic interpolation, falling back to bisection). The first
    trial step is 1, except on the first iteration (no curvature information yet), where
    it is ``1 / ||g||_2`` as in SciPy's L-BFGS-B. A pair with ``y^T s <= eps y^T y`` is
    not stored, which keeps ``H`` positive definite.

    Stops when ``||g||_inf <= tol`` (SciPy's ``pgtol``/``gtol``), when ``ftol > 0`` and
    ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol`` (SciPy's ``ftol``), after
    ``max_iters`` iterations, or when the line search finds no decrease.

    Args:
      f: the objective, a JAX-traceable function ``params -> scalar``. It must be
        deterministic (full batch, no dropout). The solve is compiled once per ``f``:
        pass the same function object to reuse the compiled solve.
      params: the starting point, a pytree of float arrays (flattened internally with
        ``jax.flatten_util.ravel_pytree``); the solve runs in their dtype (use float64
        for tight tolerances).
      history: ``m``, the number of ``(s, y)`` pairs kept, an int >= 1.
      max_iters: the iteration limit, an int >= 1.
      tol: gradient tolerance >= 0 on the largest absolute gradient entry.
      ftol: relative-decrease tolerance >= 0; 0 turns the test off.
      max_linesearch: evaluations allowed per line search, an int >= 1.
      c1: sufficient-decrease constant, in ``(0, 1)``.
      c2: curvature constant, in ``(c1, 1)``.
    Returns:
      ``(params, info)``: the minimiser, a tree like ``params``, and an ``LbfgsInfo``.
    Raises:
      TypeError: ``f`` not callable, a non-float ``params`` leaf, or a hyperparameter
        of the wrong type.
      ValueError: a hyperparameter out of range, or ``f`` not returning a scalar.

    Examples:
      >>> import jax.numpy as jnp
      >>> x, info = lbfgs(lambda p: jnp.sum((p["x"] - 3.0) ** 2), {"x": jnp.zeros(2)})
      >>> [round(float(v), 4) for v in x["x"]], bool(info.converged)
      ([3.0, 3.0], True)

    References:
      Nocedal & Wright, "Numerical optimization", 2nd ed., 2006: Algorithm 7.4 (two-loop
      recursion), 7.5 (L-BFGS), 3.5 and 3.6 (line search and zoom); Liu & Nocedal, "On
      the limited memory BFGS method for large scale optimization", 1989.
    """
    check_objective(f, params)
    history = _base.positive_int(history, "history")
    max_iters = _base.positive_int(max_iters, "max_iters")
    max_linesearch = _base.positive_int(max_linesearch, "max_linesearch")
    tol = _base.nonnegative_float(tol, "tol")
    ftol = _base.nonnegative_float(ftol, "ftol")
    c1 = _base.real_in_range(c1, "c1", low=0.0, high=1.0, low_open=True, high_open=True)
    c2 = _base.real_in_range(c2, "c2", low=c1, high=1.0, low_open=True, high_open=True)
    return _solve(
        f, history, params, max_iters, tol, ftol, max_linesearch, c1, c2
    )


@functools.partial(jax.jit, static_argnums=(0, 1))
def _solve(f, history, params, max_iters, tol, ftol, max_linesearch, c1, c2):
    x0, unravel, value_and_grad = raveled_objective(f, params)
    dtype = x0.dtype
    n = x0.shape[0]
    tol, ftol, c1, c2 = (jnp.asarray(v).astype(dtype) for v in (tol, ftol, c1, c2))
    f0, g0 = value_and_grad(x0)
    init = _State(
        iteration=jnp.zeros((), jnp.int32),
        x=x0,
        f=f0,
        g=g0,
        s=jnp.zeros((history, n), dtype),
        y=jnp.zeros((history, n), dtype),
        rho=jnp.zeros((history,), dtype),
        evals=jnp.ones((), jnp.int32),
        status=initial_status(g0, tol),
    )

    def running(state):
        return still_running(state, max_iters)

    def iterate(state):
        return _lbfgs_iteration(
            value_and_grad, state, tol, ftol, max_linesearch, c1, c2
        )

    final = lax.while_loop(running, iterate, init)
    return unravel(final.x), solve_info(final)


def check_objective(f, params):
    """The checks every full-batch solver makes before tracing: callable ``f``, float
    ``params`` leaves, a scalar ``f(params)``."""
    if not callable(f):
        raise TypeError(f"f must be a callable params -> scalar, got {type(f).__name__}")
    _base.check_floating_params(params)
    out = jax.eval_shape(f, params)
    if not hasattr(out, "shape") or out.shape != ():
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"f must return a scalar loss, got {shape}")


def raveled_objective(f, params):
    """``(x0, unravel, value_and_grad)``: the solvers work on one flat vector ``x``
    (``ravel_pytree``), in the dtype of the parameters."""
    x0, unravel = ravel_pytree(params)
    dtype = x0.dtype

    def value_and_grad(x):
        value, grad = jax.value_and_grad(lambda z: f(unravel(z)))(x)
        return jnp.asarray(value).astype(dtype), grad.astype(dtype)

    return x0, unravel, value_and_grad


def initial_status(g0, tol):
    """Already converged when the start satisfies the gradient tolerance."""
    return jnp.where(inf_norm(g0) <= tol, _GTOL, _RUNNING).astype(jnp.int32)


def still_running(state, max_iters):
    """The loop condition: no stopping test met yet and iterations left."""
    return (state.status == _RUNNING) & (state.iteration < max_iters)


def step_status(ok, f_old, f_new, g_new, tol, ftol):
    """The int32 status after a line search: failed, gradient tolerance met, relative
    decrease below ``ftol`` (when ``ftol > 0``), or still running."""
    decrease = (f_old - f_new) / jnp.maximum(
        jnp.maximum(jnp.abs(f_old), jnp.abs(f_new)), 1.0
    )
    return jnp.select(
        [~ok, inf_norm(g_new) <= tol, (ftol > 0) & (decrease <= ftol)],
        [_LINE_SEARCH_FAILED, _GTOL, _FTOL],
        _RUNNING,
    ).astype(jnp.int32)


def solve_info(final):
    """The ``LbfgsInfo`` of a final loop carry with ``iteration``, ``f``, ``g``, ``evals``
    and ``status`` fields."""
    return LbfgsInfo(
        iterations=final.iteration,
        loss=final.f,
        grad_norm=inf_norm(final.g),
        converged=(final.status == _GTOL) | (final.status == _FTOL),
        function_evals=final.evals,
    )


class _State(NamedTuple):
    """The L-BFGS loop carry. ``s``, ``y``, ``rho`` hold the pairs, oldest first.

    Unused slots are zero, and a zero ``rho`` makes a slot a no-op in the two-loop
    recursion, so the same code serves before the history has filled up.
    """

    iteration: jax.Array
    x: jax.Array
    f: jax.Array
    g: jax.Array
    s: jax.Array
    y: jax.Array
    rho: jax.Array
    evals: jax.Array
    status: jax.Array


def inf_norm(g):
    return jnp.max(jnp.abs(g), initial=0.0)


def _two_loop(g, s, y, rho, gamma):
    """``H_k g`` by the two-loop recursion (Nocedal & Wright, Algorithm 7.4).

    ``s``, ``y`` are ``(m, n)`` with the newest pair last; ``H_0 = gamma I``.
    """

    def newest_first(q, pair):
        s_i, y_i, rho_i = pair
        alpha_i = rho_i * jnp.dot(s_i, q)
        return q - alpha_i * y_i, alpha_i

    q, alpha = lax.scan(newest_first, g, (s, y, rho), reverse=True)

    def oldest_first(r, pair):
        s_i, y_i, rho_i, alpha_i = pair
        beta = rho_i * jnp.dot(y_i, r)
        return r + s_i * (alpha_i - beta), None

    r, _ = lax.scan(oldest_first, gamma * q, (s, y, rho, alpha))
    return r


def _lbfgs_iteration(value_and_grad, state, tol, ftol, max_linesearch, c1, c2):
    dtype = state.x.dtype
    have_pairs = state.rho[-1] > 0
    sy, yy = jnp.dot(state.s[-1], state.y[-1]), jnp.dot(state.y[-1], state.y[-1])
    gamma = jnp.where(have_pairs, sy / jnp.where(have_pairs, yy, 1.0), 1.0)
    d = -_two_loop(state.g, state.s, state.y, state.rho, gamma)
    # H is positive definite in exact arithmetic; should rounding ever break that, fall
    # back to steepest descent rather than search uphill.
    d = jnp.where(jnp.dot(state.g, d) < 0, d, -state.g)
    # Without curvature information the scale of -g says nothing about the step length:
    # start from a step of unit length, as SciPy does.
    g_norm = jnp.linalg.norm(state.g)
    first_step = jnp.where(have_pairs, 1.0, 1.0 / jnp.where(g_norm > 0, g_norm, 1.0))

    search = line_search(
        value_and_grad, state.x, state.f, state.g, d, first_step.astype(dtype),
        max_linesearch, c1, c2,
    )
    ok = search.ok
    s = search.a * d
    y = search.g - state.g
    sy, yy = jnp.dot(s, y), jnp.dot(y, y)
    store = ok & (sy > jnp.finfo(dtype).eps * yy)

    def push(buffer, row):
        return jnp.where(store, jnp.roll(buffer, -1, axis=0).at[-1].set(row), buffer)

    f_new = jnp.where(ok, search.f, state.f)
    g_new = jnp.where(ok, search.g, state.g)
    status = step_status(ok, state.f, f_new, g_new, tol, ftol)
    return _State(
        iteration=state.iteration + ok.astype(jnp.int32),
        x=jnp.where(ok, state.x + s, state.x),
        f=f_new,
        g=g_new,
        s=push(state.s, s),
        y=push(state.y, y),
        rho=push(state.rho, 1.0 / jnp.where(store, sy, 1.0)),
        evals=state.evals + search.evals,
        status=status,
    )


class _SearchResult(NamedTuple):
    a: jax.Array
    f: jax.Array
    g: jax.Array
    evals: jax.Array
    ok: jax.Array


class _Search(NamedTuple):
    """The line-search loop carry.

    While bracketing (``zoom`` False), ``lo`` is the previous trial step and ``next_a``
    the next one. While zooming, ``[lo, hi]`` (in either order) brackets a step
    satisfying the strong Wolfe conditions, and ``lo`` has the lowest ``f`` seen that
    satisfies sufficient decrease. ``best`` is the lowest sufficient-decrease point so
    far: the answer if the evaluation budget runs out before the curvature condition holds.
    """

    evals: jax.Array
    done: jax.Array
    found: jax.Array
    zoom: jax.Array
    a_lo: jax.Array
    f_lo: jax.Array
    d_lo: jax.Array
    a_hi: jax.Array
    f_hi: jax.Array
    d_hi: jax.Array
    next_a: jax.Array
    a_best: jax.Array
    f_best: jax.Array
    g_best: jax.Array


def line_search(value_and_grad, x, f0, g0, d, first_step, max_evals, c1, c2):
    """A step along ``d`` satisfying the strong Wolfe conditions (N&W Alg. 3.5 and 3.6).

    One loop evaluates one trial step per iteration: the next extrapolated step while
    bracketing, an interpolated step while zooming.
    """
    dphi0 = jnp.dot(g0, d)
    zero = jnp.zeros((), x.dtype)
    init = _Search(
        evals=jnp.zeros((), jnp.int32),
        done=jnp.array(False),
        found=jnp.array(False),
        zoom=jnp.array(False),
        a_lo=zero, f_lo=f0, d_lo=dphi0,
        a_hi=zero, f_hi=f0, d_hi=dphi0,
        next_a=first_step,
        a_best=zero, f_best=f0, g_best=g0,
    )

    def step(st):
        a = jnp.where(
            st.zoom,
            _interpolate(st.a_lo, st.f_lo, st.d_lo, st.a_hi, st.f_hi, st.d_hi),
            st.next_a,
        )
        f_a, g_a = value_and_grad(x + a * d)
        d_a = jnp.dot(g_a, d)
        # A NaN loss compares False, so it counts as a failed decrease, as does inf.
        sufficient = f_a <= f0 + c1 * a * dphi0
        curvature = jnp.abs(d_a) <= -c2 * dphi0
        to_hi = ~sufficient | (f_a >= st.f_lo)
        accept = ~to_hi & curvature
        move_lo = ~to_hi & ~curvature
        # The minimum lies between a and lo when the slope at a points back towards lo.
        direction = jnp.where(st.zoom, st.a_hi - st.a_lo, 1.0)
        flip = move_lo & (d_a * direction >= 0)
        better = sufficient & (f_a < st.f_best)
        evals = st.evals + 1
        return _Search(
            evals=evals,
            done=accept | (evals >= max_evals),
            found=accept,
            zoom=st.zoom | to_hi | flip,
            a_lo=jnp.where(move_lo, a, st.a_lo),
            f_lo=jnp.where(move_lo, f_a, st.f_lo),
            d_lo=jnp.where(move_lo, d_a, st.d_lo),
            a_hi=jnp.where(to_hi, a, jnp.where(flip, st.a_lo, st.a_hi)),
            f_hi=jnp.where(to_hi, f_a, jnp.where(flip, st.f_lo, st.f_hi)),
            d_hi=jnp.where(to_hi, d_a, jnp.where(flip, st.d_lo, st.d_hi)),
            next_a=2.0 * a,
            a_best=jnp.where(better | accept, a, st.a_best),
            f_best=jnp.where(better | accept, f_a, st.f_best),
            g_best=jnp.where(better | accept, g_a, st.g_best),
        )

    final = lax.while_loop(lambda st: ~st.done, step, init)
    # Without a Wolfe point, take the best sufficient-decrease point if there is one.
    ok = final.found | (final.a_best > 0)
    return _SearchResult(final.a_best, final.f_best, final.g_best, final.evals, ok)


def _interpolate(a_lo, f_lo, d_lo, a_hi, f_hi, d_hi):
    """The minimiser of the cubic through both end points' values and slopes (N&W 3.59).

    Falls back to bisection when the cubic has no minimiser or it lies within 10% of
    either end of the interval (safeguarding, N&W section 3.5).
    """
    d1 = d_lo + d_hi - 3.0 * (f_lo - f_hi) / (a_lo - a_hi)
    radicand = d1**2 - d_lo * d_hi
    d2 = jnp.sign(a_hi - a_lo) * jnp.sqrt(jnp.maximum(radicand, 0.0))
    a = a_hi - (a_hi - a_lo) * (d_hi + d2 - d1) / (d_hi - d_lo + 2.0 * d2)
    left, right = jnp.minimum(a_lo, a_hi), jnp.maximum(a_lo, a_hi)
    margin = 0.1 * (right - left)
    usable = (radicand >= 0) & jnp.isfinite(a) & (a > left + margin) & (a < right - margin)
    return jnp.where(usable, a, 0.5 * (a_lo + a_hi))
