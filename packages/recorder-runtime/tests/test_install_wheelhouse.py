"""Installing one package alone, as a user does: a real ``pip install`` from a wheelhouse.

The wheelhouse is built once per test module the way ``nox -s wheels`` builds
``dist/wheelhouse``: ``uv build --all-packages --wheel`` for our four packages, then
``pip download`` of their third-party dependencies for this Python (an index is needed
for that step only). Each package is then installed ALONE into a fresh virtual
environment with ``pip install --no-index --find-links WHEELHOUSE NAME``: its siblings
must come from the wheelhouse, nothing from the workspace, and it must run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
AUTOSTART_PTH = "zz_recorder_runtime_autostart.pth"
OURS = ("recorder-errors", "recorder-ffi", "recorder-runtime", "pure-recorder")
NEEDS_SETTRACE = sys.version_info < (3, 12)

#: What installing each package alone must bring (ours only; third-party not listed).
CLOSURE = {
    "recorder-errors": {"recorder-errors"},
    "recorder-ffi": {"recorder-errors", "recorder-ffi"},
    "recorder-runtime": {"recorder-errors", "recorder-ffi", "recorder-runtime"}
    | ({"pure-recorder"} if NEEDS_SETTRACE else set()),
    "pure-recorder": set(OURS),
}

LIST_OURS = (
    "import importlib.metadata as m, json; "
    f"print(json.dumps(sorted(d.metadata['Name'] for d in m.distributions() "
    f"if d.metadata['Name'] in {list(OURS)!r})))"
)


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODETRACER_", "VIRTUAL_ENV"))}
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        **kwargs,  # type: ignore[call-overload]
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway venv whose pip installs into other venvs (``pip --python``)."""
    home = tmp_path_factory.mktemp("installer")
    run([sys.executable, "-m", "venv", str(home)])
    return home / "bin" / "python"


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory, installer: Path) -> Path:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed to build the wheelhouse (it builds the workspace too)")
    house = tmp_path_factory.mktemp("wheelhouse")
    run([uv, "build", "--all-packages", "--wheel", "--out-dir", str(house)], cwd=REPO)
    pip = [str(installer), "-m", "pip"]
    local = ["--dest", str(house), "--find-links", str(house)]
    run([*pip, "download", "--quiet", "--only-binary=:all:", *local, *OURS])
    return house


def fresh_venv_with(package: str, root: Path, installer: Path, house: Path) -> Path:
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    pip = [str(installer), "-m", "pip", "--python", str(python)]
    run([*pip, "install", "--quiet", "--no-index", "--find-links", str(house), package])
    return python


@pytest.mark.parametrize("package", OURS)
def test_one_package_installs_alone_from_the_wheelhouse_and_runs(
    package: str, tmp_path: Path, installer: Path, wheelhouse: Path
) -> None:
    python = fresh_venv_with(package, tmp_path, installer, wheelhouse)
    installed = json.loads(run([str(python), "-c", LIST_OURS]).stdout)
    assert set(installed) == CLOSURE[package]
    # Nothing comes from the workspace: every module lives in the fresh venv.
    module = package.replace("-", "_")
    where = run([str(python), "-c", f"import {module}; print({module}.__file__)"]).stdout
    assert Path(where.strip()).is_relative_to(tmp_path / "venv")
    if package in ("recorder-runtime", "pure-recorder"):
        script = tmp_path / "hello.py"
        script.write_text("print('hello', sum(range(3)))\n")
        trace = tmp_path / "trace"
        command = "recorder-runtime" if package == "recorder-runtime" else "pure-recorder"
        done = run([str(python.parent / command), "--trace-dir", str(trace), str(script)])
        assert done.stdout == "hello 3\n"
        meta = json.loads((trace / "trace_metadata.json").read_text())
        expected = "settrace" if NEEDS_SETTRACE or package == "pure-recorder" else "monitoring"
        assert meta["recorder"]["backend"] == expected
    else:
        version = run([str(python), "-c", f"import {module}; print({module}.__version__)"])
        assert version.stdout.strip() == wheel_version(wheelhouse, module)


def test_the_runtime_wheel_ships_the_autostart_hook_and_a_license(wheelhouse: Path) -> None:
    import zipfile

    (wheel,) = wheelhouse.glob("recorder_runtime-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert AUTOSTART_PTH in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def wheel_version(house: Path, module: str) -> str:
    (wheel,) = house.glob(f"{module}-*.whl")
    return wheel.name.split("-")[1]


@pytest.mark.parametrize("package", OURS)
def test_readme_links_work_outside_the_repository(package: str) -> None:
    # The README is the package's long description on an index: relative links would break.
    readme = (REPO / "packages" / package / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    relative = [t for t in targets if not t.startswith(("https://", "http://", "#"))]
    assert relative == []


@pytest.mark.parametrize("package", OURS)
def test_each_package_ships_the_same_license(package: str) -> None:
    assert (REPO / "packages" / package / "LICENSE").read_bytes() == (REPO / "LICENSE").read_bytes()


def test_pip_install_at_the_repository_root_refuses_with_a_clear_message(
    installer: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    done = subprocess.run(
        [str(installer), "-m", "pip", "install", "--no-index", "--target", str(target), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert (
        "the repository root is a development workspace, not a package" in done.stdout + done.stderr
    )
    assert not target.exists() or not any(target.iterdir())
