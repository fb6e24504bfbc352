"""The two ways to convert: catalogued corpora from a mirror, or an uncatalogued corpus of a known format."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from biohub.converters.base import Rejection, check_path
from biohub.converters.catalog import CatalogEntry, Source, SourceFile, load_catalog
from biohub.converters.convert import (
    ConversionResult,
    convert_entry,
    convert_source,
    observed_labels,
    refuse_empty,
    source_bytes,
    split_from_filename,
    update_ledger,
    write_result,
)
from biohub.converters.registry import get_reader
from biohub.errors import BiohubError, ConfigError, UnknownNameError
from biohub.outputs import CONVERT, check_name, replacing
from biohub.schema import KBRecord, LabelSet, PairsRecord, QARecord, TextRecord


class StrictError(BiohubError):
    """``--strict`` found a rejected record, a dropped annotation or an unaccounted one; nothing was written."""


def check_strict(results: Sequence[ConversionResult]) -> None:
    """Raise :class:`StrictError` when any result rejected a record (or a vocabulary row), dropped an annotation or
    left annotations unaccounted for: one line with the counts and the first problem's file, line/record and reason."""
    rejected = dropped = unaccounted = 0
    firsts: list[str] = []  # the first problem of every result, then the unaccounted counts
    gaps: list[str] = []
    for result in results:
        for split in sorted(result.ledger):
            ledger = result.ledger[split]
            rejected, dropped = rejected + ledger.rejected, dropped + ledger.dropped
            unaccounted += ledger.unaccounted_total()
            gaps += ledger.unaccounted_lines(f"{result.dataset}/{split}")
        for table in result.vocabularies:  # a rejected vocabulary row counts as a rejected record
            rejected, dropped = rejected + table.ledger.rejected, dropped + table.ledger.dropped
        problem = next((p for p in result.every_problem() if isinstance(p, Rejection) or p.dropped), None)
        if problem is not None:
            firsts.append(f"{problem.path}:{problem.locator}: {problem.reason} ({problem.detail})")
    first = next(iter(firsts + gaps), "")
    if rejected or dropped or unaccounted:
        summary = f"{rejected} record(s) rejected, {dropped} annotation(s) dropped, {unaccounted} annotation(s) unaccounted"
        raise StrictError(f"--strict: {summary}; nothing written; first: {first}")


def convert_catalogued(
    mirror: Path,
    out: Path,
    names: Sequence[str] | None = None,
    *,
    catalog: Path | None = None,
    verify: bool = True,
    progress: bool = True,
    strict: bool = False,
    allow_empty: bool = False,
    jobs: int | None = None,
) -> list[ConversionResult]:
    """Convert catalog entries (all when ``names`` is None) from ``mirror`` into ``out``; with ``strict``, any
    rejected record or dropped annotation is a :class:`StrictError` and nothing is written; a corpus with no record
    converted is an error (nothing written) unless ``allow_empty``. ``jobs``: worker processes for several corpora
    (default: one per CPU; 1 converts in this process)."""
    check_path(mirror)  # a missing mirror or one that is a symbolic link loop: say so, not "missing source file"
    entries = load_catalog(catalog)
    selected = list(entries) if names is None else list(names)
    unknown = [name for name in selected if name not in entries]
    if unknown:
        raise UnknownNameError(f"unknown dataset(s) {', '.join(unknown)}; see `biohub datasets`")
    chosen = [entries[name] for name in selected]
    # Each corpus is converted and written into the staging folder; nothing appears in ``out`` before every one is
    # done and checked (a --strict or empty-corpus error removes the staging folder with whatever it holds).
    with replacing(out, CONVERT, merge=True) as work:
        results = _convert_all(chosen, mirror, work, verify=verify, progress=progress, jobs=jobs)
        if strict:
            check_strict(results)
        if not allow_empty:
            for result in results:
                refuse_empty(result, mirror)
        update_ledger(work, results, previous=out)
    return results


def default_jobs() -> int:
    """Worker processes for a multi-corpus conversion: one per CPU this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _convert_and_write(entry: CatalogEntry, mirror: Path, work: Path, verify: bool, progress: bool) -> ConversionResult:
    """Convert one catalogued corpus and write it into the staging folder ``work``. Its records (and vocabulary
    terms) are then on disk and dropped from the result, which keeps the counts, problems and labels (all a caller
    reads afterwards): one corpus's records are in memory at a time, and a worker process hands back little."""
    result = convert_entry(entry, mirror, verify=verify, progress=progress)
    write_result(result, work, mirror)
    result.records = {}
    for table in result.vocabularies:
        table.terms = []
    return result


def _convert_all(
    entries: Sequence[CatalogEntry], mirror: Path, work: Path, *, verify: bool, progress: bool, jobs: int | None
) -> list[ConversionResult]:
    """Convert and write ``entries`` into ``work``, in worker processes when more than one corpus and one job; the
    results come back in the order of ``entries`` (the outputs do not depend on the order or the number of jobs).

    Workers are started with ``spawn`` (a fresh interpreter: no state or threads of this process are copied), and
    they are given the biggest corpora first, so that no large corpus starts last. The first error stops the run:
    the corpora not yet started are cancelled."""
    workers = min(jobs or default_jobs(), len(entries))
    if workers <= 1:
        return [_convert_and_write(entry, mirror, work, verify, progress) for entry in entries]
    order = sorted(range(len(entries)), key=lambda i: (-source_bytes(entries[i], mirror), entries[i].name))
    results: list[ConversionResult | None] = [None] * len(entries)
    context = multiprocessing.get_context("spawn")
    bar = tqdm(total=len(entries), desc="corpora", unit="corpus", disable=not progress or None, leave=False)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_convert_and_write, entries[i], mirror, work, verify, False): i for i in order}
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update(1)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            bar.close()
    return [result for result in results if result is not None]


def convert_files(
    format_name: str,
    inputs: Sequence[Path],
    name: str,
    language: str,
    out: Path,
    *,
    split: str | None = None,
    fields: dict[str, str] | None = None,
    options: dict[str, Any] | None = None,
    labels: Sequence[str] | None = None,
    progress: bool = True,
    strict: bool = False,
    allow_empty: bool = False,
) -> ConversionResult:
    """Convert an uncatalogued corpus of a supported format, with no code.

    Each input's split comes from ``split`` or its file name (train / dev|valid / test). ``fields`` maps the
    reader's field names to the file's (readers with a ``fields`` option); ``options`` are other reader
    options. Label sets are inferred from the data unless ``labels`` is given (then every label must be one of
    them); whether a text corpus is multi-label is read off the data. With ``strict``, any rejected record or
    dropped annotation is a :class:`StrictError` and nothing is written. Inputs with no record converted (empty, or
    every record rejected) are an error, nothing written, unless ``allow_empty``.
    """
    reader_type = get_reader(format_name)
    all_options = dict(options or {})
    if fields:
        if "fields" not in {f for f in reader_type.Options.__dataclass_fields__}:
            known = ", ".join(reader_type.Options.__dataclass_fields__)
            raise ConfigError(f"format {format_name!r} has no field mapping; its options: {known}")
        all_options["fields"] = {**all_options.get("fields", {}), **fields}
    splits: dict[str, list[SourceFile]] = {}
    check_name(name, "--name")
    for path in inputs:
        check_path(path)  # a mistyped --input: "file not found", naming it (not "is the mirror complete?")
        chosen = check_name(split, "--split") if split else split_from_filename(path)
        if chosen is None:
            raise ConfigError(f"{path}: cannot tell the split from the file name; pass --split")
        # the path exactly as given (never resolved: resolving follows symbolic links, and rejections, errors and
        # info.json must name the file the user gave); a relative path stays relative to the working folder
        splits.setdefault(chosen, []).append(SourceFile(str(path)))
    source = Source(format=format_name, splits={k: tuple(v) for k, v in splits.items()}, options=all_options)
    # Validation accepts any number of labels per record here; whether the corpus is multi-label is read off the data.
    given = tuple(labels or ())
    check = (
        LabelSet(classes=given, entity_types=given, relation_types=given, multi_label=True)
        if given
        else LabelSet(multi_label=True)
    )
    result = convert_source(name, source, Path(), language=language, labels=check, progress=progress)
    result.labels = infer_labels(result)
    if given:  # the declared list replaces the inferred one of the group this schema labels
        if result.schema == "kb":
            result.labels = dataclasses.replace(result.labels, entity_types=given)
        else:
            result.labels = dataclasses.replace(result.labels, classes=given)
    result.tasks = infer_tasks(result)
    if strict:
        check_strict([result])
    if not allow_empty:
        refuse_empty(result)
    with replacing(out, CONVERT, merge=True) as work:
        write_result(result, work, None)
        update_ledger(work, [result], previous=out)
    return result


def infer_labels(result: ConversionResult) -> LabelSet:
    """The label set the converted records use (for corpora without a declared one), sorted; multi-label when a
    text record has more than one label."""
    used = {group: tuple(sorted(labels)) for group, labels in observed_labels(result).items()}
    records = (record for split in result.records.values() for record in split)
    multi = any(isinstance(record, TextRecord) and len(record.labels) > 1 for record in records)
    return LabelSet(used["entity_types"], used["relation_types"], used["event_types"], used["classes"], multi)


def infer_tasks(result: ConversionResult) -> tuple[str, ...]:
    """Task types of an uncatalogued corpus, from what its records hold."""
    records = [record for split in result.records.values() for record in split]
    if result.schema == "kb":
        kb = [r for r in records if isinstance(r, KBRecord)]
        tasks = ["ner"] if any(r.entities for r in kb) else []
        tasks += ["re"] if any(r.relations for r in kb) else []
        return tuple(tasks + (["events"] if any(r.events for r in kb) else []))
    if result.schema == "text":
        return ("multilabel_classification",) if result.labels.multi_label else ("classification",)
    if result.schema == "pairs":
        scored = any(isinstance(r, PairsRecord) and r.score is not None for r in records)
        return ("sts",) if scored else ("pair_classification",)
    if result.schema == "qa":
        return tuple(sorted({f"qa_{r.type}" for r in records if isinstance(r, QARecord)}))
    return {"dialogue": ("dialogue",), "instruction": ("instruction",), "t2t": ("translation",)}.get(result.schema, ())
