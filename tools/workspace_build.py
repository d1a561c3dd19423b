"""The repository root's build backend: it refuses to build, with a clear message.

Why: the root ``pyproject.toml`` only ties the four packages together (a uv workspace);
it is not a package. Without a backend of its own, ``pip install .`` at the root fell back
to setuptools, which stopped with an unrelated package-discovery error. Every PEP 517
hook here fails with one message that says what to install instead.
"""

from __future__ import annotations

from typing import NoReturn

MESSAGE = (
    "error: the repository root is a development workspace, not a package. "
    "Install one of the packages instead, e.g. `pip install ./packages/recorder-runtime`, "
    "or build them all into one wheelhouse with `nox -s wheels` and "
    "`pip install --no-index --find-links dist/wheelhouse recorder-runtime`."
)


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise SystemExit(MESSAGE)


get_requires_for_build_wheel = _refuse
get_requires_for_build_sdist = _refuse
get_requires_for_build_editable = _refuse
prepare_metadata_for_build_wheel = _refuse
prepare_metadata_for_build_editable = _refuse
build_wheel = _refuse
build_sdist = _refuse
build_editable = _refuse
