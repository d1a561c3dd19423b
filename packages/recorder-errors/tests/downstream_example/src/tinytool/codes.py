"""tinytool's own error codes: one CodeSet, every string prefixed ERR_TINYTOOL_."""

from recorder_errors import CodeSet, ErrorKind


class TinyCode(CodeSet):
    """Each member: the stable string, its default kind (exit status) and a description."""

    BAD_LIMIT = (
        "ERR_TINYTOOL_BAD_LIMIT",
        ErrorKind.USAGE,
        "The --limit value is not a positive integer.",
    )
    TOO_LONG = (
        "ERR_TINYTOOL_TOO_LONG",
        ErrorKind.TARGET,
        "The input has more lines than --limit allows.",
    )
