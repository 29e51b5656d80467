"""``fdl.gradcheck``: hand-written vs ``jax.grad`` vs numerical gradients.

``numerical_gradient`` (centred differences over any pytree), ``rel_error``, and
``check(f, *args)`` returning a ``GradcheckReport``. ``run_suite`` checks every op of
``fdl.nn``/``fdl.losses``/``fdl.regularizers`` in float64; ``run_model_suite`` checks
every built-in model end to end (``check_model`` on each of ``MODEL_CASES``: the
``manual=True`` build vs ``jax.grad`` vs finite differences of the training loss);
``fdl gradcheck`` prints both.
"""

from fdl.gradcheck._cases import CASES as CASES
from fdl.gradcheck._cases import Case as Case
from fdl.gradcheck._check import ANALYTIC_TOL as ANALYTIC_TOL
from fdl.gradcheck._check import NUMERICAL_TOL as NUMERICAL_TOL
from fdl.gradcheck._check import ArgumentReport as ArgumentReport
from fdl.gradcheck._check import GradcheckReport as GradcheckReport
from fdl.gradcheck._check import check as check
from fdl.gradcheck._models import MODEL_CASES as MODEL_CASES
from fdl.gradcheck._models import ModelCase as ModelCase
from fdl.gradcheck._models import check_model as check_model
from fdl.gradcheck._models import run_model_suite as run_model_suite
from fdl.gradcheck._numerical import numerical_gradient as numerical_gradient
from fdl.gradcheck._numerical import rel_error as rel_error
from fdl.gradcheck._suite import check_case as check_case
from fdl.gradcheck._suite import format_table as format_table
from fdl.gradcheck._suite import run_suite as run_suite
