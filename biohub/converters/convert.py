"""Run a reader over a source, check every record, and write parquet files, rejections and the ledger.

``convert_source`` is the one place where records are validated (BigBio invariants, declared labels) and
counted; record ids are made unique by the readers' reject loop (``Reader.rejecting``), and only asserted here.
``write_result`` writes ``OUT/<dataset>/<split>.parquet``, ``OUT/<dataset>/rejections.jsonl`` (every rejected
record and dropped annotation with file, locator and reason), ``OUT/<dataset>/info.json`` (format, options,
source sha256s) and a catalogued corpus' vocabularies (``OUT/<dataset>/vocabularies/<name>.parquet``,
:mod:`biohub.converters.vocabulary`); ``update_ledger`` merges the per-split counts into ``OUT/ledger.json``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

import biohub
from biohub.converters.archives import split_member_path
from biohub.converters.base import ConvertError, Defect, ReadContext, Rejection, annotation_counts, check_path, load_json
from biohub.converters.catalog import CatalogEntry, DeriveSplits, Source, SourceFile, tree_sha256
from biohub.converters.ledger import SplitLedger, record_counts
from biohub.converters.registry import get_reader
from biohub.converters.vocabulary import VOCABULARY_FEATURES, VocabularyTable, read_vocabulary
from biohub.errors import ConfigError
from biohub.io import InputError, write_json, write_jsonl, write_parquet
from biohub.outputs import inside
from biohub.schema import KBRecord, LabelSet, PairsRecord, Record, TextRecord, features_for, to_row, validate
from biohub.text import seeded_fraction


@dataclass
class ConversionResult:
    """Everything one conversion produced, before it is written."""

    dataset: str
    schema: str
    format: str
    options: dict[str, Any]
    records: dict[str, list[Record]] = field(default_factory=dict)
    ledger: dict[str, SplitLedger] = field(default_factory=dict)
    problems: list[Rejection | Defect] = field(default_factory=list)
    files: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    labels: LabelSet = field(default_factory=LabelSet)
    tasks: tuple[str, ...] = ()
    declared_splits: list[str] = field(default_factory=list)
    vocabularies: list[VocabularyTable] = field(default_factory=list)

    def split_ledger(self, split: str) -> SplitLedger:
        """The ledger of ``split``, created empty on first use."""
        return self.ledger.setdefault(split, SplitLedger())

    def every_problem(self) -> list[Rejection | Defect]:
        """The records' problems, then those of the vocabulary rows (what ``rejections.jsonl`` lists)."""
        return [*self.problems, *(item for table in self.vocabularies for item in table.problems)]

    @property
    def rejected(self) -> int:
        """Source records rejected over all splits."""
        return sum(ledger.rejected for ledger in self.ledger.values())


# --------------------------------------------------------------------------------------------- splits
def _split_assigner(dataset: str, derive: DeriveSplits, mirror: Path) -> Callable[[str], str]:
    if derive.method == "id_file":
        assert derive.file is not None
        listed = load_json(_resolve(mirror, derive.file))
        ids = {str(key) for key in listed}
        return lambda document_id: derive.in_split if document_id in ids else derive.rest
    bounds: list[tuple[float, str]] = []
    total = 0.0
    for split, ratio in derive.ratios.items():
        total += ratio
        bounds.append((total, split))

    def by_hash(document_id: str) -> str:
        position = seeded_fraction(dataset, document_id)
        return next(split for bound, split in bounds if position < bound or bound == bounds[-1][0])

    return by_hash


_SPLIT_WORDS = {
    "train": "train", "training": "train", "trainset": "train", "trainingset": "train",
    "dev": "validation", "devel": "validation", "development": "validation", "developset": "validation",
    "developmentset": "validation", "valid": "validation", "validation": "validation", "val": "validation",
    "test": "test", "testing": "test", "testset": "test",
}


def split_from_filename(path: Path) -> str | None:
    """train / validation / test from the words of a file name (``devel.tsv``, ``KUAKE-QIC_dev.json``,
    ``test_set.jsonl``); None when no word names a split, or words of two different splits do."""
    words = re.split(r"[^a-z0-9]+", path.stem.lower())
    found = {_SPLIT_WORDS[word] for word in words if word in _SPLIT_WORDS}
    return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------------------------- conversion
def _resolve(mirror: Path, source_file: SourceFile) -> Path:
    """The source file's path under ``mirror`` (as given when it is absolute); missing: an error saying so, a
    path that cannot be followed (symbolic link loop, broken link): an error naming it."""
    path = mirror / source_file.path
    file = on_disk(path)
    if not file.is_symlink() and not file.exists():
        raise ConvertError(file, "missing source file (is the mirror complete?)")
    check_path(path)
    return path


def on_disk(path: Path) -> Path:
    """The file on disk a source path reads: the archive of an ``ARCHIVE!MEMBER`` path, else the path itself."""
    parts = split_member_path(path)
    return path if parts is None else parts[0]


def source_bytes(entry: CatalogEntry, mirror: Path) -> int:
    """The size on disk of a corpus's source files (a folder counts the files under it, an ``ARCHIVE!MEMBER`` its
    archive): the work its conversion is likely to take, for giving the biggest corpora to workers first. A path that
    cannot be read counts 0 (its conversion says why)."""
    total = 0
    for source in (entry.source, *entry.more_sources):
        for files in source.splits.values():
            for source_file in files:
                path = on_disk(mirror / source_file.path)
                try:
                    if path.is_dir():
                        total += sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
                    else:
                        total += path.stat().st_size
                except OSError:
                    pass
    return total


def _checked_files(mirror: Path, files: Iterable[SourceFile], verify: bool) -> tuple[list[Path], list[dict[str, str]]]:
    paths, records = [], []
    for source_file in files:
        path = _resolve(mirror, source_file)
        digest = tree_sha256(on_disk(path))  # an ARCHIVE!MEMBER source is checked by its archive's sha256
        if verify and source_file.sha256 and digest != source_file.sha256:
            raise ConvertError(on_disk(path), f"sha256 mismatch: catalog says {source_file.sha256}, file has {digest}")
        paths.append(path)
        records.append({"path": source_file.path, "sha256": digest})
    return paths, records


def convert_source(
    dataset: str,
    sources: Source | Sequence[Source],
    mirror: Path,
    *,
    language: str,
    labels: LabelSet,
    schema: str | None = None,
    verify: bool = True,
    progress: bool = True,
    raw_sink: dict[str, str] | None = None,
) -> ConversionResult:
    """Read every split of every source, validate and count every item, and return the result.

    Several sources (of one schema) make one dataset: their records share the id space and the ledger.
    ``raw_sink``, when given, collects record id -> verbatim source text of every record the readers yield.
    """
    sources = [sources] if isinstance(sources, Source) else list(sources)
    readers = [get_reader(s.format).from_mapping(s.options, f"options of {dataset}") for s in sources]
    produced = {reader.output_schema() for reader in readers}
    if len(produced) != 1 or (schema is not None and produced != {schema}):
        raise ConfigError(
            f"{dataset}: formats {[s.format for s in sources]} produce {sorted(produced)} records, catalog says {schema!r}"
        )
    result = ConversionResult(dataset, produced.pop(), "+".join(s.format for s in sources), _options(sources), labels=labels)
    ids_given: dict[str, tuple[Path | str, Any]] = {}  # one store of record ids for the reads of every source and split
    seen_ids: set[str] = set()
    bar = tqdm(desc=dataset, unit="rec", disable=not progress or None, leave=False)
    for source, reader in zip(sources, readers):
        if source.derive_splits and source.derive_splits.file:
            _checked_files(mirror, [source.derive_splits.file], verify)
        split_of = _split_assigner(dataset, source.derive_splits, mirror) if source.derive_splits else None
        derive = source.derive_splits
        declared = list(source.splits) if derive is None else list(derive.ratios) or [derive.in_split, derive.rest]
        result.declared_splits.extend(split for split in declared if split not in result.declared_splits)
        for split, files in source.splits.items():
            paths, file_records = _checked_files(mirror, files, verify)
            result.files.setdefault(split, []).extend(file_records)
            ctx = ReadContext(dataset, split, source.language or language, labels, split_of, raw_sink, ids_given=ids_given)
            if split_of is None:
                result.split_ledger(split)
            last = ""
            locate = _locator(paths)
            try:
                for item in reader.read(paths, ctx):
                    bar.update(1)
                    last = _where(item)
                    _account(result, item, labels, seen_ids, locate)
            except RecursionError:
                # a source nested more deeply than Python's recursion limit that the reader's own checks let through
                after = f" after {last}" if last else ""
                reason = f"input nested too deeply to convert (RecursionError){after}"
                raise ConvertError(" + ".join(map(str, paths)), reason) from None
            for read_split, tally in ctx.annotations_read.items():
                result.split_ledger(read_split).annotations_read.update(tally)
            for read_split, tally in ctx.annotations_rejected.items():
                result.split_ledger(read_split).annotations_rejected.update(tally)
    bar.close()
    for split, ledger in result.ledger.items():
        ledger.counts = record_counts(result.records.get(split, []))
    return result


def refuse_empty(result: ConversionResult, mirror: Path | None = None) -> None:
    """Raise an :class:`InputError` when not one record was converted (empty inputs, or every record rejected), naming
    the inputs (under ``mirror`` for a catalogued corpus), the counts, the main rejection reasons and the first
    rejection. Callers skip this check only when the user asked for empty output (``--allow-empty``)."""
    if any(ledger.converted for ledger in result.ledger.values()):
        return
    files = ", ".join(str((mirror or Path()) / f["path"]) for files in result.files.values() for f in files) or "no files"
    rejections = [item for item in result.problems if isinstance(item, Rejection)]
    if not rejections:
        what = f"{result.dataset}: no records in {files} (empty input)"
    else:
        reasons = Counter(item.reason for item in rejections).most_common(3)
        first = rejections[0]
        what = (f"{result.dataset}: every record of {files} was rejected ({len(rejections):,} rejected: "
                f"{', '.join(f'{reason} {n:,}' for reason, n in reasons)}; the first: {first.path}:{first.locator} "
                f"{first.detail or first.reason})")
    raise InputError(f"{what}; nothing written; pass --allow-empty to write an empty dataset anyway")


def _where(item: Record | Rejection | Defect) -> str:
    """The place of an item, for an error about what follows it."""
    if isinstance(item, (Rejection, Defect)):
        return f"{Path(item.path).name} {item.locator}"
    path, locator = _source_of(item)
    return f"{path} {locator}".strip()


def _options(sources: list[Source]) -> dict[str, Any]:
    if len(sources) == 1:
        return dict(sources[0].options)
    return {s.format: dict(s.options) for s in sources}


def _locator(inputs: Sequence[Path]) -> Callable[[str], str]:
    """Map the file name a record notes in ``meta.source`` (a base name) back to the input it was read from, as given:
    the input itself, or the file of that name under an input folder (the first in path order); else the name."""
    found: dict[str, str] = {}

    def locate(name: str) -> str:
        if name not in found:
            files = [path for path in inputs if path.name == name and not path.is_dir()]
            for folder in (path for path in inputs if not files and path.is_dir()):
                files += sorted(p for p in folder.rglob("*") if p.name == name)
            found[name] = str(files[0]) if files else name
        return found[name]

    return locate


def _account(
    result: ConversionResult, item: Record | Rejection | Defect, labels: LabelSet, seen: set[str],
    locate: Callable[[str], str] = str,
) -> None:
    if isinstance(item, Defect):
        result.split_ledger(item.split).add_defect(item)
        result.problems.append(item)
        return
    if isinstance(item, Rejection):
        result.split_ledger(item.split).add_rejection(item)
        result.problems.append(item)
        return
    if item.id in seen:  # Reader.rejecting gives each id once; a record yielded around it is a reader bug
        path, _ = _source_of(item)
        raise ConvertError(locate(path) if path else result.dataset, f"record id {item.id} yielded twice (a reader bug)")
    seen.add(item.id)
    problems = validate(item, labels)
    if problems:
        path, locator = _source_of(item)
        rejection = Rejection(locate(path) if path else path, locator, "invalid record", "; ".join(problems[:5]), item.split)
        _account(result, rejection, labels, seen)
        result.split_ledger(item.split).annotations_rejected.update(annotation_counts(item))
        return
    result.records.setdefault(item.split, []).append(item)
    result.split_ledger(item.split).converted += 1


def _source_of(record: Record) -> tuple[str, str]:
    """The file and line/record a reader noted in ``meta.source`` (else the record id)."""
    try:
        where = json.loads(record.meta).get("source", {})
    except (json.JSONDecodeError, AttributeError):
        where = {}
    return str(where.get("path", "")), str(where.get("line", where.get("record", record.id)))


def convert_entry(
    entry: CatalogEntry,
    mirror: Path,
    *,
    alternate: str | None = None,
    verify: bool = True,
    progress: bool = True,
    raw_sink: dict[str, str] | None = None,
) -> ConversionResult:
    """Convert a catalog entry's reference source (or one of its alternates)."""
    sources = [entry.source, *entry.more_sources] if alternate is None else [entry.alternate(alternate).source]
    schema = entry.schema if alternate is None else None
    result = convert_source(
        entry.name,
        sources,
        mirror,
        language=entry.languages[0],
        labels=entry.labels,
        schema=schema,
        verify=verify,
        progress=progress,
        raw_sink=raw_sink,
    )
    result.tasks = entry.tasks
    if alternate is None:
        for vocabulary in entry.vocabularies:
            (path,), (checked,) = _checked_files(mirror, [vocabulary.file], verify)
            result.vocabularies.append(read_vocabulary(entry.name, vocabulary, path, checked["sha256"]))
    return result


# --------------------------------------------------------------------------------------------- writing
def _relative(path: str, mirror: Path | None) -> str:
    """``path`` relative to the mirror it was read from, else exactly as given. Never resolved: resolving
    follows symbolic links and would name a file the user did not give."""
    if mirror is None:
        return path
    try:
        return Path(path).relative_to(mirror).as_posix()
    except ValueError:
        return path


def write_result(result: ConversionResult, out: Path, mirror: Path | None) -> None:
    """Write ``OUT/<dataset>/{<split>.parquet, rejections.jsonl, info.json}`` (and ``vocabularies/<name>.parquet``)
    atomically. Problems name their file relative to ``mirror`` (catalogued corpora), or as the reader was given it
    (``mirror=None``)."""
    folder = inside(out, out / result.dataset)
    features = features_for(result.schema)
    # Every declared split gets a file (empty if all its records were rejected); a source group of a corpus with
    # derived splits appears in the ledger only when it holds rejections that belong to no document, and gets none.
    for split in sorted(set(result.declared_splits) | set(result.records)):
        rows = [to_row(record) for record in result.records.get(split, [])]
        try:
            write_parquet(inside(folder, folder / f"{split}.parquet"), rows, features)
        except UnicodeEncodeError as exc:  # a lone surrogate (a JSON "\ud800" escape): name the record's file and line
            raise _unencodable(result, split, rows, mirror, exc) from None
    for table in result.vocabularies:
        write_parquet(inside(folder, folder / "vocabularies" / f"{table.name}.parquet"), table.rows(), VOCABULARY_FEATURES)
    problems = []
    for item in result.every_problem():
        row = asdict(item)
        row["kind"] = "rejection" if isinstance(item, Rejection) else "defect"
        row["path"] = _relative(item.path, mirror)
        problems.append(row)
    write_jsonl(folder / "rejections.jsonl", problems)
    write_json(folder / "info.json", conversion_info(result))


def conversion_info(result: ConversionResult) -> dict[str, Any]:
    """The content of a converted dataset's ``info.json``: format, options, source files with their sha256s, declared
    and observed labels, tasks, splits and the vocabularies (file, sha256 and ledger of each, by name; only when the
    corpus has any). ``biohub instruct`` reads it back from the file and ``biohub build`` takes
    it from the conversion it ran, both through ``biohub.templates.tasks.DatasetInfo.from_info``."""
    info: dict[str, Any] = {
        "dataset": result.dataset,
        "schema": result.schema,
        "format": result.format,
        "options": result.options,
        "files": result.files,
        "labels": asdict(result.labels),
        "observed_labels": observed_labels(result),
        "tasks": list(result.tasks),
        "splits": sorted(set(result.declared_splits) | set(result.records)),
        "biohub_version": biohub.__version__,
    }
    if result.vocabularies:
        info["vocabularies"] = {table.name: table.to_json() for table in result.vocabularies}
    return info


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unencodable(result: ConversionResult, split: str, rows: list[dict[str, Any]], mirror: Path | None,
                 exc: UnicodeEncodeError) -> ConvertError:
    """The error for a split that UTF-8 cannot encode, naming the first record holding a lone surrogate: its input file
    (as given, or under ``mirror``) and line or record."""
    inputs = [(mirror or Path()) / f["path"] for f in result.files.get(split, [])]
    for record, row in zip(result.records.get(split, []), rows):
        if _SURROGATE.search(json.dumps(row, ensure_ascii=False)):
            name, locator = _source_of(record)
            where = _locator(inputs)(name) if name else " + ".join(map(str, inputs))
            reason = f"record {record.id} holds a lone surrogate ({exc.reason}: {exc.object[exc.start:exc.end]!a}), "
            return ConvertError(where, reason + "which UTF-8 cannot store; fix the source text", line=_line(locator))
    return ConvertError(" + ".join(map(str, inputs)), f"text that UTF-8 cannot store ({exc.reason})")


def _line(locator: str) -> int | None:
    """A locator's line number (None for a record key)."""
    return int(locator) if locator.isdigit() else None


def observed_labels(result: ConversionResult) -> dict[str, list[str]]:
    """The labels the converted records actually use, in declared order (then first-seen order): the one place the
    labels in use are read off the records (``info.json``, the datasets' info, and labels inferred for uncatalogued
    corpora all come from here)."""
    groups = ("entity_types", "relation_types", "event_types", "modification_types", "classes")
    seen: dict[str, dict[str, None]] = {group: {} for group in groups}
    for split in sorted(result.records):
        for record in result.records[split]:
            if isinstance(record, KBRecord):
                seen["entity_types"].update(dict.fromkeys(e.type for e in record.entities))
                seen["relation_types"].update(dict.fromkeys(r.type for r in record.relations))
                seen["event_types"].update(dict.fromkeys(e.type for e in record.events))
                events = {e.id for e in record.events}  # the modifications of events (not of entities)
                seen["modification_types"].update(dict.fromkeys(m.type for m in record.modifications if m.ref_id in events))
            elif isinstance(record, TextRecord):
                seen["classes"].update(dict.fromkeys(record.labels))
            elif isinstance(record, PairsRecord) and record.label:
                seen["classes"][record.label] = None
    declared = asdict(result.labels)
    ordered = {}
    for group, found in seen.items():
        order = {label: index for index, label in enumerate(declared.get(group, ()))}  # (modifications: undeclared)
        ordered[group] = sorted(found, key=lambda label: (order.get(label, len(order)), list(found).index(label)))
    return ordered


def update_ledger(out: Path, results: Iterable[ConversionResult], previous: Path | None = None) -> dict[str, Any]:
    """Merge these results into ``OUT/ledger.json`` (other datasets already there, or in ``PREVIOUS/ledger.json``
    when the output is staged beside its folder, are kept). The ledger is the conversion's completion record: it is
    written last, and consumers (``instruct``) refuse a folder without it."""
    path = out / "ledger.json"
    old = (previous or out) / "ledger.json"
    ledger: dict[str, Any] = load_json(old) if old.exists() else {}  # a corrupt ledger: an error naming it and the line
    for result in results:
        ledger[result.dataset] = {split: result.ledger[split].to_json() for split in sorted(result.ledger)}
    write_json(path, ledger)
    return ledger
