"""Mention JSON Lines (ChineseBLUE cMedQANER, cEHRNER): a text and its mentions, each placed by a start offset.

One object per line, ``{"text": str, "mention_data": [{"mention": str, "type": str, "offset": "12"}]}``: the
offset is the 0-based character index of the mention's first character, given as a string or an integer; the
end is ``offset + len(mention)`` (exclusive). Each object becomes a ``kb`` record with one passage and one
entity per mention; nested and overlapping mentions are kept. ``fields`` maps ``text``, ``mentions``,
``mention``, ``type``, ``offset`` and ``id`` to the file's names (cEHRNER: ``type: label``).

Offsets are authoritative. A mention whose text differs from the text at its offsets only in letter case
(``TCT`` over ``tct``) is kept with the document text and counted as a repair (``mention letter case differs
from the text (kept)``); any other disagreement, an offset outside the text, a malformed mention or an exact
duplicate (same span and type) drops the mention as a defect. Fields the reader does not map go to ``meta``.

The raw source text of a record (``ReadContext.keep_raw``) is its object, ``json.dumps(obj, ensure_ascii=False)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader
from biohub.converters.json_items import JsonItem, convert_items, merge_fields, text_field
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, Passage

__all__ = ["MentionJsonlOptions", "MentionJsonlReader"]

_FIELDS = {"text": "text", "mentions": "mention_data", "mention": "mention", "type": "type", "offset": "offset", "id": "id"}


@dataclass(slots=True)
class MentionJsonlOptions:
    """``fields``: the file's names for ``text``, ``mentions`` (the list), a mention's ``mention`` / ``type`` /
    ``offset``, and the record ``id`` (absent or empty: records are keyed by line number); names not given keep
    their defaults. ``passage_type``: type of the record's one passage (``text`` or ``sentence``)."""

    fields: dict[str, str] = field(default_factory=lambda: dict(_FIELDS))
    passage_type: str = "text"

    def __post_init__(self) -> None:
        self.fields = merge_fields(self.fields, _FIELDS, "mention-jsonl")


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int
    label: str
    case_differs: bool


@register
class MentionJsonlReader(Reader):
    """Reads mention JSON Lines (text + mentions with start offsets) into one-passage ``kb`` records."""

    name = "mention-jsonl"
    schema = "kb"
    description = "Mention JSON Lines (cMedQANER, cEHRNER): text + mentions with a start offset (string or integer)"
    Options = MentionJsonlOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its mention defects) or rejection per object of every file."""
        yield from convert_items(paths, ctx, partial(self._convert, ctx=ctx), id_field=self.options.fields["id"])

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Iterator[Item]:
        names = self.options.fields
        text = text_field(item, names["text"])
        raw = item.data.get(names["mentions"])
        if raw is None:
            raise RecordRejected(Reason.MISSING_FIELD, f"{item.where()}: no {names['mentions']!r} field")
        if not isinstance(raw, list):
            detail = f"{item.where()}: {names['mentions']!r} is a {type(raw).__name__}, expected a list"
            raise RecordRejected(Reason.BAD_ENTITIES_FIELD, detail)
        record_id = ctx.record_id(item.key)
        entities: list[Entity] = []
        seen: set[tuple[int, int, str]] = set()
        for n, raw_mention in enumerate(raw):
            where = f"{item.where()} mention {n}"
            try:
                mention = self._mention(raw_mention, text, seen)
            except RecordRejected as problem:
                detail = f"{where}: {problem.detail}"
                yield ctx.defect(item.path, item.locator, problem.reason, detail, document_id=item.key, annotation="entities")
                continue
            if mention.case_differs:
                detail = f"{where}: {raw_mention[names['mention']]!r} kept as {text[mention.start : mention.end]!r}"
                yield ctx.defect(
                    item.path, item.locator, Reason.MENTION_LETTER_CASE_DIFFERS_KEPT, detail,
                    document_id=item.key, dropped=False, annotation="entities",
                )
            seen.add((mention.start, mention.end, mention.label))
            span = text[mention.start : mention.end]
            entities.append(Entity(f"{record_id}.e{n}", mention.label, [span], [(mention.start, mention.end)]))
        ctx.count_read(item.key, entities=len(raw))
        meta = {"source": item.source(), **item.extras({names["text"], names["mentions"], names["id"]})}
        record = KBRecord(
            **ctx.common(item.key, meta=meta),
            passages=[Passage(f"{record_id}.p0", self.options.passage_type, [text], [(0, len(text))])],
            entities=entities,
        )
        ctx.keep_raw(record.id, lambda: json.dumps(item.data, ensure_ascii=False))
        yield record

    def _mention(self, raw: Any, text: str, seen: set[tuple[int, int, str]]) -> _Mention:
        """The checked mention; :class:`RecordRejected` with the reason it must be dropped (recorded as a defect)."""
        names = self.options.fields
        if not isinstance(raw, dict):
            raise RecordRejected(Reason.MALFORMED_MENTION, f"not an object: {raw!r}")
        string, label, offset = raw.get(names["mention"]), raw.get(names["type"]), _offset(raw.get(names["offset"]))
        if not isinstance(string, str) or not string or not isinstance(label, str) or not label or offset is None:
            wanted = f"a non-empty {names['mention']!r}, a {names['type']!r} and an integer {names['offset']!r}"
            detail = f"needs {wanted}, got {raw!r}"
            raise RecordRejected(Reason.MALFORMED_MENTION, detail)
        end = offset + len(string)
        if not 0 <= offset < end <= len(text):
            raise RecordRejected(Reason.OFFSETS_OUT_OF_RANGE, f"[{offset}, {end}) outside the {len(text)}-character text")
        actual = text[offset:end]
        if actual != string and actual.casefold() != string.casefold():
            detail = f"mention {string!r} but the text at [{offset}, {end}) is {actual!r}"
            raise RecordRejected(Reason.MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS, detail)
        if (offset, end, label) in seen:
            raise RecordRejected(Reason.DUPLICATE_MENTION, f"{label} [{offset}, {end}) {actual!r} given twice")
        return _Mention(offset, end, label, actual != string)


def _offset(value: Any) -> int | None:
    """A start offset given as an integer or a string of ASCII digits; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
