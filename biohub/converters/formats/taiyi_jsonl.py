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
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader
from biohub.converters.json_items import JsonItem, json_items
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
    name = "taiyi-jsonl"
    schema = "dialogue"
    description = "Taiyi conversation JSON Lines: conversation [{human, assistant}] + language/dataset/category"
    Options = TaiyiJsonlOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        for item in json_items(paths, ctx, id_field="conversation_id", suffix=".jsonl"):
            yield self._convert(item, ctx) if isinstance(item, JsonItem) else item

    def _reject(self, item: JsonItem, ctx: ReadContext, reason: str, detail: str) -> Item:
        return ctx.reject(item.path, item.locator, reason, f"{item.where()}: {detail}", document_id=item.key)

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Item:
        opts = self.options
        raw_language = item.data.get("language")
        language = ctx.language
        if raw_language is not None:
            language = str(raw_language).split("-")[0].strip().lower()
            if language not in LANGUAGES:
                return self._reject(item, ctx, "unknown language", f"language {raw_language!r}; expected en, zh, en-zh or zh-en")
        exchanges = item.data.get(opts.conversation_field)
        if exchanges is None:
            return self._reject(item, ctx, "missing field", f"no {opts.conversation_field!r} field")
        if not isinstance(exchanges, list) or not exchanges:
            return self._reject(item, ctx, "bad conversation", f"{opts.conversation_field!r} must be a non-empty list, got {exchanges!r}")
        turns: list[Turn] = []
        for n, exchange in enumerate(exchanges):
            problem = self._exchange(exchange)
            if problem:
                return self._reject(item, ctx, problem[0], f"exchange {n}: {problem[1]}")
            turns.append(Turn("user", exchange[opts.human_field]))
            turns.append(Turn("assistant", exchange[opts.assistant_field]))
        used = {opts.conversation_field}
        meta: dict[str, Any] = {"source": item.source(), **item.extras(used)}
        record = DialogueRecord(**ctx.common(item.key, meta=meta, language=language), turns=turns)
        ctx.keep_raw(record.id, lambda: json.dumps(item.data, ensure_ascii=False))
        return record

    def _exchange(self, exchange: Any) -> tuple[str, str] | None:
        if not isinstance(exchange, dict):
            return "bad turn", f"not an object: {exchange!r}"
        for key in (self.options.human_field, self.options.assistant_field):
            value = exchange.get(key)
            if not isinstance(value, str):
                return "bad turn", f"{key!r} is {value!r}, expected a string"
            if not value.strip():
                return "empty turn", f"{key!r} is blank"
        return None
