"""The corpus catalog: one YAML file per dataset, validated on load.

The entries live in ``converters/corpora/<name>.yaml``. An entry names the dataset (= its folder in the mirror),
says what it is (languages, tasks, schema, license, homepage, citation, labels, official metric) and where its data
are: a *reference* source (format, reader options, files per split relative to the mirror root, each with its
sha256) and optional ``more_sources`` whose records join the reference's (a corpus shipped in two parts of different
formats, e.g. CMB-Exam + CMB-Clin), and optional *alternate* sources in other formats, which tests convert and
compare with the reference. ``expected``
holds the counts stated in the corpus' SOURCE.md; ``known_rejections`` / ``known_defects`` list upstream
defects with exact counts. ``vocabularies`` lists the tables of standard terms a corpus' normalisations choose from
(e.g. CHIP-CDN's ICD-10 list), converted beside its records (:class:`Vocabulary`, :mod:`biohub.converters.vocabulary`).

Unknown keys are errors, so a typo in a catalog file fails loudly instead of being ignored.
"""

from __future__ import annotations

import hashlib
import re
import stat
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args

from biohub.converters.base import ConvertError, check_path, folder_files, os_reason
from biohub.converters.formats.csv_table import CsvReader
from biohub.converters.problems import reason_of
from biohub.errors import BiohubError, ConfigError, UnknownNameError
from biohub.schema import LANGUAGES, SCHEMAS, SPLIT_PATTERN, LabelSet
from biohub.typed import from_mapping, read_yaml

Task = Literal[
    "ner",
    "re",
    "relation_classification",
    "event_extraction",
    "classification",
    "multilabel_classification",
    "pair_classification",
    "sts",
    "qa_yesno",
    "qa_multiple_choice",
    "qa_factoid",
    "qa_list",
    "qa_summary",
    "qa_open",
    "dialogue",
    "instruction",
    "translation",
    "entailment",
    "answer_selection",
    "events",
    "coreference",
    "summarization",
    "normalization",
    "text_to_structure",
]
TASKS: tuple[str, ...] = get_args(Task)


class CatalogError(BiohubError, ValueError):
    """A catalog file is malformed; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file or folder relative to the mirror root; a folder's sha256 is :func:`tree_sha256`."""

    path: str
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class DeriveSplits:
    """How to split a corpus published without splits.

    ``method: id_file`` puts records whose document id is listed in ``file`` (a JSON object or array of
    ids) into ``in_split`` and the rest into ``rest``; ``method: hash`` assigns each document id by a
    sha256-based hash to the splits of ``ratios`` (deterministic, stateless, documents never straddle).
    """

    method: Literal["id_file", "hash"]
    file: SourceFile | None = None
    in_split: str = "test"
    rest: str = "train"
    ratios: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Source:
    """A format + reader options + the files of each split."""

    format: str
    splits: dict[str, tuple[SourceFile, ...]]
    options: dict[str, Any] = field(default_factory=dict)
    derive_splits: DeriveSplits | None = None
    language: str | None = None


VOCABULARY_OPTIONS = ("delimiter", "encoding", "header", "columns", "sheet", "quoting", "strip")
VOCABULARY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A table of the standard terms a corpus' normalisations choose from, converted beside its records.

    ``name``: the database name the corpus' normalisations carry (``Normalization.db_name``), which also names the
    output ``OUT/<dataset>/vocabularies/<name>.parquet`` (letters, digits, ``_``, ``.``, ``-``); ``file``: the table,
    relative to the mirror root, with its sha256: a CSV/TSV file or an ``.xlsx`` worksheet (read values-only), also as
    an ``ARCHIVE!MEMBER``; ``code`` / ``term``: the columns holding a row's code and term (header names, or names
    given by ``columns``); ``options``: the file's shape, as the ``csv`` format's options of that name
    (:data:`VOCABULARY_OPTIONS`: ``delimiter``, ``encoding``, ``header``, ``columns``, ``sheet``, ``quoting``,
    ``strip``); ``expected``: the counts SOURCE.md states (``read``: rows read, ``terms``: rows kept, ``codes``:
    distinct codes). One row is one (code, term) term; a row without its code or term, or of the wrong width, is a
    rejection with its row number."""

    name: str
    file: SourceFile
    code: str
    term: str
    options: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)

    def reader_options(self) -> dict[str, Any]:
        """The options of the ``csv`` reader that reads this table: each row a pair of (code, term)."""
        fields = {"text_1": self.code, "text_2": self.term}
        return {**self.options, "schema": "pairs", "fields": fields, "extra_to_meta": False, "key_prefix": self.name}


@dataclass(frozen=True, slots=True)
class Alternate:
    """Another distribution of (part of) the corpus, converted by tests and compared with the reference."""

    name: str
    source: Source
    expected: dict[str, dict[str, Any]] = field(default_factory=dict)
    known_rejections: dict[str, dict[str, int]] = field(default_factory=dict)
    known_defects: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: str = ""


@dataclass(frozen=True, slots=True)
class License:
    """The corpus' licence as cards and ``biohub info`` show it; ``non_commercial`` flags research-only terms."""

    name: str
    non_commercial: bool
    url: str = ""
    note: str = ""


MetricName = Literal[
    "micro_f1", "macro_f1", "accuracy", "f1", "pearson", "rouge_l", "task_average", "per_type", "none", "human_evaluation",
    "spearman", "bleu",
]


@dataclass(frozen=True, slots=True)
class Metric:
    """The dataset's official metric (what papers report), one of :data:`MetricName`; ``note`` says exactly how."""

    name: MetricName
    note: str = ""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One validated catalog file: what the dataset is, where its sources lie and the counts it must convert to."""

    name: str
    display_name: str
    languages: tuple[str, ...]
    tasks: tuple[str, ...]
    schema: str
    license: License
    homepage: str
    citation: str
    metric: Metric
    source: Source
    labels: LabelSet = field(default_factory=LabelSet)
    more_sources: tuple[Source, ...] = ()
    alternates: tuple[Alternate, ...] = ()
    expected: dict[str, dict[str, Any]] = field(default_factory=dict)
    known_rejections: dict[str, dict[str, int]] = field(default_factory=dict)
    known_defects: dict[str, dict[str, int]] = field(default_factory=dict)
    vocabularies: tuple[Vocabulary, ...] = ()
    notes: str = ""

    @property
    def splits(self) -> list[str]:
        """The splits the reference (and any more) sources produce, derived ones included, in catalog order."""
        names: list[str] = []
        for source in (self.source, *self.more_sources):
            derive = source.derive_splits
            produced = list(source.splits) if derive is None else list(derive.ratios) or [derive.in_split, derive.rest]
            names.extend(name for name in produced if name not in names)
        return names

    def alternate(self, name: str) -> Alternate:
        """The alternate source called ``name``; an unknown name is an :class:`~biohub.errors.UnknownNameError`."""
        for alt in self.alternates:
            if alt.name == name:
                return alt
        raise UnknownNameError(f"{self.name} has no alternate source {name!r}")


# --------------------------------------------------------------------------------------------- loading
_Built = TypeVar("_Built")


def _build(cls: type[_Built], data: Any, where: str, convert: dict[str, Any] | None = None) -> _Built:
    """Instantiate dataclass ``cls`` from ``data`` strictly (unknown or missing keys are errors)."""
    try:
        return cast(_Built, from_mapping(cls, data, where, convert))  # from_mapping returns a ``cls`` or raises
    except TypeError as exc:
        raise CatalogError(str(exc) if str(exc).startswith(where) else f"{where}: {exc}") from None


def _source_file(data: Any, where: str) -> SourceFile:
    if isinstance(data, str):
        return SourceFile(path=data)
    return _build(SourceFile, data, where)


def _files(data: Any, where: str) -> tuple[SourceFile, ...]:
    if not isinstance(data, list) or not data:
        raise CatalogError(f"{where}: expected a non-empty list of files")
    return tuple(_source_file(item, f"{where}[{i}]") for i, item in enumerate(data))


def _splits(data: Any, where: str) -> dict[str, tuple[SourceFile, ...]]:
    if not isinstance(data, dict) or not data:
        raise CatalogError(f"{where}: expected a mapping of split -> files")
    for split in data:
        if not SPLIT_PATTERN.match(str(split)):
            raise CatalogError(f"{where}: invalid split name {split!r}")
    return {str(split): _files(files, f"{where}.{split}") for split, files in data.items()}


def _derive(data: Any, where: str) -> DeriveSplits:
    derive = _build(DeriveSplits, data, where, {"file": _source_file})
    if derive.method not in ("id_file", "hash"):
        raise CatalogError(f"{where}.method: expected id_file or hash, got {derive.method!r}")
    if derive.method == "id_file" and derive.file is None:
        raise CatalogError(f"{where}: method id_file needs a file")
    if derive.method == "hash" and abs(sum(derive.ratios.values()) - 1.0) > 1e-9:
        raise CatalogError(f"{where}.ratios: must sum to 1, got {sum(derive.ratios.values())}")
    return derive


def _source(data: Any, where: str) -> Source:
    source = _build(Source, data, where, {"splits": _splits, "derive_splits": _derive})
    if source.derive_splits is not None and len(source.splits) != 1:
        raise CatalogError(f"{where}: derive_splits needs exactly one source group under splits")
    if source.language is not None and source.language not in LANGUAGES:
        raise CatalogError(f"{where}.language: {source.language!r} not in {LANGUAGES}")
    return source


def _labels(data: Any, where: str) -> LabelSet:
    return _build(LabelSet, data, where)


def _alternates(data: Any, where: str) -> tuple[Alternate, ...]:
    if not isinstance(data, list):
        raise CatalogError(f"{where}: expected a list")
    return tuple(_build(Alternate, item, f"{where}[{i}]", {"source": _source}) for i, item in enumerate(data))


def _vocabulary(data: Any, where: str) -> Vocabulary:
    vocabulary = _build(Vocabulary, data, where, {"file": _source_file})
    if not VOCABULARY_NAME.match(vocabulary.name):
        raise CatalogError(f"{where}.name: {vocabulary.name!r} is not a name (letters, digits, _, . and -)")
    unknown = sorted(set(vocabulary.options) - set(VOCABULARY_OPTIONS))
    if unknown:
        raise CatalogError(f"{where}.options: {', '.join(unknown)} not table options ({', '.join(VOCABULARY_OPTIONS)})")
    try:
        CsvReader.from_mapping(vocabulary.reader_options(), where)
    except ConfigError as exc:  # names ``where`` and the option
        raise CatalogError(str(exc)) from None
    return vocabulary


def _vocabularies(data: Any, where: str) -> tuple[Vocabulary, ...]:
    if not isinstance(data, list):
        raise CatalogError(f"{where}: expected a list")
    vocabularies = tuple(_vocabulary(item, f"{where}[{i}]") for i, item in enumerate(data))
    names = [vocabulary.name for vocabulary in vocabularies]
    if len(set(names)) != len(names):
        raise CatalogError(f"{where}: a name given twice ({', '.join(sorted(n for n in set(names) if names.count(n) > 1))})")
    return vocabularies


def parse_entry(data: Any, where: str) -> CatalogEntry:
    """Validate one catalog entry (already parsed from YAML)."""
    entry: CatalogEntry = _build(
        CatalogEntry,
        data,
        where,
        {
            "license": lambda v, w: _build(License, v, w),
            "metric": lambda v, w: _build(Metric, v, w),
            "source": _source,
            "more_sources": lambda v, w: tuple(_source(x, f"{w}[{i}]") for i, x in enumerate(v)),
            "labels": _labels,
            "alternates": _alternates,
            "vocabularies": _vocabularies,
        },
    )
    for language in entry.languages:
        if language not in LANGUAGES:
            raise CatalogError(f"{where}.languages: {language!r} not in {LANGUAGES}")
    for task in entry.tasks:
        if task not in TASKS:
            raise CatalogError(f"{where}.tasks: unknown task {task!r}; known: {', '.join(TASKS)}")
    if entry.schema not in SCHEMAS:
        raise CatalogError(f"{where}.schema: {entry.schema!r} not in {SCHEMAS}")
    _check_reasons(entry.known_rejections, f"{where}.known_rejections")
    _check_reasons(entry.known_defects, f"{where}.known_defects")
    for index, alt in enumerate(entry.alternates):
        _check_reasons(alt.known_rejections, f"{where}.alternates[{index}].known_rejections")
        _check_reasons(alt.known_defects, f"{where}.alternates[{index}].known_defects")
    return entry


def _check_reasons(known: dict[str, dict[str, int]], where: str) -> None:
    """Every reason of a known-problem list (split -> reason -> count) is one of the converters' closed vocabulary."""
    for split, counts in known.items():
        for reason in counts:
            try:
                reason_of(reason)
            except ValueError as exc:
                raise CatalogError(f"{where}.{split}: {exc}") from None


def load_entry(path: Path) -> CatalogEntry:
    """Load and validate one catalog YAML file (``load_yaml``: safe, no duplicate keys)."""
    entry = parse_entry(read_yaml(path, CatalogError, "catalog entry"), str(path))
    if entry.name != path.stem:
        raise CatalogError(f"{path}: name {entry.name!r} must equal the file name {path.stem!r}")
    return entry


def catalog_dir() -> Path:
    """The folder of the built-in catalog."""
    return Path(str(resources.files("biohub.converters") / "corpora"))


def load_catalog(directory: Path | None = None) -> dict[str, CatalogEntry]:
    """Every entry of a catalog folder (the built-in one by default), sorted by name."""
    directory = directory or catalog_dir()
    try:
        check_path(directory)  # missing, or a symbolic link loop: say which
    except ConvertError as exc:
        raise CatalogError(str(exc)) from None
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise CatalogError(f"{directory}: no catalog entries (*.yaml)")
    return {entry.name: entry for entry in map(load_entry, paths)}


# --------------------------------------------------------------------------------------------- checksums
def file_sha256(path: Path) -> str:
    """sha256 of a file; a file that cannot be read (link loop, no permission) is a ``ConvertError`` naming it."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ConvertError(path, os_reason(exc, path)) from None
    return digest.hexdigest()


def tree_sha256(path: Path) -> str:
    """sha256 of a file, or of a folder: the sha256 of its sorted ``"<file sha256>  <relative path>\\n"`` lines
    (every file under it, symbolic links followed as the readers follow them; a link loop is an error)."""
    if not stat.S_ISDIR(check_path(path).st_mode):
        return file_sha256(path)
    lines = [f"{file_sha256(p)}  {p.relative_to(path).as_posix()}\n" for p in folder_files(path, lambda _: True)]
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
