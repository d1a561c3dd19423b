"""The four kinds of recorder failure and the exit status each one maps to.

The kind answers "whose fault is it, and what should a script calling the
recorder do about it?". Each kind owns one process exit status so that shell
scripts and CI can tell the cases apart without parsing messages:

=========== ==== ==========================================================
kind        exit meaning
=========== ==== ==========================================================
Usage       2    the caller's mistake: bad flags, conflicting sessions
Environment 10   the machine: IO, permissions, disk space, resources
Target      20   the traced program misbehaved in a way that stopped recording
Internal    70   a bug in the recorder itself (70 is ``EX_SOFTWARE``)
=========== ==== ==========================================================
"""

from __future__ import annotations

import enum

__all__ = ["ErrorKind"]


class ErrorKind(enum.Enum):
    """Classification of a recorder failure; the value is the human label.

    The value doubles as the wire form (``"Usage"``, ``"Environment"``, ...)
    used by :meth:`RecorderError.to_dict`, so ``ErrorKind("Usage")`` decodes it.
    """

    __module__ = "recorder_errors"

    USAGE = "Usage"
    ENVIRONMENT = "Environment"
    TARGET = "Target"
    INTERNAL = "Internal"

    @property
    def label(self) -> str:
        """Human-readable name, also the serialized form (e.g. ``"Usage"``)."""
        return str(self.value)

    @property
    def exit_code(self) -> int:
        """Process exit status a CLI uses when a failure of this kind ends it."""
        return _EXIT_CODES[self]


# Kept outside the enum body so that the numbers cannot become enum members.
_EXIT_CODES: dict[ErrorKind, int] = {
    ErrorKind.USAGE: 2,
    ErrorKind.ENVIRONMENT: 10,
    ErrorKind.TARGET: 20,
    ErrorKind.INTERNAL: 70,
}
