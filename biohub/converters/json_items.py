"""Keyed objects of JSON array / JSON Lines files, and small field accessors that reject with file + record.

Shared by the JSON-based readers (CBLUE, PromptCBLUE, Taiyi, Alpaca): :func:`convert_items` is their reject loop
(:func:`convert_lines` that of the JSON Lines readers keyed by file and line: marked-re, mcqa-jsonl);
the field accessors raise :class:`~biohub.converters.problems.RecordRejected`. The dialogue-json reader uses
:func:`is_json_array` to name its locators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader, Rejection, expand_paths, file_stems, iter_json_records
from biohub.converters.problems import RecordRejected
from biohub.errors import ConfigError


@dataclass(slots=True)
class JsonItem:
    """One object of a JSON array / JSON Lines file, with where it came from and its record key."""

    path: Path
    position: int  # element index (JSON array) or 1-based line number (JSON Lines)
    array: bool
    key: str
    data: dict[str, Any]

    @property
    def locator(self) -> str:
        """The rejection locator: ``record 3`` for an element of a JSON array, the line number for JSON Lines."""
        return f"record {self.position}" if self.array else str(self.position)

    def where(self) -> str:
        """``file.json record 3`` or ``file.json:12`` for rejection details."""
        return f"{self.path.name} record {self.position}" if self.array else f"{self.path.name}:{self.position}"

    def source(self) -> dict[str, Any]:
        """The ``meta.source`` entry: file name plus element index or line number."""
        return {"path": self.path.name, "record" if self.array else "line": self.position}

    def extras(self, used: set[str]) -> dict[str, Any]:
        """The object's fields a reader does not map, for ``meta`` (a field named ``source`` becomes
        ``source_field``: ``meta.source`` is the location)."""
        return {("source_field" if k == "source" else k): v for k, v in self.data.items() if k not in used}


def is_json_array(path: Path) -> bool:
    """Whether the file's first non-blank character (after a UTF-8 byte order mark) is ``[``, i.e. whether
    :func:`~biohub.converters.base.iter_json_records` reads it as a JSON array (locators are element indexes)
    rather than JSON Lines (locators are line numbers). A missing file is left to the reader to report."""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(4096):
                stripped = chunk.removeprefix(b"\xef\xbb\xbf").lstrip()
                if stripped:
                    return stripped.startswith(b"[")
    except OSError:
        pass
    return False


def json_items(
    paths: list[Path], ctx: ReadContext, *, id_field: str = "id", suffix: str = ".json"
) -> Iterator[JsonItem | Rejection]:
    """Every object of every file (folders expanded to their ``*suffix`` files), keyed, or a rejection.

    Non-objects are rejected (``not a JSON object``); a key seen twice is rejected (``duplicate id``).
    """
    files = expand_paths(paths, suffix)
    stems = file_stems(files)
    for path in files:
        array = is_json_array(path)
        for position, obj in iter_json_records(path):
            locator = f"record {position}" if array else str(position)
            if not isinstance(obj, dict):
                yield ctx.reject(path, locator, "not a JSON object", f"{locator}: got {type(obj).__name__}")
                continue
            raw_id = obj.get(id_field) if id_field else None
            key = str(raw_id) if raw_id not in (None, "") else str(position)
            if len(files) > 1:
                key = f"{stems[path]}-{key}"
            if ctx.read_before(key) is not None:
                yield ctx.reject(path, locator, "duplicate id", f"{locator}: record key {key!r} seen before", document_id=key)
                continue
            ctx.note_read(key)
            yield JsonItem(path, position, array, key, obj)


def convert_items(
    paths: list[Path],
    ctx: ReadContext,
    convert: Callable[[JsonItem], Item | Iterable[Item]],
    *,
    id_field: str = "id",
    suffix: str = ".json",
) -> Iterator[Item]:
    """The reject loop of the JSON-based readers: ``convert`` each keyed object of :func:`json_items`; an object it
    raises :class:`RecordRejected` for becomes that object's rejection (its detail already says where)."""
    for item in json_items(paths, ctx, id_field=id_field, suffix=suffix):
        if isinstance(item, JsonItem):
            yield from Reader.rejecting(ctx, item.path, item.locator, partial(convert, item), document_id=item.key)
        else:
            yield item


def convert_lines(
    paths: list[Path], ctx: ReadContext, suffix: str, convert: Callable[[Path, int, str, Any], Item | Iterable[Item]]
) -> Iterator[Item]:
    """The reject loop of the readers whose records are the objects of JSON Lines files keyed by place: every object
    of every ``*suffix`` file (folders expanded) is keyed ``<file stem>-<line>`` and converted by ``convert(path, line,
    key, obj)`` inside :meth:`Reader.rejecting`; a rejection's detail starts with ``line N: ``."""
    files = expand_paths(paths, suffix)
    stems = file_stems(files)
    for path in files:
        for line, obj in iter_json_records(path):
            key = f"{stems[path]}-{line}"
            one = partial(convert, path, line, key, obj)
            yield from Reader.rejecting(ctx, path, line, one, document_id=key, prefix=f"line {line}: ")


def text_field(item: JsonItem, name: str) -> str:
    """A required, non-blank string field; else :class:`RecordRejected` saying what is wrong with it."""
    value = item.data.get(name)
    if value is None:
        raise RecordRejected("missing field", f"{item.where()}: no {name!r} field")
    if not isinstance(value, str):
        raise RecordRejected("bad field type", f"{item.where()}: {name!r} is a {type(value).__name__}, expected a string")
    if not value.strip():
        raise RecordRejected("empty text", f"{item.where()}: {name!r} is blank")
    return value


def require_unlabelled_split(item: JsonItem, name: str, ctx: ReadContext, allowed: tuple[str, ...] | list[str]) -> None:
    """A record without its label field is fine in an unlabelled split; elsewhere it is rejected (``missing labels``)."""
    split = ctx.split_for(item.key)
    if split not in tuple(allowed):
        detail = f"{item.where()}: no {name!r} field in split {split!r} (unlabelled splits: {', '.join(allowed) or 'none'})"
        raise RecordRejected("missing labels", detail)


def label_value(item: JsonItem, name: str) -> str:
    """A single class label (a string, or an integer read as its decimal string); else :class:`RecordRejected`."""
    value = item.data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise RecordRejected("bad label", f"{item.where()}: {name!r} is {value!r}, expected a string")
    if not value.strip():
        raise RecordRejected("empty label", f"{item.where()}: {name!r} is blank")
    return value


def merge_fields(given: dict[str, str], defaults: dict[str, str], reader: str) -> dict[str, str]:
    """``defaults`` updated with ``given``; unknown names are an error naming the known ones."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ConfigError(f"format {reader!r}: unknown field name(s) {', '.join(unknown)}; known: {', '.join(defaults)}")
    merged = {**defaults, **given}
    bad = [k for k, v in merged.items() if not isinstance(v, str) or (not v and k != "id")]
    if bad:
        raise ConfigError(f"format {reader!r}: field mapping of {', '.join(bad)} must be a non-empty string")
    return merged
