import sys

from fdl.cli import main

sys.exit(main())
