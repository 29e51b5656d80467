"""``python -m benchmarks``: fdl's benchmark harness (``fdl.bench``) from a checkout.

The harness is part of the installed package (``fdl bench`` runs it from any directory);
this folder holds the committed results (``results/<machine>.json``) and the standalone
KNN script ``bench_knn.py``.
"""
