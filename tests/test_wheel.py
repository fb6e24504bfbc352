"""The built wheel is complete: installed into a fresh virtualenv that sees biohub's dependencies but not the source
tree, it holds every data file under biohub/, and one command of each stage runs from a folder outside the repository.

The wheel is built offline (``pip wheel --no-deps --no-build-isolation --no-index``) from a copy of the files a wheel
is made of, so nothing is written into the working tree and no git-based file finder can add what package-data
leaves out. The new virtualenv reaches the dependencies through a ``.pth`` line naming this interpreter's
site-packages: a plain path line, so the ``.pth`` files in that folder — biohub's editable finder among them — are
not run, and ``import biohub`` can only find the installed wheel (asserted).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # builds a wheel and a virtualenv, then runs a command of each stage from it
COMMANDS = [
    (["datasets"], "ncbi_disease"),
    (["formats"], "conll"),
    (["templates", "list"], "ner"),
    (["selfinstruct", "--help"], "--seeds"),
]


def source_data_files() -> set[str]:
    """Every file under biohub/ that is not Python source or bytecode (git's view when there is one: tracked files and
    untracked ones that are not ignored), as paths relative to the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "biohub"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode == 0 and listed.stdout.strip():
        paths = listed.stdout.split("\n")
    else:
        paths = [p.relative_to(ROOT).as_posix() for p in (ROOT / "biohub").rglob("*") if p.is_file()]
    return {p for p in paths if p and not p.endswith((".py", ".pyc")) and "__pycache__" not in p and (ROOT / p).is_file()}


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``command`` offline, without PYTHONPATH, in ``cwd``; its output in the assertion message when it fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")} | {
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",
    }
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, command))}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel built from this tree installed (``--no-deps --no-index``)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT / "biohub", source / "biohub", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(work / "dist"),
            str(source),
        ],
        work,
    )
    (wheel,) = (work / "dist").glob("biohub-*.whl")
    env = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(env)], work)
    python = env / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)], work)
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work).stdout.strip())
    dependencies = sysconfig.get_paths()["purelib"]
    (site / "dependencies.pth").write_text(
        f"# biohub's dependencies (a path line: the .pth files there are not run)\n{dependencies}\n", encoding="utf-8"
    )
    return env


def test_the_installed_package_is_the_wheel_with_every_data_file(venv: Path) -> None:
    script = (
        "import biohub, pathlib; from biohub.selfinstruct.tasks import DATA, load_seeds; "
        "root = pathlib.Path(biohub.__file__).parent; print(root); print(len(load_seeds(DATA / 'seeds.jsonl'))); "
        "print('\\n'.join(sorted(p.relative_to(root.parent).as_posix() for p in root.rglob('*') "
        "if p.is_file() and p.suffix not in ('.py', '.pyc'))))"
    )
    lines = run([str(venv / "bin" / "python"), "-c", script], venv.parent).stdout.splitlines()
    package, seeds, installed = Path(lines[0]), int(lines[1]), set(lines[2:])
    assert package.is_relative_to(venv) and not package.is_relative_to(ROOT), package
    assert seeds > 0  # the default seeds file of `biohub selfinstruct` (no --seeds) is found in the installed package
    assert source_data_files() - installed == set(), "data files missing from the wheel (pyproject package-data)"


@pytest.mark.parametrize(("command", "expected"), COMMANDS, ids=[" ".join(c) for c, _ in COMMANDS])
def test_one_command_of_each_stage_runs_from_outside_the_repository(venv: Path, command: list[str], expected: str) -> None:
    output = run([str(venv / "bin" / "biohub"), *command], venv.parent).stdout
    assert expected in output
