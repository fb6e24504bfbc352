"""What every format reader is: a small class with a typed options dataclass and one ``read`` method.

A reader turns source files into a stream of items, each one of

* a unified :mod:`biohub.schema` record (converted),
* a :class:`Rejection` (a whole source record that could not be converted, with file, locator and reason),
* a :class:`Defect` (an annotation inside a kept record that was dropped or repaired, with its reason).

A problem that makes a whole file unreadable (missing file, wrong encoding, truncated JSON) raises
:class:`ConvertError`, which names the file and, where known, the line. Nothing is dropped silently:
the converter counts every item into the ledger.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, get_type_hints

from biohub.schema import LabelSet, Record, dump_meta
from biohub.typed import coerce


class ConvertError(Exception):
    """A source cannot be read at all; the message names the file, the line/record and the reason."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None, record: str | None = None):
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


class RecordProblem(Exception):
    """Raised by a reader while converting one record; the reader turns it into a :class:`Rejection`."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


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
    """An annotation dropped from (or repaired in) a converted record, counted by ``reason``."""

    path: str
    locator: str
    reason: str
    detail: str = ""
    split: str = ""


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

    def keep_raw(self, record_id: str, raw: Callable[[], str]) -> None:
        """Hand over the verbatim source text of a record (evaluated only when raw sources are being collected)."""
        if self.raw_sink is not None:
            self.raw_sink[record_id] = raw()

    def split_for(self, document_id: str | None) -> str:
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

    def reject(self, path: Path | str, locator: Any, reason: str, detail: str = "", document_id: str | None = None) -> Rejection:
        return Rejection(str(path), str(locator), reason, detail, self.split_for(document_id))

    def defect(self, path: Path | str, locator: Any, reason: str, detail: str = "", document_id: str | None = None) -> Defect:
        return Defect(str(path), str(locator), reason, detail, self.split_for(document_id))


@dataclass(slots=True)
class NoOptions:
    """Options of a reader that takes none."""


class Reader(ABC):
    """Base class of a format reader. Subclasses set ``name``, ``schema``, ``description`` and ``Options``."""

    name: ClassVar[str]
    schema: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type] = NoOptions

    def __init__(self, options: Any | None = None):
        self.options = options if options is not None else self.Options()

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


def parse_options(options_type: type, mapping: dict[str, Any], where: str) -> Any:
    """Validate a mapping against an options dataclass: unknown keys and wrongly typed values are errors."""
    known = {f.name: f for f in dataclasses.fields(options_type)}
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}")
    hints = get_type_hints(options_type)
    try:
        values = {key: coerce(value, hints[key], f"{where}: option {key!r}") for key, value in mapping.items()}
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    return options_type(**values)


# --------------------------------------------------------------------------------------------- file helpers
def read_text(path: Path, encoding: str = "utf-8") -> str:
    """Read a whole text file; a missing file or a wrong encoding becomes a :class:`ConvertError`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConvertError(path, "file not found") from None
    except IsADirectoryError:
        raise ConvertError(path, "expected a file, found a folder") from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConvertError(path, f"not valid {encoding} (byte {exc.start}); wrong encoding?", line=line) from None
    return text.removeprefix("\ufeff")


def read_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """The file's lines without their line endings (``\\r\\n`` and ``\\n`` both handled)."""
    return read_text(path, encoding).splitlines()


def load_json(path: Path) -> Any:
    """Parse a whole JSON file; syntax errors name the line and column."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConvertError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None


def iter_json_records(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_or_index, object)`` from a JSON array file or a JSON Lines file (detected by content).

    For a JSON array the locator is the element index; for JSON Lines it is the 1-based line number.
    A JSON Lines line that does not parse raises :class:`ConvertError` naming that line.
    """
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConvertError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
        yield from enumerate(data)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConvertError(path, f"invalid JSON Lines record: {exc.msg} (column {exc.colno})", line=number) from None


def parse_xml(path: Path) -> ET.Element:
    """Parse an XML file safely: entity declarations (billion laughs, external entities) are refused outright,
    syntax errors name the file, line and column. DOCTYPE lines without entity declarations are fine."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConvertError(path, "file not found") from None
    if b"<!ENTITY" in raw:
        line = raw[: raw.index(b"<!ENTITY")].count(b"\n") + 1
        raise ConvertError(path, "XML entity declarations are not allowed (possible entity-expansion attack)", line=line)
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise ConvertError(path, f"invalid XML: {reason} (column {column}); truncated or malformed file?", line=line) from None


def expand_paths(paths: Iterable[Path], suffix: str) -> list[Path]:
    """Files in ``paths``: files as given, folders expanded to their ``*suffix`` files, sorted by name."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob(f"*{suffix}") if p.is_file())
            if not found:
                raise ConvertError(path, f"folder holds no *{suffix} files")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise ConvertError(path, "file not found")
    return files
