"""``python -m fastdhcp``: the same command as the ``fastdhcp`` script."""

import sys

from .cli import main

sys.exit(main())
