"""Type stub of the C extension (src/recorder_speedups/_speedups.c)."""

from types import CodeType, FrameType

class LineRecorder:
    """The LINE event of an ``EventRecorder`` in C; the Python code stays the reference."""

    def __init__(
        self,
        recorder: object,
        on_line: object,
        missing: object,
        disable: object = None,
        on_return: object = None,
        on_start: object = None,
    ) -> None: ...
    def on_start(self, code: CodeType, frame: FrameType, /) -> None:
        """``EventRecorder.on_start``: argument Values, the Step, the Call."""

    def on_line(self, code: CodeType, frame: FrameType, line: int, /) -> None:
        """``EventRecorder.on_line``: the Step and the visible variables of one line."""

    def on_return(self, code: CodeType, value: object, /) -> None:
        """``EventRecorder.on_return`` (also yield and unwind): the Return event."""

    def line(self, code: CodeType, lineno: int, /) -> object:
        """The ``sys.monitoring`` LINE callback (``DISABLE`` once recording finished)."""
