"""PPI learning-format XML (the "unified PPI corpora" of Pyysalo et al. 2008: AIMed, BioInfer, HPRD50, IEPA, LLL).

A file is ``<corpus source=...>`` holding ``<document id>`` elements; each document becomes one ``kb`` record
(keyed by its ``id``; a corpus split across several files is read file after file). A document's text is its
sentence texts joined by one space, each sentence a passage of type ``sentence``. An ``<entity>``'s
``charOffset`` is relative to its sentence with an EXCLUSIVE end (``"4-19"`` is 15 characters), and
``"a-b,c-d"`` is a discontinuous mention (unlike the DDI XML's inclusive ``;``-separated offsets; both
conventions live in :mod:`biohub.converters.sentence_xml`). ``<interaction e1 e2 type>`` elements are the
positive pairs and become relations typed by their ``type`` (``PPI``), ``e1`` as ``arg1``. Every other
unordered pair of two kept entities of the same sentence is an implicit negative: the reader makes it explicit
in ``meta.negative_pairs`` (entity-id pairs, in document order), so a pair classifier sees every candidate,
and ``meta.pairs`` counts both kinds.

The ``type`` attribute of an entity is its class in AIMed and BioInfer, but HPRD50 stores HPRD identifiers
there (``||``-joined when ambiguous), IEPA has no ``type`` and LLL gives the agent/target role: the options
``entity_type``, ``type_as_normalization`` and ``missing_type`` say how to read it, and the source value is
kept in ``meta.source_entity_types`` whenever it is not the entity's type.

Annotation problems inside a kept document are defects, never guesses: an entity without an id or offsets, with
malformed or overlapping offset pieces, offsets outside its sentence or a text that its offsets do not spell is
dropped (with the interactions using it); an entity id given twice drops the second; an interaction whose
argument is not a kept entity of its sentence, or that repeats a pair already given, is dropped. A document
without sentences, a sentence without ``text`` and a document id given twice are rejections. Files are parsed
with :func:`biohub.converters.base.parse_xml` (entity declarations refused).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, parse_xml
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.converters.sentence_xml import char_offsets, disjoint, locate
from biohub.schema import Entity, KBRecord, Normalization, Passage, Relation


@dataclass(slots=True)
class PpiXmlOptions:
    """Args:
    passage_type: type of the sentence passages.
    entity_type: when set, the type of every entity (the source ``type`` attribute is then kept in
        ``meta.source_entity_types``, or read as identifiers with ``type_as_normalization``); "" uses the
        ``type`` attribute as the entity type.
    type_as_normalization: when set (a database name, e.g. ``HPRD``), the ``type`` attribute holds ``||``-joined
        identifiers of that database, which become the entity's normalisations; needs ``entity_type``.
    missing_type: type given to an entity without a ``type`` attribute ("" drops such an entity as a defect).
    """

    passage_type: str = "sentence"
    entity_type: str = ""
    type_as_normalization: str = ""
    missing_type: str = ""

    def __post_init__(self) -> None:
        if self.type_as_normalization and not self.entity_type:
            raise ValueError("option type_as_normalization needs entity_type (the class the identifiers belong to)")


@dataclass(slots=True)
class _Doc:
    """What one document converts into, filled sentence by sentence."""

    key: str
    record_id: str
    passages: list[Passage] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    negative_pairs: list[list[str]] = field(default_factory=list)
    source_ids: list[str] = field(default_factory=list)
    source_types: list[str | None] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    items: list[Item] = field(default_factory=list)
    position: int = 0
    read_entities: int = 0
    read_relations: int = 0


@register
class PpiXmlReader(Reader):
    """Reads PPI learning-format XML into ``kb`` records of sentence passages, mentions and interaction relations."""

    name = "ppi-xml"
    schema = "kb"
    description = "PPI learning-format XML (corpus/document/sentence; end-exclusive charOffsets; <interaction> positives)"
    Options = PpiXmlOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its defects) or rejection per ``<document>`` of every ``*.xml`` file."""
        for path in expand_paths(paths, ".xml"):
            root = parse_xml(path)
            if root.tag != "corpus":
                raise ConvertError(path, f"root element is <{root.tag}>, expected <corpus>")
            for number, document in enumerate(root.findall("document")):
                key = document.get("id") or f"{path.stem}.d{number}"
                yield from self.rejecting(ctx, path, key, partial(self._document, path, key, document, ctx), document_id=key)

    # ----------------------------------------------------------------------------------- documents
    def _document(self, path: Path, key: str, document: ET.Element, ctx: ReadContext) -> Iterator[Item]:
        if document.get("id") is None:
            raise RecordRejected(Reason.MISSING_ATTRIBUTE, f"document {key} has no id attribute")
        earlier = ctx.read_before(key)
        if earlier is not None:
            raise RecordRejected(Reason.DUPLICATE_ID, f"document id {key} already read at {earlier}")
        ctx.note_read(key, f"{path.name} {key}")
        sentences = document.findall("sentence")
        if not sentences:
            raise RecordRejected(Reason.NO_SENTENCES, f"document {key} has no <sentence> elements")
        missing = [s.get("id", f"#{i}") for i, s in enumerate(sentences) if s.get("text") is None]
        if missing:
            raise RecordRejected(Reason.MISSING_ATTRIBUTE, f"sentence(s) without a text attribute: {', '.join(missing)}")
        doc = _Doc(key, ctx.record_id(key))
        for sentence in sentences:
            self._sentence(path, sentence, doc, ctx)
        yield from doc.items
        meta: dict[str, object] = {
            "source": {"path": path.name, "record": key},
            "orig_id": document.get("origId") or document.get("PMID") or "",
            "sentence_ids": [s.get("id", "") for s in sentences],
            "source_entity_ids": doc.source_ids,
            "negative_pairs": doc.negative_pairs,
            "pairs": {"positive": len(doc.relations), "negative": len(doc.negative_pairs)},
        }
        if any(t is not None for t in doc.source_types):
            meta["source_entity_types"] = doc.source_types
        ctx.count_read(key, entities=doc.read_entities, relations=doc.read_relations)
        record = KBRecord(**ctx.common(key, meta=meta), passages=doc.passages, entities=doc.entities, relations=doc.relations)
        ctx.keep_raw(record.id, lambda: ET.tostring(document, encoding="unicode"))
        yield record

    def _sentence(self, path: Path, sentence: ET.Element, doc: _Doc, ctx: ReadContext) -> None:
        text = sentence.get("text", "")
        start = doc.position
        passage_id = f"{doc.record_id}.p{len(doc.passages)}"
        doc.passages.append(Passage(passage_id, self.options.passage_type, [text], [(start, start + len(text))]))
        doc.position = start + len(text) + 1
        sentence_id = sentence.get("id", f"{doc.key}.s{len(doc.passages) - 1}")
        kept: dict[str, str] = {}  # source entity id -> entity id, this sentence
        for element in sentence.findall("entity"):
            doc.read_entities += 1
            self._entity(path, sentence_id, element, text, start, doc, kept, ctx)
        positives: set[frozenset[str]] = set()
        for interaction in sentence.findall("interaction"):
            doc.read_relations += 1
            self._interaction(path, sentence_id, interaction, doc, kept, positives, ctx)
        ids = list(kept.values())
        for i, first in enumerate(ids):
            doc.negative_pairs.extend([first, second] for second in ids[i + 1 :] if frozenset((first, second)) not in positives)

    # ----------------------------------------------------------------------------------- entities
    def _entity(
        self, path: Path, sentence_id: str, element: ET.Element, text: str, base: int, doc: _Doc, kept: dict[str, str],
        ctx: ReadContext,
    ) -> None:
        source_id, raw, stated = element.get("id", ""), element.get("charOffset"), element.get("text")
        where = source_id or sentence_id

        def drop(reason: Reason, detail: str) -> None:
            doc.items.append(ctx.defect(path, where, reason, detail, document_id=doc.key, annotation="entities"))

        if not source_id or raw is None or stated is None:
            return drop(Reason.ENTITY_MISSING_ATTRIBUTE, f"entity in {sentence_id} lacks id, charOffset or text")
        if source_id in doc.seen_ids:
            return drop(Reason.DUPLICATE_ANNOTATION_ID, f"entity id {source_id} given more than once")
        doc.seen_ids.add(source_id)
        etype, normalized, source_type = self._typed(element.get("type"))
        if not etype:
            return drop(Reason.ENTITY_MISSING_ATTRIBUTE, f"{source_id}: no type attribute and no missing_type option")
        spans = char_offsets(raw, ",", inclusive_end=False)
        if spans is None or not disjoint(spans):
            return drop(Reason.BAD_CHAROFFSET, f"{source_id}: charOffset {raw!r}")
        if any(end > len(text) for _, end in spans):
            detail = f"{source_id}: charOffset {raw} beyond its {len(text)}-character sentence"
            return drop(Reason.MENTION_OFFSETS_OUT_OF_RANGE, detail)
        if locate(spans, text, stated, 0) is None:
            detail = f"{source_id}: {raw} gives {[text[s:e] for s, e in spans]!r}, text is {stated!r}"
            return drop(Reason.MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS, detail)
        entity_id = f"{doc.record_id}.e{len(doc.entities)}"
        offsets = [(base + s, base + e) for s, e in spans]
        doc.entities.append(Entity(entity_id, etype, [text[s:e] for s, e in spans], offsets, normalized))
        doc.source_ids.append(source_id)
        doc.source_types.append(source_type)
        kept[source_id] = entity_id
        return None

    def _typed(self, raw: str | None) -> tuple[str, list[Normalization], str | None]:
        """An entity's type, normalisations and the source type kept in meta (None when it is the type itself)."""
        if raw is None:
            return self.options.missing_type, [], None
        if not self.options.entity_type:
            return raw, [], None
        if self.options.type_as_normalization:
            db = self.options.type_as_normalization
            return self.options.entity_type, [Normalization(db, part) for part in raw.split("||") if part], raw
        return self.options.entity_type, [], raw

    # ----------------------------------------------------------------------------------- interactions
    def _interaction(
        self, path: Path, sentence_id: str, element: ET.Element, doc: _Doc, kept: dict[str, str], positives: set[frozenset[str]],
        ctx: ReadContext,
    ) -> None:
        where = element.get("id") or sentence_id
        arg1, arg2 = kept.get(element.get("e1", "")), kept.get(element.get("e2", ""))

        def drop(reason: Reason, detail: str) -> None:
            doc.items.append(ctx.defect(path, where, reason, detail, document_id=doc.key, annotation="relations"))

        if arg1 is None or arg2 is None:
            detail = f"{where}: e1={element.get('e1')!r} e2={element.get('e2')!r} is not a kept entity of sentence {sentence_id}"
            return drop(Reason.PAIR_ARGUMENT_MISSING, detail)
        if not element.get("type"):
            return drop(Reason.RELATION_WITHOUT_TYPE, f"{where}: interaction without a type attribute")
        pair = frozenset((arg1, arg2))
        if pair in positives:
            return drop(Reason.DUPLICATE_RELATION, f"{where}: pair {element.get('e1')}, {element.get('e2')} already given")
        positives.add(pair)
        doc.relations.append(Relation(f"{doc.record_id}.r{len(doc.relations)}", element.get("type", ""), arg1, arg2))
        return None
