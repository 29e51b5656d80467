"""``python -m benchmarks``: see ``benchmarks/__init__.py``."""

import sys

from benchmarks.cli import main

sys.exit(main())
