"""Training fixtures: a small synthetic hub folder (``mix_stage1`` / ``mix_stage2``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.synthetic import write_hub


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hub(tmp_path_factory.mktemp("hub"))
