"""Shared fixtures: the local mirror of real corpora (../shared/corpora), and a tiny config-built model folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mirror_path() -> Path:
    """``$BIOHUB_MIRROR`` or ``../shared/corpora`` beside the project."""
    return Path(os.environ.get("BIOHUB_MIRROR", ROOT.parent / "shared" / "corpora"))


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_path()
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the real-corpus mirror {path} is missing in CI; set BIOHUB_MIRROR or place ../shared beside the project")
        pytest.skip(f"no real-corpus mirror at {path}")
    return path


@pytest.fixture(scope="session")
def unified(mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """``unified(name)`` converts one catalogued corpus (once per test process) and returns the output folder."""
    from biohub.converters.api import convert_catalogued

    root = tmp_path_factory.mktemp("unified")
    done: set[str] = set()

    def get(*names: str) -> Path:
        todo = [name for name in names if name not in done]
        if todo:
            convert_catalogued(mirror, root, todo, progress=False)
            done.update(todo)
        return root

    return get


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer LLaMA model (hidden 64) with SmolLM2's tokenizer, saved as a model folder."""
    from biohub.models import load_tokenizer, tiny_model

    folder = tmp_path_factory.mktemp("tiny-model")
    tokenizer = load_tokenizer("default")
    tiny_model(tokenizer).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
