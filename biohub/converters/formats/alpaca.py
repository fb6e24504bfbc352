"""Alpaca-style instruction files: a JSON array or JSON Lines of ``{"instruction", "input", "output"}``.

Each object becomes an ``instruction`` record. ``fields`` maps the record's ``instruction`` / ``input`` /
``output`` / ``id`` to the file's names (names not given keep their defaults). The instruction is required;
a missing input reads as ``""``; an empty output is rejected (``empty output``) unless the split is one of
``unlabelled_splits`` (then kept with ``labeled=False``). The record key is the ``id`` field when present,
else the element index (JSON array) or line number (JSON Lines). Unmapped fields go to ``meta``.

The raw source text of a record (``ReadContext.keep_raw``) is its object, ``json.dumps(obj, ensure_ascii=False)``
(keys in file order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from biohub.converters.base import Item, ReadContext, Reader
from biohub.converters.json_items import JsonItem, convert_items, merge_fields, text_field
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.schema import InstructionRecord

_FIELDS = {"instruction": "instruction", "input": "input", "output": "output", "id": "id"}


@dataclass(slots=True)
class AlpacaOptions:
    """``fields``: the file's names for ``instruction``, ``input``, ``output`` and ``id`` (an empty ``id`` name
    keys records by position); ``unlabelled_splits``: splits whose records may have an empty output."""

    fields: dict[str, str] = field(default_factory=lambda: dict(_FIELDS))
    unlabelled_splits: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.fields = merge_fields(self.fields, _FIELDS, "alpaca")


@register
class AlpacaReader(Reader):
    """Reads Alpaca-style instruction/input/output objects (JSON array or JSON Lines) into ``instruction`` records."""

    name = "alpaca"
    schema = "instruction"
    description = "Alpaca instruction JSON / JSON Lines (instruction, input, output); field names configurable"
    Options = AlpacaOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``instruction`` record or rejection per object of every file (folders expanded to their ``*.json``)."""
        yield from convert_items(paths, ctx, partial(self._convert, ctx=ctx), id_field=self.options.fields["id"])

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Item:
        names = self.options.fields
        instruction = text_field(item, names["instruction"])
        values = {}
        for part in ("input", "output"):
            value = item.data.get(names[part], "")
            if value is None:
                value = ""
            if not isinstance(value, str):
                detail = f"{item.where()}: {names[part]!r} is a {type(value).__name__}, expected a string"
                raise RecordRejected("bad field type", detail)
            values[part] = value
        labeled = bool(values["output"].strip())
        if not labeled and ctx.split_for(item.key) not in tuple(self.options.unlabelled_splits):
            detail = f"{item.where()}: {names['output']!r} is missing or blank"
            raise RecordRejected("empty output", detail)
        meta = {"source": item.source(), **item.extras(set(names.values()))}
        record = InstructionRecord(
            **ctx.common(item.key, labeled=labeled, meta=meta),
            instruction=instruction,
            input=values["input"],
            output=values["output"],
        )
        ctx.keep_raw(record.id, lambda: json.dumps(item.data, ensure_ascii=False))
        return record
