"""What every format reader is: a small class with a typed options dataclass and one ``read`` method.

A reader turns source files into a stream of items, each one of

* a unified :mod:`biohub.schema` record (converted),
* a :class:`Rejection` (a whole source record that could not be converted, with file, locator and reason),
* a :class:`Defect` (an annotation inside a kept record that was dropped or repaired, with its reason).

Reasons come from one closed vocabulary, :class:`~biohub.converters.problems.Reason`. A reader converting one
record raises :class:`~biohub.converters.problems.RecordRejected`; :meth:`Reader.rejecting` (the reject loop)
turns it into the record's :class:`Rejection`.

A problem that makes a whole file unreadable (missing file, wrong encoding, truncated JSON) raises
:class:`ConvertError`, which names the file and, where known, the line. Nothing is dropped silently:
the converter counts every item into the ledger.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import stat
import sys
import xml.etree.ElementTree as ET
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast, get_type_hints

from defusedxml import DefusedXmlException, EntitiesForbidden
from defusedxml.ElementTree import DefusedXMLParser

from biohub.converters.archives import ArchiveError, expand_member_path, read_input_bytes, split_member_path
from biohub.converters.problems import Reason, RecordRejected, reason_of
from biohub.errors import BiohubError, ConfigError
from biohub.schema import KBRecord, LabelSet, Record, dump_meta
from biohub.typed import coerce

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class ConvertError(BiohubError):
    """A source cannot be read at all; the message names the file, the line/record and the reason."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None, record: str | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.record = record
        self.reason = reason
        where = self.path
        if line is not None:
            where += f":{line}"
        if record is not None:
            where += f" (record {record})"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, str, int | None, str | None]]:
        """Rebuilt from its fields, so the error crosses a process pool intact (a build's workers)."""
        return type(self), (self.path, self.reason, self.line, self.record)


@dataclass(slots=True)
class Rejection:
    """A source record that was not converted. ``reason`` is a short category (it keys the ledger);
    ``detail`` says what exactly was wrong; ``locator`` is a line number or record key."""

    path: str
    locator: str
    reason: str
    detail: str = ""
    split: str = ""


@dataclass(slots=True)
class Defect:
    """An annotation dropped from (or repaired in) a converted record, counted by ``reason``.

    ``dropped`` is True when something the source holds is not in the record as its own item: an annotation
    the reader cannot place, or a value of one (also an exact duplicate or an empty value removed); ``--strict``
    fails on those. A repair that keeps the annotation (whitespace trimmed, an offset shift corrected, a value
    normalised) has ``dropped=False``. ``annotation`` names the unit concerned, in the ledger's plural units
    (``entities``, ``relations``, ``events``, ``answers``, ``infons``, ...), so that for the units a reader
    counts the ledger accounts for every annotation read: ``read == converted + dropped + in rejected records``."""

    path: str
    locator: str
    reason: str
    detail: str = ""
    split: str = ""
    dropped: bool = True
    annotation: str = ""


Item = Record | Rejection | Defect


@dataclass(slots=True)
class ReadContext:
    """What a reader needs to know about the dataset it reads for.

    ``split`` is the source's split; when the corpus has no published splits, ``split_of`` maps a document
    id to its derived split. Readers build records with :meth:`common` and problems with :meth:`reject`
    and :meth:`defect`, so ids, splits and languages are made the same way everywhere.
    """

    dataset: str
    split: str
    language: str
    labels: LabelSet = field(default_factory=LabelSet)
    split_of: Callable[[str], str] | None = None
    raw_sink: dict[str, str] | None = None  # record id -> verbatim source text, collected only when a caller asks
    annotations_read: dict[str, Counter[str]] = field(default_factory=dict)  # split -> unit -> annotations read
    keys_read: dict[str, str] = field(default_factory=dict)  # source record key -> where it was first read
    # record id -> where the record given it was read; one store for a whole conversion (``convert_source`` hands the
    # same dict to the reads of every source and split), filled by :meth:`Reader.rejecting`
    ids_given: dict[str, tuple[Path | str, Any]] = field(default_factory=dict)
    annotations_rejected: dict[str, Counter[str]] = field(default_factory=dict)  # split -> unit -> in rejected records

    def count_read(self, document_id: str | None, **counts: int) -> None:
        """Note how many annotations of each unit (``entities=12, relations=3``) the reader read for the record
        of ``document_id`` it is about to yield; the ledger compares them with what was converted and dropped."""
        tally = self.annotations_read.setdefault(self.split_for(document_id), Counter())
        tally.update(counts)

    def read_before(self, key: str) -> str | None:
        """Where the source record ``key`` was already read in this read (so this one is a duplicate the reader
        rejects under its format's reason, e.g. ``duplicate PMID``, before converting it), or None. Record ids are
        kept unique dataset-wide in the same layer, by :meth:`Reader.rejecting` (:meth:`give_id`)."""
        return self.keys_read.get(key)

    def note_read(self, key: str, where: str = "") -> None:
        """Note that the source record ``key`` was read at ``where`` (a later record with that key is a duplicate)."""
        self.keys_read[key] = where

    def give_id(self, record: Record, where: tuple[Path | str, Any]) -> str | None:
        """Give ``record`` its id for this conversion: None when no record read before holds it (it is now this
        one's, read at ``where``: its file and locator), else where the record holding it was read, as
        ``"<file name> <locator>"`` (this one is a duplicate). The place is formatted only then: most ids are new."""
        first = self.ids_given.get(record.id)
        if first is None:
            self.ids_given[record.id] = where
            return None
        path, locator = first
        return f"{Path(path).name} {locator}"

    def count_rejected(self, record: Record) -> None:
        """Note the annotations inside ``record``, rejected after the reader read it (the ledger's
        ``in_rejected_records``)."""
        self.annotations_rejected.setdefault(record.split, Counter()).update(annotation_counts(record))

    def keep_raw(self, record_id: str, raw: Callable[[], str]) -> None:
        """Hand over the verbatim source text of a record (evaluated only when raw sources are being collected)."""
        if self.raw_sink is not None:
            self.raw_sink[record_id] = raw()

    def split_for(self, document_id: str | None) -> str:
        """The split a record of ``document_id`` belongs to: its derived split when the corpus has none, else the source's."""
        if self.split_of is not None and document_id is not None:
            return self.split_of(document_id)
        return self.split

    def record_id(self, key: str, document_id: str | None = None) -> str:
        """A dataset-unique record id built from the source's own record key."""
        return f"{self.dataset}.{self.split_for(document_id if document_id is not None else key)}.{key}"

    def common(
        self,
        key: str,
        document_id: str | None = None,
        *,
        labeled: bool = True,
        meta: dict[str, Any] | None = None,
        language: str | None = None,
    ) -> dict[str, Any]:
        """The common fields of a record whose source key is ``key`` (document id defaults to the key)."""
        document_id = key if document_id is None else document_id
        return {
            "id": self.record_id(key, document_id),
            "document_id": document_id,
            "dataset": self.dataset,
            "split": self.split_for(document_id),
            "language": language or self.language,
            "labeled": labeled,
            "meta": dump_meta(meta or {}),
        }

    def reject(
        self, path: Path | str, locator: Any, reason: Reason | str, detail: str = "", document_id: str | None = None
    ) -> Rejection:
        """The rejection of a whole source record; ``reason`` must be one of :class:`Reason` (else ``ValueError``)."""
        return Rejection(str(path), str(locator), reason_of(reason).value, detail, self.split_for(document_id))

    def defect(
        self,
        path: Path | str,
        locator: Any,
        reason: Reason | str,
        detail: str = "",
        document_id: str | None = None,
        *,
        dropped: bool = True,
        annotation: str = "",
    ) -> Defect:
        """A dropped annotation (``dropped=True``, the default) or a lossless repair (``dropped=False``); ``reason``
        must be one of :class:`Reason` (else ``ValueError``)."""
        return Defect(str(path), str(locator), reason_of(reason).value, detail, self.split_for(document_id), dropped, annotation)


@dataclass(slots=True)
class NoOptions:
    """Options of a reader that takes none."""


class Reader(ABC):
    """Base class of a format reader. Subclasses set ``name``, ``schema``, ``description`` and ``Options``."""

    name: ClassVar[str]
    schema: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type[DataclassInstance]] = NoOptions

    def __init__(self, options: Any | None = None) -> None:
        self.options: Any = options if options is not None else self.Options()

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any] | None, source: str = "options") -> Reader:
        """Build the reader from a plain mapping (catalog YAML or CLI); unknown keys are errors."""
        return cls(parse_options(cls.Options, mapping or {}, f"{source} of format {cls.name!r}"))

    def output_schema(self) -> str:
        """The schema of the records this reader (with its options) produces."""
        return self.schema

    @abstractmethod
    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """Yield one item per source record (plus defects) from ``paths`` (files or folders)."""

    @staticmethod
    def rejecting(
        ctx: ReadContext,
        path: Path | str,
        locator: Any,
        convert: Callable[[], Item | Iterable[Item]],
        *,
        document_id: str | None = None,
        prefix: str = "",
    ) -> Iterator[Item]:
        """The reject loop's body for one source record: the items ``convert()`` returns (one item, or several:
        a record and its defects), or, when it raises :class:`RecordRejected`, the record's one rejection.

        The rejection names ``path`` and ``locator`` (or the path and locator the exception carries) and belongs to
        ``document_id`` (or the exception's); its detail is ``prefix`` followed by the exception's detail. Defects
        ``convert`` produced before it raised stay counted. A kept record that lost annotations (dropped defects)
        says so in ``meta.dropped_annotations`` (unit -> count, see :func:`mark_dropped`).

        This is also the one place where record ids are kept unique in a dataset: a record whose id a record read
        earlier in the conversion (any source, any split) already holds is rejected (``duplicate id``), naming both
        places; ``convert`` only asserts that no id repeats after it. So every record a reader yields comes out of one
        ``rejecting`` call, and calls do not nest (a record would be given its id twice)."""
        produced: list[Item] = []
        try:
            made = convert()
            produced.extend([made] if isinstance(made, (Rejection, Defect)) or isinstance(made, Record) else made)
        except RecordRejected as problem:
            where = locator if problem.locator is None else problem.locator
            owner = document_id if problem.document_id is None else problem.document_id
            yield from produced
            at = path if problem.path is None else problem.path
            yield ctx.reject(at, where, problem.reason, prefix + problem.detail, document_id=owner)
            return
        lost: Counter[str] = Counter()
        if len(produced) > 1:  # one item alone is a record with no defect (or a defect with no record to mark)
            lost.update(item.annotation or "annotations" for item in produced if isinstance(item, Defect) and item.dropped)
        for item in produced:
            if isinstance(item, Record) and (first := ctx.give_id(item, (path, locator))) is not None:
                ctx.count_rejected(item)
                detail = f"{prefix}record id {item.id} already given to the record read at {first}"
                yield ctx.reject(path, locator, Reason.DUPLICATE_ID, detail, document_id=item.document_id)
                continue
            yield mark_dropped(item, lost) if lost and isinstance(item, Record) else item


def annotation_counts(record: Record) -> dict[str, int]:
    """The annotations a ``kb`` record holds per ledger unit (none for the other schemas)."""
    if not isinstance(record, KBRecord):
        return {}
    counts = {"entities": len(record.entities), "relations": len(record.relations), "events": len(record.events)}
    return counts | {"coreferences": len(record.coreferences), "modifications": len(record.modifications)}


def mark_dropped(record: Record, lost: Counter[str]) -> Record:
    """``record`` with ``meta.dropped_annotations`` (unit -> count) added: it is kept, but not fully labelled as
    its source was (an annotation the reader could not place was dropped; ``rejections.jsonl`` lists which)."""
    meta = json.loads(record.meta)
    meta["dropped_annotations"] = dict(sorted(lost.items()))
    return dataclasses.replace(record, meta=dump_meta(meta))


def parse_options(options_type: type, mapping: dict[str, Any], where: str) -> Any:
    """Validate a mapping against an options dataclass: unknown keys and wrongly typed values are errors."""
    known = {f.name: f for f in dataclasses.fields(options_type)}
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}")
    hints = get_type_hints(options_type)
    try:
        values = {key: coerce(value, hints[key], f"{where}: option {key!r}") for key, value in mapping.items()}
    except TypeError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return options_type(**values)
    except ValueError as exc:  # an option's own check (__post_init__): one value out of range, two that exclude each other
        raise ConfigError(str(exc)) from None


# --------------------------------------------------------------------------------------------- file helpers
def os_reason(exc: OSError, path: Path) -> str:
    """A short reason for an operating-system error on ``path`` (``symbolic link loop``, ``broken symbolic link``, ...)."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "broken symbolic link" if path.is_symlink() else "file not found"
    if exc.errno == errno.EISDIR:
        return "expected a file, found a folder"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return exc.strerror or type(exc).__name__


def check_path(path: Path) -> os.stat_result:
    """``path``'s status, following symbolic links; a loop, a broken link or a missing path is a :class:`ConvertError`.

    Python 3.11's ``Path.resolve`` raises ``RuntimeError`` on a link loop and ``exists``/``is_file`` answer False,
    so readers check their inputs here instead. An ``ARCHIVE!MEMBER`` input is checked as its archive."""
    parts = split_member_path(path)
    if parts is not None:
        return check_path(parts[0])
    try:
        return path.stat()
    except OSError as exc:
        raise ConvertError(path, os_reason(exc, path)) from None


def is_present(path: Path) -> bool:
    """Whether ``path`` exists (an optional partner file); a path that is there but cannot be followed (a link
    loop, a broken link) is a :class:`ConvertError`, never a silent "absent"."""
    if not path.is_symlink() and not os.path.lexists(path):
        return False
    check_path(path)
    return True


def folder_files(folder: Path, wanted: Callable[[Path], bool], *, recursive: bool = True) -> list[Path]:
    """The regular files under ``folder`` that ``wanted`` accepts, following symbolic links, sorted by path.

    Nothing is skipped silently: an entry that ``wanted`` accepts but cannot be followed (broken link, no
    permission), any symbolic link loop, and a linked folder that leads back to a folder above it are
    errors (:class:`ConvertError`) naming the entry."""
    root = check_path(folder)
    if not stat.S_ISDIR(root.st_mode):
        raise ConvertError(folder, "expected a folder")
    found: list[Path] = []
    stack: list[tuple[Path, frozenset[tuple[int, int]]]] = [(folder, frozenset({(root.st_dev, root.st_ino)}))]
    while stack:
        directory, ancestors = stack.pop()
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            raise ConvertError(directory, f"cannot list the folder: {os_reason(exc, directory)}") from None
        for name in names:
            path = directory / name
            try:
                info = path.stat()
            except OSError as exc:
                if exc.errno == errno.ELOOP or wanted(path):
                    raise ConvertError(path, os_reason(exc, path)) from None
                continue  # a broken link whose name the reader would not read anyway
            if stat.S_ISDIR(info.st_mode):
                if not recursive:
                    continue
                if (info.st_dev, info.st_ino) in ancestors:
                    raise ConvertError(path, "symbolic link loop (a linked folder leads back to a folder above it)")
                stack.append((path, ancestors | {(info.st_dev, info.st_ino)}))
            elif stat.S_ISREG(info.st_mode) and wanted(path):
                found.append(path)
    return sorted(found)


def read_bytes(path: Path) -> bytes:
    """A whole file's bytes, or an ``ARCHIVE!MEMBER``'s (:mod:`~biohub.converters.archives`, read in memory); a
    missing file, a folder, a link loop, an unreadable file or a refused archive is a :class:`ConvertError`."""
    try:
        member = read_input_bytes(path)
    except ArchiveError as exc:
        raise ConvertError(path, str(exc)) from None
    if member is not None:
        return member
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConvertError(path, os_reason(exc, path)) from None


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """Read a whole text file; a missing file or a wrong encoding becomes a :class:`ConvertError`."""
    raw = read_bytes(path)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConvertError(path, f"not valid {encoding} (byte {exc.start}); wrong encoding?", line=line) from None
    return text.removeprefix("\ufeff")


def read_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """The file's lines without their line endings (``\\r\\n`` and ``\\n`` both handled)."""
    return read_text(path, encoding).splitlines()


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def json_nesting(text: str) -> tuple[int, int]:
    """The deepest bracket nesting of a JSON text and the character offset where it is first reached (strings
    skipped). Used to say where a document too deeply nested for the parser goes too deep."""
    depth, deepest, where = 0, 0, 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, match.start()
        elif token in "]}":
            depth -= 1
    return deepest, where


def _too_deep(path: Path, text: str, line_offset: int = 0, what: str = "JSON") -> ConvertError:
    """The error for a JSON text the parser gave up on (RecursionError), naming the line and column of its deepest point."""
    deepest, where = json_nesting(text)
    line = text.count("\n", 0, where) + 1
    column = where - (text.rfind("\n", 0, where) + 1) + 1
    limit = sys.getrecursionlimit()
    reason = f"{what} nested too deeply to parse ({deepest} levels, deepest at column {column}; the parser allows about {limit})"
    return ConvertError(path, reason, line=line + line_offset)


def parse_json(
    path: Path,
    text: str,
    line_offset: int = 0,
    what: str = "invalid JSON",
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """``json.loads`` with every failure a :class:`ConvertError` naming the file and line: syntax errors and
    documents nested too deeply for the parser (``RecursionError``). ``line_offset`` is added to line numbers
    (the text's first line is line ``line_offset + 1`` of the file); ``object_pairs_hook`` as for ``json.loads``
    (it sees a repeated key, which a plain parse would resolve silently to its last value)."""
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        raise ConvertError(path, f"{what}: {exc.msg} (column {exc.colno})", line=exc.lineno + line_offset) from None
    except RecursionError:
        raise _too_deep(path, text, line_offset) from None


def load_json(path: Path) -> Any:
    """Parse a whole JSON file; syntax errors (and too deep nesting) name the line and column."""
    return parse_json(path, read_text(path))


def iter_json_records(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_or_index, object)`` from a JSON array file or a JSON Lines file (detected by content).

    For a JSON array the locator is the element index; for JSON Lines it is the 1-based line number.
    A JSON Lines line that does not parse (or is nested too deeply) raises :class:`ConvertError` naming that line.
    """
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from enumerate(parse_json(path, text))
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        yield number, parse_json(path, line, number - 1, "invalid JSON Lines record")


def parse_xml(path: Path) -> ET.Element:
    """Parse an XML file safely through defusedxml, whatever its encoding (UTF-8, UTF-16, ...): entity declarations
    (billion laughs, external entities) and external references are refused with the file and line, syntax errors
    name the file, line and column. DOCTYPE lines without entity declarations are fine."""
    raw = read_bytes(path)
    parser = DefusedXMLParser(forbid_dtd=False, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(raw)
        return cast(ET.Element, parser.close())  # defusedxml is untyped; its parser is an ET.XMLParser
    except EntitiesForbidden:
        reason = "XML entity declarations are not allowed (possible entity-expansion attack)"
        raise ConvertError(path, reason, line=parser.parser.CurrentLineNumber) from None
    except DefusedXmlException as exc:  # an external reference, or a construct defusedxml does not support
        raise ConvertError(path, f"XML refused as unsafe: {type(exc).__name__}", line=parser.parser.CurrentLineNumber) from None
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise ConvertError(path, f"invalid XML: {reason} (column {column}); truncated or malformed file?", line=line) from None


def file_stems(files: Iterable[Path]) -> dict[Path, str]:
    """The name each file's record keys start with: its stem, or, where two files share a stem (``a/train.tsv``,
    ``b/train.tsv``), its path without suffix from the nearest folder that tells them apart (``a/train``,
    ``b/train``), so record keys stay unique while a file with a stem of its own keeps the stem as before."""
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(path.stem, []).append(path)
    names: dict[Path, str] = {}
    for stem, group in groups.items():
        depth = 1
        while len(group) > 1 and depth < max(len(p.parts) for p in group):
            if len({p.with_suffix("").parts[-depth:] for p in group}) == len(set(group)):
                break
            depth += 1
        names.update({p: "/".join(p.with_suffix("").parts[-depth:]) if len(group) > 1 else stem for p in group})
    return names


def expand_paths(paths: Iterable[Path], suffix: str) -> list[Path]:
    """Files in ``paths``: files as given, folders expanded to their ``*suffix`` files (recursively, following
    symbolic links), sorted by name. A path that is missing or cannot be followed (a symbolic link loop, a
    broken link) is a :class:`ConvertError` naming it, never a crash or a silent skip."""
    files: list[Path] = []
    for path in paths:
        if split_member_path(path) is not None:  # ARCHIVE!MEMBER or ARCHIVE!PATTERN: the members it names
            check_path(path)
            try:
                files.extend(expand_member_path(path))
            except ArchiveError as exc:
                raise ConvertError(path, str(exc)) from None
            continue
        info = check_path(path)
        if stat.S_ISDIR(info.st_mode):
            found = folder_files(path, lambda p: p.name.endswith(suffix))
            if not found:
                raise ConvertError(path, f"folder holds no *{suffix} files")
            files.extend(found)
        else:
            files.append(path)
    return files
