"""``python -m server``: see server/cli.py."""

import sys

from server.cli import main

sys.exit(main())
