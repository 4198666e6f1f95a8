"""`python -m core.training`: the trainer's command line (core/training/cli.py)."""

import sys

from core.training.cli import main

if __name__ == "__main__":
    sys.exit(main())
