"""``python -m recorder_runtime [options] SCRIPT [ARGS...]``: the recorder's command line."""

import sys

from recorder_runtime.cli import main

if __name__ == "__main__":
    sys.exit(main())
