"""Folders that a test run builds once and every pytest-xdist worker of that run reads (the session fixtures of
tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], object]) -> Path:
    """The folder ``make(folder)`` writes, written once per test run however many pytest-xdist workers ask for it: the
    first one builds it under a file lock in the folder the workers share, the others wait for it and reuse it."""
    shared = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        shared = shared.parent  # pytest-of-USER/pytest-N, above every worker's popen-gwK
    folder, done = shared / "built-once" / name, shared / "built-once" / f"{name}.done"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if not done.is_file():
            if folder.exists():  # left by a build that failed
                shutil.rmtree(folder)
            make(folder)
            done.touch()
    return folder


def small_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small Hub folder of tests/hub/test_export.py's ``make_hub`` (conftest's ``hub`` fixture), built once per run."""
    from tests.hub.test_export import make_hub

    return built_once(tmp_path_factory, "small-hub", make_hub) / "hub"
