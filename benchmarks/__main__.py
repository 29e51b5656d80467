"""``python -m benchmarks``: the same as ``fdl bench`` (``fdl.bench.cli``)."""

import sys

from fdl.bench.cli import main

sys.exit(main())
