"""Keyed objects of JSON array / JSON Lines files, and small field accessors that reject with file + record.

Shared by the JSON-based readers (CBLUE, PromptCBLUE, Taiyi, Alpaca).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biohub.converters.base import ReadContext, Rejection, expand_paths, iter_json_records
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


def json_items(paths: list[Path], ctx: ReadContext, *, id_field: str = "id", suffix: str = ".json") -> Iterator[JsonItem | Rejection]:
    """Every object of every file (folders expanded to their ``*suffix`` files), keyed, or a rejection.

    Non-objects are rejected (``not a JSON object``); a key seen twice is rejected (``duplicate id``).
    """
    files = expand_paths(paths, suffix)
    seen: set[str] = set()
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
                key = f"{path.stem}-{key}"
            if key in seen:
                yield ctx.reject(path, locator, "duplicate id", f"{locator}: record key {key!r} seen before", document_id=key)
                continue
            seen.add(key)
            yield JsonItem(path, position, array, key, obj)


def text_field(item: JsonItem, name: str, ctx: ReadContext) -> str | Rejection:
    """A required, non-blank string field, or the rejection saying what is wrong with it."""
    value = item.data.get(name)
    if value is None:
        return ctx.reject(item.path, item.locator, "missing field", f"{item.where()}: no {name!r} field", document_id=item.key)
    if not isinstance(value, str):
        detail = f"{item.where()}: {name!r} is a {type(value).__name__}, expected a string"
        return ctx.reject(item.path, item.locator, "bad field type", detail, document_id=item.key)
    if not value.strip():
        return ctx.reject(item.path, item.locator, "empty text", f"{item.where()}: {name!r} is blank", document_id=item.key)
    return value


def unlabelled(item: JsonItem, name: str, ctx: ReadContext, allowed: tuple[str, ...] | list[str]) -> Rejection | None:
    """A record without its label field: fine (None) in an unlabelled split, else a ``missing labels`` rejection."""
    if ctx.split_for(item.key) in tuple(allowed):
        return None
    detail = f"{item.where()}: no {name!r} field in split {ctx.split_for(item.key)!r} (unlabelled splits: {', '.join(allowed) or 'none'})"
    return ctx.reject(item.path, item.locator, "missing labels", detail, document_id=item.key)


def label_value(item: JsonItem, name: str, ctx: ReadContext) -> str | Rejection:
    """A single class label (a string, or an integer read as its decimal string)."""
    value = item.data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        detail = f"{item.where()}: {name!r} is {value!r}, expected a string"
        return ctx.reject(item.path, item.locator, "bad label", detail, document_id=item.key)
    if not value.strip():
        return ctx.reject(item.path, item.locator, "empty label", f"{item.where()}: {name!r} is blank", document_id=item.key)
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
