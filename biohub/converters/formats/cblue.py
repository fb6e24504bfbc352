"""CBLUE (Chinese Biomedical Language Understanding Evaluation) JSON files: four readers and their helpers.

Every CBLUE file is a JSON array of objects (CMeIE ships JSON Lines); both layouts are read with
:func:`~biohub.converters.base.iter_json_records`. A record's key is its ``id`` field when present, else its
element index (JSON array) or 1-based line number (JSON Lines); when one split has several files the key is
prefixed with the file stem, so ids stay unique. Test files are unlabelled (no ``entities`` / ``spo_list`` /
``label`` key): in the splits named by ``unlabelled_splits`` such records are kept with ``labeled=False``;
elsewhere a record without labels is rejected (``missing labels``). A test record that does carry labels is
kept labelled.

* ``cblue-ner`` (CMeEE): ``{"text", "entities": [{"start_idx", "end_idx" (inclusive), "type", "entity"}]}``
  -> ``kb`` with one passage; nested mentions are kept. A mention whose offsets fall outside the text, whose
  ``entity`` string differs from the text at its offsets, which is malformed or an exact duplicate is
  dropped as a defect.
* ``cblue-re`` (CMeIE): ``{"text", "spo_list": [{"Combined", "predicate", "subject", "subject_type",
  "object": {"@value"}, "object_type": {"@value"}}]}`` -> ``kb``. The triples give strings, not offsets:
  each argument is placed at the FIRST occurrence of its string in the text (``str.find``); one entity per
  distinct (span, type); relation type = predicate, arg1 = subject, arg2 = object. An argument not found
  verbatim drops the relation (defect ``argument not found in text``); with ``schemas`` set, a
  (subject_type, predicate, object_type) triple missing from that schema table drops it too. The
  ``Combined`` flags are kept in ``meta.combined`` (relation id -> flag).
* ``cblue-cls`` (CHIP-CTC, KUAKE-QIC): ``{"id", "text", "label"}`` -> ``text``; field names via ``fields``;
  a list label only with ``multi_label``.
* ``cblue-pairs`` (CHIP-STS, KUAKE-QQR): ``{"id", "text1", "text2", "label", ...}`` -> ``pairs``; field
  names via ``fields``; other fields (e.g. ``category``) go to ``meta``.

The JSON record helpers (:func:`~biohub.converters.json_items.json_items`, ...) are shared with the other
JSON readers (promptcblue, taiyi-jsonl, alpaca).

The raw source text of a record (``ReadContext.keep_raw``) is its object, ``json.dumps(obj, ensure_ascii=False)``
(keys in file order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeGuard

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, is_present, iter_json_records
from biohub.converters.json_items import (
    JsonItem,
    convert_items,
    json_items,
    label_value,
    merge_fields,
    require_unlabelled_split,
    text_field,
)
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, PairsRecord, Passage, Relation, TextRecord


# --------------------------------------------------------------------------------------------- cblue-ner
@dataclass(slots=True)
class CblueNerOptions:
    """``passage_type``: type of the record's single passage (``sentence`` or ``text``); ``unlabelled_splits``:
    splits whose records may lack ``entities`` (kept with ``labeled=False``)."""

    passage_type: str = "text"
    unlabelled_splits: tuple[str, ...] = ("test",)


@register
class CblueNerReader(Reader):
    """Reads CBLUE NER objects (CMeEE) into one-passage ``kb`` records, nested mentions kept, bad mentions as defects."""

    name = "cblue-ner"
    schema = "kb"
    description = "CBLUE NER JSON (CMeEE): text + entities with inclusive start_idx/end_idx; nested mentions"
    Options = CblueNerOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its mention defects) or rejection per object of every file."""
        yield from convert_items(paths, ctx, partial(self._convert, ctx=ctx))

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Iterator[Item]:
        text = text_field(item, "text")
        raw = item.data.get("entities")
        if raw is None:
            require_unlabelled_split(item, "entities", ctx, self.options.unlabelled_splits)
        elif not isinstance(raw, list):
            detail = f"{item.where()}: 'entities' is a {type(raw).__name__}, expected a list"
            raise RecordRejected(Reason.BAD_ENTITIES_FIELD, detail)
        record_id = ctx.record_id(item.key)
        entities: list[Entity] = []
        seen: set[tuple[int, int, str]] = set()
        for n, mention in enumerate(raw or []):
            try:
                self._check(mention, text, seen)
            except RecordRejected as problem:
                detail = f"{item.where()} mention {n}: {problem.detail}"
                yield ctx.defect(item.path, item.locator, problem.reason, detail, document_id=item.key, annotation="entities")
                continue
            start, end, label = mention["start_idx"], mention["end_idx"] + 1, mention["type"]
            seen.add((start, end, label))
            entities.append(Entity(f"{record_id}.e{n}", label, [text[start:end]], [(start, end)]))
        meta = {"source": item.source(), **item.extras({"text", "entities", "id"})}
        ctx.count_read(item.key, entities=len(raw or []))
        record = KBRecord(
            **ctx.common(item.key, labeled=raw is not None, meta=meta),
            passages=[Passage(f"{record_id}.p0", self.options.passage_type, [text], [(0, len(text))])],
            entities=entities,
        )
        ctx.keep_raw(record.id, lambda: _dumps(item))
        yield record

    @staticmethod
    def _check(mention: Any, text: str, seen: set[tuple[int, int, str]]) -> None:
        """Raise :class:`RecordRejected` with the reason a mention must be dropped (the caller records it as a defect
        of the kept record, not a rejection); return when the mention is good."""
        if not isinstance(mention, dict):
            raise RecordRejected(Reason.MALFORMED_MENTION, f"not an object: {mention!r}")
        start, last, label = mention.get("start_idx"), mention.get("end_idx"), mention.get("type")
        if not (_is_integer(start) and _is_integer(last)) or not isinstance(label, str) or not label:
            raise RecordRejected(Reason.MALFORMED_MENTION, f"needs integer start_idx/end_idx and a type, got {mention!r}")
        if not 0 <= start <= last < len(text):
            detail = f"[{start}, {last}] (inclusive) outside the {len(text)}-character text"
            raise RecordRejected(Reason.OFFSETS_OUT_OF_RANGE, detail)
        stated = mention.get("entity")
        if stated is not None and stated != text[start : last + 1]:
            detail = f"entity {stated!r} but the text at [{start}, {last}] is {text[start : last + 1]!r}"
            raise RecordRejected(Reason.MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS, detail)
        if (start, last + 1, label) in seen:
            raise RecordRejected(Reason.DUPLICATE_MENTION, f"{label} [{start}, {last}] {text[start : last + 1]!r} given twice")


def _dumps(item: JsonItem) -> str:
    """The raw source text of a record: its object as JSON, keys in file order, non-ASCII kept."""
    return json.dumps(item.data, ensure_ascii=False)


def _is_integer(value: Any) -> TypeGuard[int]:
    """Whether ``value`` is a JSON integer (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_filled(value: Any) -> TypeGuard[str]:
    """Whether ``value`` is a non-empty string."""
    return isinstance(value, str) and bool(value)


def _value(raw: Any) -> Any:
    """CMeIE wraps objects and object types as ``{"@value": ...}``; plain strings are accepted too."""
    return raw.get("@value") if isinstance(raw, dict) else raw


# --------------------------------------------------------------------------------------------- cblue-re
@dataclass(slots=True)
class CblueReOptions:
    """``schemas``: file name of the schema table (JSON Lines of {subject_type, predicate, object_type}, e.g.
    ``53_schemas.json``), taken from the input files when listed there, else looked up beside each data file;
    empty: no schema check. ``passage_type`` / ``unlabelled_splits`` as for ``cblue-ner``."""

    schemas: str = ""
    passage_type: str = "text"
    unlabelled_splits: tuple[str, ...] = ("test",)


@dataclass(slots=True)
class _Triple:
    subject: str
    subject_type: str
    predicate: str
    object: str
    object_type: str
    combined: Any


@register
class CblueReReader(Reader):
    """Reads CBLUE relation triples (CMeIE) into ``kb`` records, placing each argument string at its first occurrence."""

    name = "cblue-re"
    schema = "kb"
    description = "CBLUE relation JSON Lines (CMeIE): text + spo_list strings, placed at their first occurrence"
    Options = CblueReOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its triple defects) or rejection per object of every data file; the ``schemas`` table,
        given or found beside the data, is read as the schema check, never as records."""
        schema_name = self.options.schemas
        listed = [p for p in paths if schema_name and p.name == schema_name]
        # a folder input would otherwise read the schema table beside the data as records
        expanded = expand_paths([p for p in paths if p not in listed], ".json")
        data = [p for p in expanded if not schema_name or p.name != schema_name]
        tables: dict[Path, set[tuple[str, str, str]]] = {p: self._schemas(p) for p in listed}
        for item in json_items(data, ctx):
            if not isinstance(item, JsonItem):
                yield item
                continue
            table = None
            if schema_name:
                table_path = listed[0] if listed else item.path.parent / schema_name
                if table_path not in tables:
                    tables[table_path] = self._schemas(table_path)
                table = tables[table_path]
            convert = partial(self._convert, item, ctx, table)
            yield from self.rejecting(ctx, item.path, item.locator, convert, document_id=item.key)

    @staticmethod
    def _schemas(path: Path) -> set[tuple[str, str, str]]:
        if not is_present(path):
            raise ConvertError(path, "schema file not found")
        table: set[tuple[str, str, str]] = set()
        for position, obj in iter_json_records(path):
            keys = ("subject_type", "predicate", "object_type")
            subject_type, predicate, object_type = (_value(obj.get(k)) if isinstance(obj, dict) else None for k in keys)
            if not (_is_filled(subject_type) and _is_filled(predicate) and _is_filled(object_type)):
                reason = f"schema entry needs subject_type, predicate and object_type strings, got {obj!r}"
                raise ConvertError(path, reason, line=position)
            table.add((subject_type, predicate, object_type))
        return table

    def _convert(self, item: JsonItem, ctx: ReadContext, table: set[tuple[str, str, str]] | None) -> Iterator[Item]:
        text = text_field(item, "text")
        raw = item.data.get("spo_list")
        if raw is None:
            require_unlabelled_split(item, "spo_list", ctx, self.options.unlabelled_splits)
        elif not isinstance(raw, list):
            detail = f"{item.where()}: 'spo_list' is a {type(raw).__name__}, expected a list"
            raise RecordRejected(Reason.BAD_SPO_LIST_FIELD, detail)
        record_id = ctx.record_id(item.key)
        entity_ids: dict[tuple[int, int, str], str] = {}
        entities: list[Entity] = []
        relations: list[Relation] = []
        combined: dict[str, Any] = {}

        def entity(start: int, string: str, label: str) -> str:
            span = (start, start + len(string), label)
            if span not in entity_ids:
                entity_ids[span] = f"{record_id}.e{len(entities)}"
                entities.append(Entity(entity_ids[span], label, [string], [span[:2]]))
            return entity_ids[span]

        for n, raw_triple in enumerate(raw or []):
            try:
                triple = self._triple(raw_triple, text, table)
            except RecordRejected as problem:
                detail = f"{item.where()} triple {n}: {problem.detail}"
                yield ctx.defect(item.path, item.locator, problem.reason, detail, document_id=item.key, annotation="relations")
                continue
            arg1 = entity(text.find(triple.subject), triple.subject, triple.subject_type)
            arg2 = entity(text.find(triple.object), triple.object, triple.object_type)
            relation_id = f"{record_id}.r{n}"
            relations.append(Relation(relation_id, triple.predicate, arg1, arg2))
            if triple.combined is not None:
                combined[relation_id] = triple.combined
        meta: dict[str, Any] = {"source": item.source(), **item.extras({"text", "spo_list", "id"})}
        if combined:
            meta["combined"] = combined
        ctx.count_read(item.key, relations=len(raw or []))
        record = KBRecord(
            **ctx.common(item.key, labeled=raw is not None, meta=meta),
            passages=[Passage(f"{record_id}.p0", self.options.passage_type, [text], [(0, len(text))])],
            entities=entities,
            relations=relations,
        )
        ctx.keep_raw(record.id, lambda: _dumps(item))
        yield record

    @staticmethod
    def _triple(raw: Any, text: str, table: set[tuple[str, str, str]] | None) -> _Triple:
        """The triple of one ``spo_list`` entry; :class:`RecordRejected` with the reason it must be dropped (the caller
        records it as a defect of the kept record)."""
        if not isinstance(raw, dict):
            raise RecordRejected(Reason.MALFORMED_TRIPLE, f"not an object: {raw!r}")
        subject, subject_type, predicate = raw.get("subject"), raw.get("subject_type"), raw.get("predicate")
        obj, object_type = _value(raw.get("object")), _value(raw.get("object_type"))
        if not (
            _is_filled(subject) and _is_filled(subject_type) and _is_filled(predicate)
            and _is_filled(obj) and _is_filled(object_type)
        ):
            detail = f"needs subject, subject_type, predicate, object and object_type strings, got {raw!r}"
            raise RecordRejected(Reason.MALFORMED_TRIPLE, detail)
        triple = _Triple(subject, subject_type, predicate, obj, object_type, raw.get("Combined"))
        if table is not None and (triple.subject_type, triple.predicate, triple.object_type) not in table:
            detail = f"({triple.subject_type}, {triple.predicate}, {triple.object_type})"
            raise RecordRejected(Reason.TRIPLE_NOT_IN_THE_SCHEMAS, detail)
        for role, string in (("subject", triple.subject), ("object", triple.object)):
            if string not in text:
                raise RecordRejected(Reason.ARGUMENT_NOT_FOUND_IN_TEXT, f"{role} {string!r} does not occur verbatim in the text")
        return triple


# --------------------------------------------------------------------------------------------- cblue-cls
_CLS_FIELDS = {"text": "text", "label": "label", "id": "id"}


@dataclass(slots=True)
class CblueClsOptions:
    """``fields``: the file's names for ``text``, ``label`` and ``id`` (KUAKE-QIC: ``text: query``); names not
    given keep their defaults; an empty ``id`` name keys records by position. ``multi_label``: a list label is
    read as a multi-label record; when False (single-label corpora such as CHIP-CTC and KUAKE-QIC) a list label
    is rejected (``bad label``). ``unlabelled_splits``: splits whose records may lack the label."""

    fields: dict[str, str] = field(default_factory=lambda: dict(_CLS_FIELDS))
    multi_label: bool = False
    unlabelled_splits: tuple[str, ...] = ("test",)

    def __post_init__(self) -> None:
        self.fields = merge_fields(self.fields, _CLS_FIELDS, "cblue-cls")


@register
class CblueClsReader(Reader):
    """Reads CBLUE classification objects (CHIP-CTC, KUAKE-QIC) into ``text`` records, single- or multi-label."""

    name = "cblue-cls"
    schema = "text"
    description = "CBLUE classification JSON (CHIP-CTC, KUAKE-QIC): id + text + label; field names configurable"
    Options = CblueClsOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``text`` record or rejection per object of every file, keyed by the mapped ``id`` field or position."""
        yield from convert_items(paths, ctx, partial(self._convert, ctx=ctx), id_field=self.options.fields["id"])

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Item:
        names = self.options.fields
        text = text_field(item, names["text"])
        raw = item.data.get(names["label"])
        labels: list[str] = []
        if raw is None:
            require_unlabelled_split(item, names["label"], ctx, self.options.unlabelled_splits)
        elif isinstance(raw, list):
            if not self.options.multi_label:
                detail = f"{item.where()}: {names['label']!r} is the list {raw!r} in a single-label corpus (option multi_label)"
                raise RecordRejected(Reason.BAD_LABEL, detail)
            if not raw or not all(isinstance(x, str) and x.strip() for x in raw):
                raise RecordRejected(
                    Reason.BAD_LABEL, f"{item.where()}: {names['label']!r} is {raw!r}, expected non-empty label strings"
                )
            labels = list(raw)
        else:
            labels = [label_value(item, names["label"])]
        meta = {"source": item.source(), **item.extras(set(names.values()))}
        record = TextRecord(**ctx.common(item.key, labeled=raw is not None, meta=meta), text=text, labels=labels)
        ctx.keep_raw(record.id, lambda: _dumps(item))
        return record


# --------------------------------------------------------------------------------------------- cblue-pairs
_PAIR_FIELDS = {"text_1": "text1", "text_2": "text2", "label": "label", "id": "id"}


@dataclass(slots=True)
class CbluePairsOptions:
    """``fields``: the file's names for ``text_1``, ``text_2``, ``label`` and ``id`` (KUAKE-QQR: ``text_1:
    query1, text_2: query2``); names not given keep their defaults; other fields (e.g. ``category``) go to
    ``meta``. ``unlabelled_splits``: splits whose records may lack the label."""

    fields: dict[str, str] = field(default_factory=lambda: dict(_PAIR_FIELDS))
    unlabelled_splits: tuple[str, ...] = ("test",)

    def __post_init__(self) -> None:
        self.fields = merge_fields(self.fields, _PAIR_FIELDS, "cblue-pairs")


@register
class CbluePairsReader(Reader):
    """Reads CBLUE sentence-pair objects (CHIP-STS, KUAKE-QQR) into ``pairs`` records, their other fields kept in ``meta``."""

    name = "cblue-pairs"
    schema = "pairs"
    description = "CBLUE sentence-pair JSON (CHIP-STS, KUAKE-QQR): id + two texts + label; field names configurable"
    Options = CbluePairsOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``pairs`` record or rejection per object of every file, keyed by the mapped ``id`` field or position."""
        yield from convert_items(paths, ctx, partial(self._convert, ctx=ctx), id_field=self.options.fields["id"])

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Item:
        names = self.options.fields
        text_1 = text_field(item, names["text_1"])
        text_2 = text_field(item, names["text_2"])
        label = ""
        labeled = item.data.get(names["label"]) is not None
        if not labeled:
            require_unlabelled_split(item, names["label"], ctx, self.options.unlabelled_splits)
        else:
            label = label_value(item, names["label"])
        meta = {"source": item.source(), **item.extras(set(names.values()))}
        record = PairsRecord(**ctx.common(item.key, labeled=labeled, meta=meta), text_1=text_1, text_2=text_2, label=label)
        ctx.keep_raw(record.id, lambda: _dumps(item))
        return record
