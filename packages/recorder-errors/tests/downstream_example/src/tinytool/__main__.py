"""``python -m tinytool``."""

from tinytool.cli import main

raise SystemExit(main())
