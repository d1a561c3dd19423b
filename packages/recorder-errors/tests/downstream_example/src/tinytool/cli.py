"""``tinytool [--codes] PATH LIMIT``: the count on stdout, or one JSON error line on stderr.

The exit status is the error kind's: 2 usage, 10 environment, 20 target, 70 internal.
"""

import sys
from collections.abc import Sequence

from recorder_errors import (
    ErrorCode,
    RecorderError,
    codes_table_markdown,
    exit_code_for,
    from_exception,
    usage,
)
from tinytool.codes import TinyCode
from tinytool.count import count_lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tool; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--codes"]:
        sys.stdout.write(codes_table_markdown(TinyCode))
        return 0
    try:
        if len(args) != 2:
            raise usage(ErrorCode.INVALID_ARGUMENT, "usage: tinytool PATH LIMIT", args=args)
        sys.stdout.write(f"{count_lines(args[0], args[1])}\n")
    except RecorderError as err:
        sys.stderr.write(err.to_json() + "\n")
        return err.exit_code
    except Exception as exc:  # anything unclassified is a bug of the tool: exit 70
        sys.stderr.write(from_exception(exc).to_json() + "\n")
        return exit_code_for(exc)
    return 0
