"""Parquet shards laid out as the Hugging Face Hub expects: ``<config>/<split>-NNNNN-of-NNNNN.parquet``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Features

from biohub.io import write_parquet

MAX_ROWS_PER_SHARD = 100_000


def write_shards(
    folder: Path, split: str, rows: list[dict[str, Any]], features: Features, max_rows: int = MAX_ROWS_PER_SHARD
) -> list[Path]:
    """Write ``rows`` as ``folder/<split>-00000-of-0000N.parquet`` shards. An empty split writes nothing: the Hub
    layout has no way to say "empty split" (and ``datasets`` cannot read a zero-row parquet file), so it is left out
    of the repository and its card, and the build info records it as empty."""
    count = -(-len(rows) // max_rows)
    paths = []
    for index in range(count):
        path = folder / f"{split}-{index:05d}-of-{count:05d}.parquet"
        write_parquet(path, rows[index * max_rows : (index + 1) * max_rows], features)
        paths.append(path)
    return paths
