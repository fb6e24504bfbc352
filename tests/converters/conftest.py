"""Helpers shared by the converter tests: write a small invented source file, run a reader over it.

Test modules import them (``from tests.converters.conftest import read_items, write_text``) and keep, at most, a
one-line wrapper that names their reader and its defaults.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader
from biohub.schema import LabelSet


def write_text(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``folder / name`` (folders created) in ``encoding``, byte for byte (no newline
    translation); the file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def json_text(data: Any, *, lines: bool = False, indent: int | None = 1, ascii_only: bool = False) -> str:
    """``data`` as source text: a string as given; one JSON object per line (``lines``, each line ended); else one
    JSON document indented by ``indent``."""
    if isinstance(data, str):
        return data
    if lines:
        return "".join(json.dumps(row, ensure_ascii=ascii_only) + "\n" for row in data)
    return json.dumps(data, ensure_ascii=ascii_only, indent=indent)


def read_items(
    reader: Reader,
    paths: Path | Sequence[Path],
    split: str = "train",
    language: str = "en",
    labels: LabelSet | None = None,
) -> list[Item]:
    """Every item ``reader`` yields for ``paths`` (one path or several) read as split ``split`` of dataset ``toy``."""
    given = [paths] if isinstance(paths, Path) else list(paths)
    return list(reader.read(given, ReadContext("toy", split, language, labels if labels is not None else LabelSet())))
