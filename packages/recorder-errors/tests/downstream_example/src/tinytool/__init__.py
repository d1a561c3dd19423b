"""tinytool: count the lines of a file, with classified failures (recorder-errors)."""

from tinytool.codes import TinyCode
from tinytool.count import count_lines

__all__ = ["TinyCode", "count_lines"]
