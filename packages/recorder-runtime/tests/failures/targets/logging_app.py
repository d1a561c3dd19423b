# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""F16: an application that configures logging itself, after the recorder has started."""

import logging


def compute(x):
    return x + 1


value = compute(1)
logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
logging.getLogger("app").info("app message %s", value)
logging.warning("root message")
print("done", value)
