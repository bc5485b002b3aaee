"""``python -m escalation``: the same as the ``escalation`` command."""

import sys

from escalation.cli import main

if __name__ == "__main__":
    sys.exit(main())
