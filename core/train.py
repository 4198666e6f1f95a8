"""`python -m core.train`: the trainer's command line under the name the README and users'
scripts have used since the start; the code lives in core/training/ (`python -m
core.training` is the same). Nothing imports this module."""

import sys

from core.training.cli import main

if __name__ == "__main__":
    sys.exit(main())
