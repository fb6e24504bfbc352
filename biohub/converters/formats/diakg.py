"""DiaKG nested JSON (diabetes knowledge graph): document > paragraphs > sentences, each with entities and relations.

A file holds one document object ``{"doc_id", "paragraphs": [{"paragraph_id", "paragraph", "sentences":
[{"sentence_id", "sentence", "start_idx", "end_idx", "entities": [{"entity_id", "entity", "entity_type",
"start_idx", "end_idx"}], "relations": [{"relation_id", "relation_type", "head_entity_id", "tail_entity_id"}]}]}]}``
(or a JSON array of such documents). Entity offsets are 0-based and end-exclusive within the sentence; sentence
offsets lie within the paragraph.

Each sentence becomes a ``kb`` record (key ``<doc_id>-<paragraph_id>-<sentence_id>``, document id ``doc_id``) with
one ``sentence`` passage, its entities (ids keep the source's ``T<n>``) and its relations (``arg1`` = head,
``arg2`` = tail). A sentence whose text is not the paragraph's text at its offsets, or that lacks its fields, is
rejected; a malformed entity, one whose offsets fall outside the sentence or whose text differs from the sentence
at its offsets, or a repeated entity id is dropped as a defect, as is a relation without a type or whose head or
tail is not among the sentence's kept entities, or a repeated relation id. ``meta`` holds the paragraph id and the
sentence's offsets in its paragraph. The raw source text of a record is its sentence object as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeGuard

from biohub.converters.base import Item, ReadContext, Reader, expand_paths, load_json
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, Passage, Relation

__all__ = ["DiakgReader"]


@dataclass(frozen=True, slots=True)
class _Sentence:
    """One sentence object with where it sits: its document, paragraph and position."""

    path: Path
    doc_id: str
    paragraph_id: str
    paragraph: str
    position: str  # "paragraph 3 sentence 1" (list indexes) for details
    data: Any


def _is_int(value: Any) -> TypeGuard[int]:
    """Whether ``value`` is a JSON integer (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _label(value: Any) -> str:
    """A non-empty id or type as a string (ids may be written as numbers), else ``""``."""
    if _is_int(value):
        return str(value)
    return value if isinstance(value, str) and value.strip() else ""


@register
class DiakgReader(Reader):
    """Reads DiaKG documents into one ``kb`` record per sentence, with its entities and relations."""

    name = "diakg"
    schema = "kb"
    description = "DiaKG nested JSON: doc > paragraphs > sentences with entities (end-exclusive offsets) and relations"

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its defects) or rejection per sentence of every document of every ``*.json`` file."""
        for path in expand_paths(paths, ".json"):
            data = load_json(path)
            documents = data if isinstance(data, list) else [data]
            for n, document in enumerate(documents):
                yield from self._document(path, n, document, ctx)

    def _document(self, path: Path, n: int, document: Any, ctx: ReadContext) -> Iterator[Item]:
        doc_id = _label(document.get("doc_id")) if isinstance(document, dict) else ""
        paragraphs = document.get("paragraphs") if isinstance(document, dict) else None
        if not doc_id or not isinstance(paragraphs, list):
            detail = f"document {n} needs a doc_id and a paragraphs list"
            yield ctx.reject(path, f"document {n}", Reason.INVALID_RECORD, detail)
            return
        for p, paragraph in enumerate(paragraphs):
            fields = paragraph if isinstance(paragraph, dict) else {}
            sentences, text, paragraph_id = fields.get("sentences"), fields.get("paragraph"), _label(fields.get("paragraph_id"))
            if not isinstance(sentences, list) or not isinstance(text, str) or not paragraph_id:
                detail = f"doc {doc_id} paragraph {p} needs a paragraph_id, a paragraph text and a sentences list"
                yield ctx.reject(path, f"{doc_id} paragraph {p}", Reason.INVALID_RECORD, detail, document_id=doc_id)
                continue
            for s, data in enumerate(sentences):
                sentence = _Sentence(path, doc_id, paragraph_id, text, f"doc {doc_id} paragraph {p} sentence {s}", data)
                convert = partial(self._convert, sentence, ctx)
                yield from self.rejecting(ctx, path, sentence.position, convert, document_id=doc_id)

    def _convert(self, sentence: _Sentence, ctx: ReadContext) -> Iterator[Item]:
        data = sentence.data
        if not isinstance(data, dict):
            raise RecordRejected(Reason.NOT_A_JSON_OBJECT, f"{sentence.position}: got {type(data).__name__}")
        text, sentence_id = data.get("sentence"), _label(data.get("sentence_id"))
        start, end = data.get("start_idx"), data.get("end_idx")
        if not isinstance(text, str) or not text.strip() or not sentence_id or not (_is_int(start) and _is_int(end)):
            detail = f"{sentence.position}: needs sentence_id, sentence, start_idx and end_idx"
            raise RecordRejected(Reason.MISSING_FIELD, detail)
        if sentence.paragraph[start:end] != text:
            detail = f"{sentence.position}: the paragraph at [{start}, {end}) is not the sentence"
            raise RecordRejected(Reason.BAD_OFFSETS, detail)
        key = f"{sentence.doc_id}-{sentence.paragraph_id}-{sentence_id}"
        if (first := ctx.read_before(key)) is not None:
            raise RecordRejected(Reason.DUPLICATE_ID, f"{sentence.position}: key {key} already read at {first}")
        ctx.note_read(key, sentence.position)
        record_id = ctx.record_id(key, sentence.doc_id)
        raw_entities, raw_relations = data.get("entities") or [], data.get("relations") or []
        if not isinstance(raw_entities, list) or not isinstance(raw_relations, list):
            raise RecordRejected(Reason.BAD_FIELD_TYPE, f"{sentence.position}: entities and relations must be lists")
        defect = partial(ctx.defect, sentence.path, sentence.position, document_id=sentence.doc_id)
        entities: dict[str, Entity] = {}
        for n, raw in enumerate(raw_entities):
            try:
                source_id, entity = self._entity(raw, text, record_id, entities)
            except RecordRejected as problem:
                yield defect(problem.reason, f"{sentence.position} entity {n}: {problem.detail}", annotation="entities")
                continue
            entities[source_id] = entity
        relations: dict[str, Relation] = {}
        for n, raw in enumerate(raw_relations):
            try:
                source_id, relation = self._relation(raw, record_id, entities, relations)
            except RecordRejected as problem:
                yield defect(problem.reason, f"{sentence.position} relation {n}: {problem.detail}", annotation="relations")
                continue
            relations[source_id] = relation
        ctx.count_read(sentence.doc_id, entities=len(raw_entities), relations=len(raw_relations))
        meta = {"paragraph_id": sentence.paragraph_id, "paragraph_offsets": [start, end], "source": {"path": sentence.path.name}}
        record = KBRecord(
            **ctx.common(key, sentence.doc_id, meta=meta),
            passages=[Passage(f"{record_id}.p0", "sentence", [text], [(0, len(text))])],
            entities=list(entities.values()),
            relations=list(relations.values()),
        )
        ctx.keep_raw(record.id, lambda: json.dumps(data, ensure_ascii=False))
        yield record

    @staticmethod
    def _entity(raw: Any, text: str, record_id: str, kept: dict[str, Entity]) -> tuple[str, Entity]:
        """(source id, entity) of one entity object; :class:`RecordRejected` with the reason it must be dropped."""
        if not isinstance(raw, dict):
            raise RecordRejected(Reason.MALFORMED_MENTION, f"not an object: {raw!r}")
        source_id, label = _label(raw.get("entity_id")), _label(raw.get("entity_type"))
        start, end = raw.get("start_idx"), raw.get("end_idx")
        if not source_id or not label or not (_is_int(start) and _is_int(end)):
            detail = f"needs entity_id, entity_type and integer start_idx/end_idx, got {raw!r}"
            raise RecordRejected(Reason.MALFORMED_MENTION, detail)
        if not 0 <= start < end <= len(text):
            detail = f"{source_id} [{start}, {end}) outside the {len(text)}-character sentence"
            raise RecordRejected(Reason.OFFSETS_OUT_OF_RANGE, detail)
        stated = raw.get("entity")
        if stated is not None and stated != text[start:end]:
            detail = f"{source_id} {stated!r} but the text is {text[start:end]!r}"
            raise RecordRejected(Reason.MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS, detail)
        if source_id in kept:
            raise RecordRejected(Reason.DUPLICATE_ANNOTATION_ID, f"entity id {source_id} given twice")
        return source_id, Entity(f"{record_id}.{source_id}", label, [text[start:end]], [(start, end)])

    @staticmethod
    def _relation(
        raw: Any, record_id: str, entities: dict[str, Entity], kept: dict[str, Relation]
    ) -> tuple[str, Relation]:
        """(source id, relation) of one relation object; :class:`RecordRejected` with the reason it must be dropped."""
        if not isinstance(raw, dict) or not _label(raw.get("relation_id")):
            raise RecordRejected(Reason.MALFORMED_RELATION, f"needs an object with a relation_id, got {raw!r}")
        source_id, label = _label(raw.get("relation_id")), _label(raw.get("relation_type"))
        if not label:
            raise RecordRejected(Reason.RELATION_WITHOUT_TYPE, f"{source_id} has no relation_type")
        head, tail = _label(raw.get("head_entity_id")), _label(raw.get("tail_entity_id"))
        missing = [name for name, ref in (("head", head), ("tail", tail)) if ref not in entities]
        if missing:
            detail = f"{source_id}: {' and '.join(missing)} not among the sentence's entities"
            raise RecordRejected(Reason.RELATION_ARGUMENT_MISSING, detail)
        if source_id in kept:
            raise RecordRejected(Reason.DUPLICATE_ANNOTATION_ID, f"relation id {source_id} given twice")
        return source_id, Relation(f"{record_id}.{source_id}", label, entities[head].id, entities[tail].id)
