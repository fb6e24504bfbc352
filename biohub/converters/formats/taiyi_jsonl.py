"""Taiyi instruction-conversation JSON Lines.

Each line is ``{"conversation_id", "dataset", "category", "language", "conversation": [{"human",
"assistant"}, ...]}`` and becomes a ``dialogue`` record whose turns are the exchanges in order: ``human`` ->
``user``, ``assistant`` -> ``assistant``. The record key is ``conversation_id`` (else the line number).

The record's language is that of the human turn: ``en`` / ``zh``, or for translation pairs (``en-zh``,
``zh-en``) the first part; the original value is kept in ``meta.language``. A record without a language
field takes the dataset's language; one whose language is not ``en``/``zh`` is rejected. ``dataset``,
``category`` and any other field go to ``meta``.

The raw source text of a record (``ReadContext.keep_raw``) is its object, ``json.dumps(obj, ensure_ascii=False)``
(keys in file order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader
from biohub.converters.json_items import JsonItem, convert_items
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.schema import LANGUAGES, DialogueRecord, Turn


@dataclass(slots=True)
class TaiyiJsonlOptions:
    """``conversation_field``: the list of exchanges; ``human_field`` / ``assistant_field``: the keys of one
    exchange."""

    conversation_field: str = "conversation"
    human_field: str = "human"
    assistant_field: str = "assistant"


@register
class TaiyiJsonlReader(Reader):
    """Reads Taiyi conversation lines into ``dialogue`` records in the human turn's language (``en``/``zh``)."""

    name = "taiyi-jsonl"
    schema = "dialogue"
    description = "Taiyi conversation JSON Lines: conversation [{human, assistant}] + language/dataset/category"
    Options = TaiyiJsonlOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``dialogue`` record or rejection per object of every ``*.jsonl`` file, keyed by ``conversation_id``."""
        yield from convert_items(paths, ctx, partial(self._convert, ctx=ctx), id_field="conversation_id", suffix=".jsonl")

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Item:
        opts = self.options
        raw_language = item.data.get("language")
        language = ctx.language
        if raw_language is not None:
            language = str(raw_language).split("-")[0].strip().lower()
            if language not in LANGUAGES:
                raise RecordRejected(
                    "unknown language", f"{item.where()}: language {raw_language!r}; expected en, zh, en-zh or zh-en"
                )
        exchanges = item.data.get(opts.conversation_field)
        if exchanges is None:
            raise RecordRejected("missing field", f"{item.where()}: no {opts.conversation_field!r} field")
        if not isinstance(exchanges, list) or not exchanges:
            detail = f"{item.where()}: {opts.conversation_field!r} must be a non-empty list, got {exchanges!r}"
            raise RecordRejected("bad conversation", detail)
        turns: list[Turn] = []
        for n, exchange in enumerate(exchanges):
            self._check_exchange(exchange, f"{item.where()}: exchange {n}: ")
            turns.append(Turn("user", exchange[opts.human_field]))
            turns.append(Turn("assistant", exchange[opts.assistant_field]))
        used = {opts.conversation_field}
        meta: dict[str, Any] = {"source": item.source(), **item.extras(used)}
        record = DialogueRecord(**ctx.common(item.key, meta=meta, language=language), turns=turns)
        ctx.keep_raw(record.id, lambda: json.dumps(item.data, ensure_ascii=False))
        return record

    def _check_exchange(self, exchange: Any, where: str) -> None:
        """Raise :class:`RecordRejected` unless ``exchange`` is an object with a non-blank human and assistant turn."""
        if not isinstance(exchange, dict):
            raise RecordRejected("bad turn", f"{where}not an object: {exchange!r}")
        for key in (self.options.human_field, self.options.assistant_field):
            value = exchange.get(key)
            if not isinstance(value, str):
                raise RecordRejected("bad turn", f"{where}{key!r} is {value!r}, expected a string")
            if not value.strip():
                raise RecordRejected("empty turn", f"{where}{key!r} is blank")
