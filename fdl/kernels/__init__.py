"""Tuned kernels: faster ways to compute what ``fdl.nn`` defines, chosen by the layers.

``fdl.nn`` is the reference -- the notes' mathematics written plainly in ``jax.numpy``,
differentiated by plain ``jax.grad`` -- and ``fdl gradcheck`` compares the hand-written
backward passes against it. A kernel here computes the same function with the same
derivatives but is laid out for a compiler (a custom JVP, a materialised transpose);
``fdl.layers`` picks it with ``impl="auto"`` where it is faster. Every kernel is tested
equal to its reference in value and in every derivative (``tests/kernels``).

- ``matmul(a, b)``: ``a @ b`` whose weight gradient XLA:CPU computes as a plain
  row-major product (see ``fdl.kernels._matmul``).
- ``affine(x, w, b)``: ``fdl.nn.affine`` through ``matmul``.
"""

from fdl.kernels._matmul import TRANSPOSED_COPY_MIN_COLUMNS as TRANSPOSED_COPY_MIN_COLUMNS
from fdl.kernels._matmul import affine as affine
from fdl.kernels._matmul import matmul as matmul
