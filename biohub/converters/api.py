"""The two ways to convert: catalogued corpora from a mirror, or an uncatalogued corpus of a known format."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from biohub.converters.base import Rejection, check_path
from biohub.converters.catalog import Source, SourceFile, load_catalog
from biohub.converters.convert import (
    ConversionResult,
    convert_entry,
    convert_source,
    observed_labels,
    refuse_empty,
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
    """Raise :class:`StrictError` when any result rejected a record, dropped an annotation or left annotations
    unaccounted for: one line with the counts and the first problem's file, line/record and reason."""
    rejected = dropped = unaccounted = 0
    firsts: list[str] = []  # the first problem of every result, then the unaccounted counts
    gaps: list[str] = []
    for result in results:
        for split in sorted(result.ledger):
            ledger = result.ledger[split]
            rejected, dropped = rejected + ledger.rejected, dropped + ledger.dropped
            unaccounted += ledger.unaccounted_total()
            gaps += ledger.unaccounted_lines(f"{result.dataset}/{split}")
        problem = next((p for p in result.problems if isinstance(p, Rejection) or p.dropped), None)
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
) -> list[ConversionResult]:
    """Convert catalog entries (all when ``names`` is None) from ``mirror`` into ``out``; with ``strict``, any
    rejected record or dropped annotation is a :class:`StrictError` and nothing is written; a corpus with no record
    converted is an error (nothing written) unless ``allow_empty``."""
    check_path(mirror)  # a missing mirror or one that is a symbolic link loop: say so, not "missing source file"
    entries = load_catalog(catalog)
    selected = list(entries) if names is None else list(names)
    unknown = [name for name in selected if name not in entries]
    if unknown:
        raise UnknownNameError(f"unknown dataset(s) {', '.join(unknown)}; see `biohub datasets`")
    results = [convert_entry(entries[name], mirror, verify=verify, progress=progress) for name in selected]
    if strict:
        check_strict(results)
    if not allow_empty:
        for result in results:
            refuse_empty(result, mirror)
    with replacing(out, CONVERT, merge=True) as work:  # nothing appears in ``out`` before every dataset is converted
        for result in results:
            write_result(result, work, mirror)
        update_ledger(work, results, previous=out)
    return results


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
