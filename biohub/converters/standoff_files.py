"""Which annotation file goes with which text: finding the documents of a BRAT standoff read.

A BRAT document is an ``.ann`` file plus its text. The text is ``NAME.txt`` beside the ``.ann`` (layout ``beside``),
``NAME.txt`` under another path argument (``apart``), or one line ``KEY<TAB>text`` of a ``.txt`` table (``table``).
``.list`` files (one key a line) restrict a read to the keys they list. :func:`find_documents` says what the path
arguments hold, the duplicates and the table lines that cannot be read; the reader (:mod:`biohub.converters.formats.brat`)
turns them into records and rejections.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from biohub.converters.base import ConvertError, check_path, folder_files, is_present, read_lines
from biohub.converters.problems import Reason

__all__ = ["Document", "Documents", "TextLayout", "find_documents"]

TextLayout = Literal["beside", "apart", "table"]


@dataclass(slots=True)
class Document:
    """One document: its key, the path argument it was found under, its ``.txt`` / ``.ann`` files, and, for a text
    read from a table, (table file, line, text)."""

    key: str
    root: Path
    files: dict[str, Path] = field(default_factory=dict)
    table: tuple[Path, int, str] | None = None

    def where(self) -> str:
        """Where a document was read from: its first file, or its table line."""
        if self.table is not None:
            return f"{self.table[0]}:{self.table[1]}"
        return str(min(self.files.values()))


@dataclass(slots=True)
class Documents:
    """What the path arguments hold: the documents by key, the (duplicate, first) pairs, the keys ``.list`` files
    name (key -> (list file, line); None: no list given) and the rejections found on the way (table lines)."""

    pairs: dict[str, Document] = field(default_factory=dict)
    duplicates: dict[tuple[str, Path], Document] = field(default_factory=dict)
    listed: dict[str, tuple[Path, int]] | None = None
    rejections: list[tuple[Path, int, Reason, str, str]] = field(default_factory=list)  # (file, line, reason, detail, key)


def find_documents(paths: list[Path], layout: TextLayout = "beside", encoding: str = "utf-8") -> Documents:
    """Every document of the path arguments, the duplicates, the ``.list`` keys and the table rejections.

    A folder gives all its files, keyed by their path relative to the folder; a file gives its own (and, with
    texts ``beside``, its partner), keyed by its stem. A key found under two different path arguments (e.g.
    ``a/x.txt`` and ``b/x.txt``) is one document under the first argument; the second is a duplicate (with
    texts ``apart``, only when the same kind of file comes again)."""
    found = Documents()
    seen_files: set[tuple[int, int]] = set()  # (device, inode) of every file taken: one file given twice is read once

    def add(key: str, root: Path, file: Path) -> None:
        info = check_path(file)
        if (info.st_dev, info.st_ino) in seen_files:
            return
        seen_files.add((info.st_dev, info.st_ino))
        if layout == "table" and file.suffix == ".txt":
            _table(file, found, encoding)
            return
        pair = found.pairs.setdefault(key, Document(key, root))
        clash = file.suffix in pair.files if layout != "beside" else pair.root != root
        if clash:
            pair = found.duplicates.setdefault((key, root), Document(key, root))
        pair.files[file.suffix] = file

    for path in paths:
        if stat.S_ISDIR(check_path(path).st_mode):
            files = folder_files(path, lambda p: p.suffix in (".txt", ".ann"))
            if not files:
                raise ConvertError(path, "folder holds no .txt/.ann files")
            for file in files:
                add(file.relative_to(path).with_suffix("").as_posix(), path, file)
        elif path.suffix == ".list":
            _list(path, found, encoding)
        elif path.suffix in (".txt", ".ann"):
            partners = (".txt", ".ann") if layout == "beside" else (path.suffix,)
            for suffix in partners:
                if suffix == path.suffix or is_present(path.with_suffix(suffix)):
                    add(path.stem, path.parent, path.with_suffix(suffix))
        else:
            raise ConvertError(path, "expected a folder of .txt/.ann files, a .txt/.ann file or a .list file")
    return found


def _table(path: Path, found: Documents, encoding: str) -> None:
    """Add the documents of a ``KEY<TAB>text`` table (a line without a tab, or a key seen before, is a rejection)."""
    for number, line in enumerate(read_lines(path, encoding), start=1):
        if not line.strip():
            continue
        key, tab, text = line.partition("\t")
        if not tab or not key.strip():
            detail = f"{path.name}:{number}: expected KEY<TAB>text, got {line[:60]!r}"
            found.rejections.append((path, number, Reason.WRONG_COLUMN_COUNT, detail, key))
            continue
        pair = found.pairs.setdefault(key, Document(key, path.parent))
        if pair.table is not None:
            detail = f"{path.name}:{number}: key {key!r} already given at {pair.table[0].name}:{pair.table[1]}"
            found.rejections.append((path, number, Reason.DUPLICATE_DOCUMENT, detail, key))
            continue
        pair.table = (path, number, text)


def _list(path: Path, found: Documents, encoding: str) -> None:
    """Note the document keys a ``.list`` file names (one a line)."""
    listed = {} if found.listed is None else found.listed
    for number, line in enumerate(read_lines(path, encoding), start=1):
        if line.strip():
            listed.setdefault(line.strip(), (path, number))
    found.listed = listed
