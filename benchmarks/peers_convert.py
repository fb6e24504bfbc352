"""Conversion against a plain ``datasets`` build (``benchmarks/peers.py``): the same source files, records/s.

- **biohub**: ``convert_catalogued`` of one catalogued corpus, one process (``jobs=1``), as ``biohub convert NAME``:
  checksums of the source files against the catalog, the format's reader, every record validated against the
  schema (offsets, entity and relation references), the per-split ledger of records read, converted and rejected
  with reasons, counts checked against the catalog's expected numbers, parquet written atomically with the
  dataset card.
- **datasets baseline**: ``Dataset.from_generator`` over a minimal parse of the same files (CoNLL: token and tag
  columns, blank-line sentence breaks; CBLUE JSON: the array's objects as they are), written with ``to_parquet``; a
  fresh ``datasets`` cache every time (a warm cache would skip the generator). No checks, no offsets, no ledger.

Records are the source records each counts (sentences for CoNLL, objects for JSON), the same number in both.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _conll(paths: list[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        tokens: list[str] = []
        tags: list[str] = []
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                line = line.rstrip("\n")
                if line.strip():
                    token, _, tag = line.partition("\t")
                    tokens.append(token)
                    tags.append(tag)
                elif tokens:
                    yield {"tokens": tokens, "tags": tags}
                    tokens, tags = [], []
        if tokens:
            yield {"tokens": tokens, "tags": tags}


def _json_array(paths: list[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        for record in json.loads(path.read_text(encoding="utf-8")):
            yield {key: str(value) for key, value in record.items()}


PARSERS = {"conll": _conll, "cblue-cls": _json_array}


def source_files(mirror: str, name: str) -> tuple[str, dict[str, list[Path]]]:
    """The catalogued corpus' format and its source files per split."""
    from biohub.converters.catalog import load_catalog

    entry = load_catalog()[name]
    if entry.source.format not in PARSERS or entry.more_sources:
        raise ValueError(f"{name}: the baseline parses {', '.join(PARSERS)} single-source corpora, not {entry.source.format}")
    return entry.source.format, {split: [Path(mirror) / f.path for f in files] for split, files in entry.source.splits.items()}


def baseline_child(mirror: str, name: str) -> dict[str, Any]:
    """``datasets.Dataset.from_generator`` + ``to_parquet`` per split: seconds and records."""
    from datasets import Dataset

    fmt, splits = source_files(mirror, name)
    records = 0
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        for split, paths in splits.items():
            dataset = Dataset.from_generator(PARSERS[fmt], gen_kwargs={"paths": paths}, cache_dir=f"{tmp}/cache")
            dataset.to_parquet(f"{tmp}/{split}.parquet")
            records += len(dataset)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "records": records, "format": fmt}


def biohub_child(mirror: str, name: str) -> dict[str, Any]:
    """``biohub convert NAME`` (one process): seconds, records read, records rejected."""
    from biohub.converters.api import convert_catalogued

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        (result,) = convert_catalogued(Path(mirror), Path(tmp), [name], progress=False, jobs=1)
        seconds = time.perf_counter() - started
    read = sum(ledger.read for ledger in result.ledger.values())
    rejected = sum(ledger.rejected for ledger in result.ledger.values())
    return {"seconds": seconds, "records": read, "rejected": rejected}
