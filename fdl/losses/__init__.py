"""``fdl.losses``: losses returning the batch mean (``reduction="none"``: per example)."""

from fdl.losses._classification import binary_hinge as binary_hinge
from fdl.losses._classification import softmax_cross_entropy as softmax_cross_entropy
from fdl.losses._classification import svm as svm
from fdl.losses._classification import zero_one as zero_one
from fdl.losses._regression import kl_divergence as kl_divergence
from fdl.losses._regression import l1 as l1
from fdl.losses._regression import l2 as l2
