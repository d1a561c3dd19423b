# ruff: noqa  (test support: a sitecustomize body that takes every sys.monitoring slot)
import sys

if sys.version_info >= (3, 12):
    for _i in range(6):
        try:
            sys.monitoring.use_tool_id(_i, f"squatter-{_i}")
        except ValueError:
            pass
