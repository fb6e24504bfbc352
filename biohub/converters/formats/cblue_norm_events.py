"""CBLUE string-level annotation JSON: term normalisation (CHIP-CDN) and clinical-finding events (CHIP-CDEE).

Both files are JSON arrays of objects read with :func:`~biohub.converters.json_items.json_items` (keys, duplicate
ids and non-objects handled there). Their annotations are strings, not offsets.

* ``cblue-norm`` (CHIP-CDN): ``{"text", "normalized_result": "term##term"}`` -> ``kb`` with one passage and one
  entity of ``entity_type`` spanning the whole text (the raw diagnosis is the mention), normalised to each
  standard term: ``Normalization(db_name, term)`` (the term name is the id: the files give names, not codes).
  The terms are split on ``separator``; an empty or repeated term is dropped as a defect. An unlabelled record
  (no terms) has no entity: an unlabelled record carries no annotation.
* ``cblue-events`` (CHIP-CDEE): ``{"id", "text", "event": [{"core_name", "tendency", "character": [...],
  "anatomy_list": [...]}]}`` -> ``kb`` events of ``event_type``: the trigger is ``core_name``, each character and
  anatomy string an entity (types ``character`` / ``anatomy``) filling the argument of that role. Strings are
  placed at their FIRST occurrence in the text (``str.find``), one entity per distinct (span, type). An event
  whose core_name does not occur verbatim is dropped (``trigger not found in text``), as is an exact repeat of an
  event of the same record (``duplicate event``); an argument string not in the text, or empty, is dropped from
  its event (``argument not found in text`` / ``empty argument``). A non-empty ``tendency`` (否定 negation,
  不确定 uncertainty) becomes a modification of its event whose type is the value (surrounding blanks trimmed as a
  repair), as BioNLP's Negation/Speculation are.

In the splits named by ``unlabelled_splits`` a record without annotations (no ``normalized_result``; an empty
``event`` list) is kept with ``labeled=False``; elsewhere a missing annotation field is rejected (``missing
labels``). The raw source text of a record (``ReadContext.keep_raw``) is its object as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader
from biohub.converters.json_items import JsonItem, convert_items, merge_fields, require_unlabelled_split, text_field
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, Event, EventArgument, KBRecord, Modification, Normalization, Passage, Trigger

__all__ = ["CblueEventsOptions", "CblueEventsReader", "CblueNormOptions", "CblueNormReader"]


def _dumps(item: JsonItem) -> str:
    """The raw source text of a record: its object as JSON, keys in file order, non-ASCII kept."""
    return json.dumps(item.data, ensure_ascii=False)


def _passage(record_id: str, passage_type: str, text: str) -> list[Passage]:
    return [Passage(f"{record_id}.p0", passage_type, [text], [(0, len(text))])]


# --------------------------------------------------------------------------------------------- cblue-norm
_NORM_FIELDS = {"text": "text", "normalized": "normalized_result", "id": "id"}


@dataclass(slots=True)
class CblueNormOptions:
    """``fields``: the file's names for ``text``, ``normalized`` (the joined terms) and ``id`` (absent: records
    are keyed by position); ``separator``: what joins the terms; ``db_name``: the vocabulary the terms belong to;
    ``entity_type``: type of the whole-text mention; ``passage_type``; ``unlabelled_splits``: splits whose records
    may lack the terms."""

    fields: dict[str, str] = field(default_factory=lambda: dict(_NORM_FIELDS))
    separator: str = "##"
    db_name: str = "ICD-10-Beijing-v601"
    entity_type: str = "diagnosis"
    passage_type: str = "text"
    unlabelled_splits: tuple[str, ...] = ("test",)

    def __post_init__(self) -> None:
        self.fields = merge_fields(self.fields, _NORM_FIELDS, "cblue-norm")
        for name in ("separator", "db_name", "entity_type"):
            if not getattr(self, name):
                raise ValueError(f"{name}: must not be empty")


@register
class CblueNormReader(Reader):
    """Reads CBLUE normalisation objects (CHIP-CDN) into ``kb`` records: the whole text as a mention, its terms as
    normalisations."""

    name = "cblue-norm"
    schema = "kb"
    description = "CBLUE normalisation JSON (CHIP-CDN): text + '##'-joined standard terms -> whole-text mention normalised"
    Options = CblueNormOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its term defects) or rejection per object of every file."""
        yield from convert_items(paths, ctx, partial(self._convert, ctx=ctx), id_field=self.options.fields["id"])

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Iterator[Item]:
        opts, names = self.options, self.options.fields
        text = text_field(item, names["text"])
        raw = item.data.get(names["normalized"])
        if raw is None:
            require_unlabelled_split(item, names["normalized"], ctx, opts.unlabelled_splits)
        elif not isinstance(raw, str):
            detail = f"{item.where()}: {names['normalized']!r} is a {type(raw).__name__}, expected a string"
            raise RecordRejected(Reason.BAD_FIELD_TYPE, detail)
        terms = raw.split(opts.separator) if raw is not None else []
        normalized: list[Normalization] = []
        for n, term in enumerate(terms):
            reason = Reason.EMPTY_NORMALIZATION_TERM if not term.strip() else None
            if reason is None and any(norm.db_id == term for norm in normalized):
                reason = Reason.DUPLICATE_NORMALIZATION
            if reason is not None:
                detail = f"{item.where()} term {n}: {term!r} in {raw!r}"
                yield ctx.defect(item.path, item.locator, reason, detail, document_id=item.key, annotation="normalizations")
                continue
            normalized.append(Normalization(opts.db_name, term))
        record_id = ctx.record_id(item.key)
        ctx.count_read(item.key, normalizations=len(terms))
        meta = {"source": item.source(), **item.extras(set(names.values()))}
        record = KBRecord(
            **ctx.common(item.key, labeled=raw is not None, meta=meta),
            passages=_passage(record_id, opts.passage_type, text),
            entities=[] if raw is None else [Entity(f"{record_id}.e0", opts.entity_type, [text], [(0, len(text))], normalized)],
        )
        ctx.keep_raw(record.id, lambda: _dumps(item))
        yield record


# --------------------------------------------------------------------------------------------- cblue-events
_EVENT_FIELDS = {
    "text": "text", "events": "event", "trigger": "core_name", "tendency": "tendency",
    "character": "character", "anatomy": "anatomy_list", "id": "id",
}
_ROLES = ("character", "anatomy")


@dataclass(slots=True)
class CblueEventsOptions:
    """``fields``: the file's names for ``text``, ``events`` (the list), an event's ``trigger``, ``tendency``,
    ``character`` and ``anatomy`` lists, and the record ``id``; ``event_type``: the type of every event;
    ``passage_type``; ``unlabelled_splits``: splits whose records may have no events."""

    fields: dict[str, str] = field(default_factory=lambda: dict(_EVENT_FIELDS))
    event_type: str = "clinical_finding"
    passage_type: str = "text"
    unlabelled_splits: tuple[str, ...] = ("test",)

    def __post_init__(self) -> None:
        self.fields = merge_fields(self.fields, _EVENT_FIELDS, "cblue-events")


@dataclass(slots=True)
class _Built:
    """The entities and events of one record as they are placed."""

    record_id: str
    text: str
    entities: list[Entity] = field(default_factory=list)
    entity_ids: dict[tuple[int, int, str], str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    def entity(self, string: str, label: str) -> str:
        start = self.text.find(string)
        span = (start, start + len(string), label)
        if span not in self.entity_ids:
            self.entity_ids[span] = f"{self.record_id}.e{len(self.entities)}"
            self.entities.append(Entity(self.entity_ids[span], label, [string], [(span[0], span[1])]))
        return self.entity_ids[span]


@register
class CblueEventsReader(Reader):
    """Reads CBLUE clinical-finding events (CHIP-CDEE) into ``kb`` records, strings placed at their first occurrence."""

    name = "cblue-events"
    schema = "kb"
    description = "CBLUE event JSON (CHIP-CDEE): text + events (core_name, tendency, character[], anatomy_list[]) as strings"
    Options = CblueEventsOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its event defects) or rejection per object of every file."""
        yield from convert_items(paths, ctx, partial(self._convert, ctx=ctx), id_field=self.options.fields["id"])

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Iterator[Item]:
        names = self.options.fields
        text = text_field(item, names["text"])
        raw = item.data.get(names["events"])
        if raw is not None and not isinstance(raw, list):
            detail = f"{item.where()}: {names['events']!r} is a {type(raw).__name__}, expected a list"
            raise RecordRejected(Reason.BAD_FIELD_TYPE, detail)
        if not raw:
            require_unlabelled_split(item, names["events"], ctx, self.options.unlabelled_splits)
        built = _Built(ctx.record_id(item.key), text)
        modifications: list[Modification] = []
        seen: set[str] = set()
        for n, raw_event in enumerate(raw or []):
            where = f"{item.where()} event {n}"
            try:
                trigger, value, arguments = self._event(raw_event, text, seen)
            except RecordRejected as problem:
                detail = f"{where}: {problem.detail}"
                yield ctx.defect(item.path, item.locator, problem.reason, detail, item.key, annotation="events")
                continue
            event_id = f"{built.record_id}.v{n}"
            refs: list[EventArgument] = []
            for role, string in arguments:
                if not string.strip() or string not in text:
                    reason = Reason.EMPTY_ARGUMENT if not string.strip() else Reason.ARGUMENT_NOT_FOUND_IN_TEXT
                    detail = f"{where}: {role} {string!r} dropped from the event"
                    yield ctx.defect(item.path, item.locator, reason, detail, item.key, annotation="arguments")
                    continue
                refs.append(EventArgument(role, built.entity(string, role)))
            start = text.find(trigger)
            placed = Trigger([trigger], [(start, start + len(trigger))])
            built.events.append(Event(event_id, self.options.event_type, placed, refs))
            if value.strip():
                modifications.append(Modification(f"{event_id}.m", value.strip(), event_id))
                if value != value.strip():
                    detail = f"{where}: tendency {value!r} kept as {value.strip()!r}"
                    yield ctx.defect(item.path, item.locator, Reason.VALUE_WHITESPACE_TRIMMED, detail, item.key, dropped=False)
        ctx.count_read(item.key, events=len(raw or []))
        meta: dict[str, Any] = {"source": item.source(), **item.extras({names["text"], names["events"], names["id"]})}
        record = KBRecord(
            **ctx.common(item.key, labeled=bool(raw), meta=meta),
            passages=_passage(built.record_id, self.options.passage_type, text),
            entities=built.entities,
            events=built.events,
            modifications=modifications,
        )
        ctx.keep_raw(record.id, lambda: _dumps(item))
        yield record

    def _event(self, raw: Any, text: str, seen: set[str]) -> tuple[str, str, list[tuple[str, str]]]:
        """(trigger, tendency, [(role, string)]) of one event; :class:`RecordRejected` with the reason the whole event
        must be dropped (recorded as a defect of the kept record)."""
        names = self.options.fields
        if not isinstance(raw, dict):
            raise RecordRejected(Reason.MALFORMED_EVENT, f"not an object: {raw!r}")
        trigger, value = raw.get(names["trigger"]), raw.get(names["tendency"], "")
        lists = {role: raw.get(names[role], []) for role in _ROLES}
        good_lists = all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in lists.values())
        if not isinstance(trigger, str) or not trigger.strip() or not isinstance(value, str) or not good_lists:
            detail = f"needs a {names['trigger']!r} string, a tendency string and string lists, got {raw!r}"
            raise RecordRejected(Reason.MALFORMED_EVENT, detail)
        key = json.dumps(raw, ensure_ascii=False, sort_keys=True)
        if key in seen:
            raise RecordRejected(Reason.DUPLICATE_EVENT, f"{trigger!r} given twice with the same arguments")
        seen.add(key)
        if trigger not in text:
            detail = f"{names['trigger']} {trigger!r} does not occur verbatim in the text"
            raise RecordRejected(Reason.TRIGGER_NOT_FOUND_IN_TEXT, detail)
        return trigger, value, [(role, string) for role in _ROLES for string in lists[role]]
