"""``python -m pure_recorder [options] SCRIPT [ARGS...]``: record with the settrace backend."""

import sys

from pure_recorder.cli import main

if __name__ == "__main__":
    sys.exit(main())
