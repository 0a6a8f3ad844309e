"""``python -m hubsd`` is the ``hubsd`` command."""

import sys

from hubsd.cli import main

sys.exit(main())
