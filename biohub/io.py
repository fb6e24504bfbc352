"""Atomic, deterministic file writes shared by every stage."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from datasets import Dataset, Features, load_dataset


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    """Pretty, key-sorted JSON (byte-identical for equal data)."""
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    write_text(path, "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows))


def write_parquet(path: Path, rows: list[dict[str, Any]], features: Features) -> None:
    """Write rows as parquet with the ``datasets`` feature metadata, so ``load_dataset`` restores the types."""
    table = pa.Table.from_pylist(rows, schema=features.arrow_schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)


def read_hub_split(data: str, config: str, split: str) -> Dataset:
    """One split of one config of a hub dataset: a folder written by ``biohub build`` or a Hub id.

    A local folder is read straight from its parquet files (the card's ``configs`` say which), never through the
    ``datasets`` cache: that cache keys a local folder by its name and layout, not its content, so a folder rebuilt
    in place (or another folder of the same name) would silently return the old rows (huggingface/datasets#2956).
    A Hub id goes through ``load_dataset`` (cached by commit; offline with ``HF_HUB_OFFLINE=1``).
    """
    folder = Path(data)
    if not folder.is_dir():
        return load_dataset(data, config, split=split)
    card = folder / "README.md"
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    if not text.startswith("---"):
        raise ValueError(f"{card}: no Hub card with a configs list (is {folder} a folder written by `biohub build`?)")
    front = yaml.safe_load(text.split("---", 2)[1]) or {}
    configs = {entry["config_name"]: entry for entry in front.get("configs", [])}
    if config not in configs:
        raise ValueError(f"{folder}: no config {config!r} (has: {', '.join(sorted(configs)) or 'none'})")
    files = [entry for entry in configs[config].get("data_files", []) if entry["split"] == split]
    if not files:
        raise ValueError(f"{folder}: config {config!r} has no split {split!r}")
    paths = sorted(p for entry in files for p in folder.glob(entry["path"]))
    if not paths:
        raise ValueError(f"{folder}: config {config!r} split {split!r}: no file matches {files[0]['path']}")
    return Dataset(pa.concat_tables([pq.read_table(p) for p in paths]))


def read_jsonl_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON Lines file that is appended to as work progresses (none when it does not exist); a line that
    does not parse — the torn last line of a crash mid-write — is skipped."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def append_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Append rows to a progress file, first cutting a torn last line so that every row starts a line of its own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            with path.open("r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
