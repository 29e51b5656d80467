"""A tuned matrix product for the affine (fully connected) layer, ``a @ b``.

Its value and every derivative (``jax.grad``, ``jax.jvp``, Hessians) are those of
``a @ b``. Only how the weight gradient ``db = aᵀ g`` is laid out for the compiler
differs: reverse mode writes it as a product contracting ``a``'s *leading* axis, which
XLA:CPU runs through a generic Eigen contraction at about half the speed of a plain
row-major product (3072x128 by 128x100: 1.07 ms against 0.55 ms on a 2-core AVX-512
machine; the whole CIFAR-shaped MLP step 1.8 -> 1.2 ms). On CPU, ``aᵀ`` is therefore
materialised once (a copy the size of ``a``, ~0.1 ms there) and ``db = (aᵀ) g`` becomes
an ordinary product. On GPU and TPU the transposed operand is free and ``a @ b`` is used
as it is. im2col convolution keeps the plain product: its patch matrix is large enough
that the transposed copy costs more than it saves (W3's first layer: 4.8 -> 7.3 ms).
"""

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from fdl.nn import _linear

# The copy of ``a`` costs the same whatever ``b``'s width N; the product it speeds up
# scales with N. For a 10-class score layer the copy loses: W3's 4096 -> 10 layer spent
# 3.1 ms on it (fused with the pooling that produces ``a``) against ~0.1 ms for the
# product. W2's 3072 -> 100 layer gains 0.5 ms.
TRANSPOSED_COPY_MIN_COLUMNS = 64


def matmul(a, b):
    """``a @ b`` for ``a: (M, K)``, ``b: (K, N)``, returning ``(M, N)``.

    Differentiates exactly as ``a @ b``; on CPU, for ``N >= TRANSPOSED_COPY_MIN_COLUMNS``,
    the gradient with respect to ``b`` is computed from a materialised ``aᵀ`` (see the
    module docstring for why).
    """
    if jax.default_backend() != "cpu" or b.shape[-1] < TRANSPOSED_COPY_MIN_COLUMNS:
        return a @ b
    return _matmul_cpu(a, b)


@jax.custom_jvp
def _matmul_cpu(a, b):
    return a @ b


def _matmul_cpu_jvp(primals, tangents):
    a, b = primals
    da, db = tangents
    out = a @ b
    terms = []
    if not isinstance(da, SymbolicZero):
        terms.append(da @ b)
    if not isinstance(db, SymbolicZero):
        # The barrier keeps XLA from folding the transpose back into the product, which
        # would restore the slow leading-axis contraction in the transposed (backward) pass.
        a_t = jax.lax.optimization_barrier(jnp.transpose(a))
        terms.append(jnp.transpose(a_t) @ db)
    if not terms:
        return out, jnp.zeros_like(out)
    return out, sum(terms[1:], terms[0])


_matmul_cpu.defjvp(_matmul_cpu_jvp, symbolic_zeros=True)


def affine(x, w, b):
    """``fdl.nn.affine(x, w, b)`` (``x W + b``, ``x`` flattened to ``(N, D)``) computed with
    ``matmul``: same value and derivatives, the faster weight gradient on CPU."""
    x, w, b = _linear.check_affine(x, w, b)
    return matmul(x, w) + b
