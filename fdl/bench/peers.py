"""Which peer libraries are importable here, and their versions.

The peers come with ``pip install -e .[bench]``; a test environment may have none of
them, and then the benchmarks still run fdl's rows and mark the peers' rows
"not installed".
"""

import importlib.metadata
import importlib.util

# Import name -> distribution name (as pip knows it).
PEERS = {
    "torch": "torch",
    "flax": "flax",
    "optax": "optax",
    "equinox": "equinox",
    "sklearn": "scikit-learn",
    "faiss": "faiss-cpu",
}


def available(*modules):
    """True when every named module can be imported."""
    return all(importlib.util.find_spec(m) is not None for m in modules)


def missing(modules):
    """The names in ``modules`` that cannot be imported."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def versions():
    """``{distribution: version or None}`` of every peer."""
    out = {}
    for dist in PEERS.values():
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out
