"""DDI corpus XML (DDIExtraction 2013): one ``<document>`` per file, sentences with entities and pairs.

Each file becomes one ``kb`` record. The document text is the sentence texts joined by one space (texts kept
verbatim, trailing blanks and ``\\r\\n`` included); each sentence is a passage of type ``sentence`` at its
offset. An entity's ``charOffset`` is relative to its sentence with an INCLUSIVE end (``"4-19"`` is 16
characters); ``"a-b;c-d"`` is a discontinuous mention. Pairs with ``ddi="true"`` become relations typed by
their ``type`` (mechanism / effect / advise / int); ``ddi="false"`` pairs are not relations but are kept in
``meta.negative_pairs`` (as entity-id pairs) so nothing is lost.

Annotation problems inside a kept document are defects, never guesses: an entity whose offsets are out of
range or do not spell its ``text`` is dropped (with the pairs using it) unless shifting all its pieces by the
same small amount (``max_shift``) makes them spell it, in which case it is repaired and counted. A
continuous mention must spell its ``text`` exactly; the ``text`` attribute of a discontinuous mention joins
its pieces without a fixed separator, so it is compared with the pieces ignoring whitespace. A ``ddi="true"``
pair without a ``type`` is kept with ``untyped_ddi_type`` (DDI's generic "interaction" type) and counted as a
defect, or dropped when that option is empty. Files are parsed with :func:`biohub.converters.base.parse_xml`
(entity declarations refused). A document giving one sentence id twice is rejected (``duplicate id``).

The raw source text of a record (``ReadContext.keep_raw``) is its ``<document>`` element (the file's root)
re-serialised, ``ET.tostring(document, encoding="unicode")``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, parse_xml
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.converters.sentence_xml import char_offsets, locate
from biohub.schema import Entity, KBRecord, Passage, Relation


@dataclass(slots=True)
class DdiXmlOptions:
    """``passage_type``: type of the sentence passages; ``untyped_ddi_type``: relation type given to a
    ``ddi="true"`` pair that has no ``type`` ("" drops such pairs instead); ``max_shift``: largest uniform
    offset shift tried to repair an entity whose offsets miss its text by a few characters (0: never repair)."""

    passage_type: str = "sentence"
    untyped_ddi_type: str = "int"
    max_shift: int = 1


@dataclass(slots=True)
class _Doc:
    """What one document converts into, filled sentence by sentence."""

    record_id: str
    passages: list[Passage] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    negative_pairs: list[list[str]] = field(default_factory=list)
    source_ids: list[str] = field(default_factory=list)
    by_source_id: dict[str, str] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    position: int = 0


@register
class DdiXmlReader(Reader):
    """Reads DDI 2013 XML documents into ``kb`` records of sentence passages, drug mentions and typed ddi relations."""

    name = "ddi-xml"
    schema = "kb"
    description = "DDI corpus 2013 XML (one document per file; sentence-relative inclusive charOffsets; ddi pairs)"
    Options = DdiXmlOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its defects and repairs) or rejection per ``*.xml`` file, keyed by the file stem."""
        for path in expand_paths(paths, ".xml"):
            yield from self.rejecting(ctx, path, path.stem, partial(self._document, path, ctx))

    # ----------------------------------------------------------------------------------- documents
    def _document(self, path: Path, ctx: ReadContext) -> Iterator[Item]:
        root = parse_xml(path)
        if root.tag != "document":
            raise ConvertError(path, f"root element is <{root.tag}>, expected <document>")
        key = root.get("id") or path.stem
        sentences = root.findall("sentence")
        if not sentences:
            raise RecordRejected("no sentences", f"document {key} has no <sentence> elements", locator=key, document_id=key)
        missing = [s.get("id", f"#{i}") for i, s in enumerate(sentences) if s.get("text") is None]
        if missing:
            raise RecordRejected(
                "missing attribute", f"sentence(s) without a text attribute: {', '.join(missing)}", locator=key, document_id=key
            )
        given = Counter(s.get("id", "") for s in sentences if s.get("id"))
        repeated = sorted(sentence_id for sentence_id, count in given.items() if count > 1)
        if repeated:
            detail = f"document {key}: sentence id(s) given more than once: {', '.join(repeated)}"
            raise RecordRejected("duplicate id", detail, locator=key, document_id=key)
        doc = _Doc(ctx.record_id(key))
        for sentence in sentences:
            self._sentence(path, key, sentence, doc, ctx)
        yield from doc.items
        meta = {
            "source": {"path": path.name, "record": key},
            "sentence_ids": [s.get("id", "") for s in sentences],
            "source_entity_ids": doc.source_ids,
            "negative_pairs": doc.negative_pairs,
        }
        record = KBRecord(
            **ctx.common(key, meta=meta),
            passages=doc.passages,
            entities=doc.entities,
            relations=doc.relations,
        )
        ctx.keep_raw(record.id, lambda: ET.tostring(root, encoding="unicode"))
        yield record

    def _sentence(self, path: Path, key: str, sentence: ET.Element, doc: _Doc, ctx: ReadContext) -> None:
        text = sentence.get("text", "")
        start = doc.position
        passage_id = f"{doc.record_id}.p{len(doc.passages)}"
        doc.passages.append(Passage(passage_id, self.options.passage_type, [text], [(start, start + len(text))]))
        doc.position = start + len(text) + 1
        sentence_id = sentence.get("id", f"{key}.s{len(doc.passages) - 1}")
        for element in sentence.findall("entity"):
            self._entity(path, key, sentence_id, element, text, start, doc, ctx)
        for pair in sentence.findall("pair"):
            self._pair(path, key, sentence_id, pair, doc, ctx)

    # ----------------------------------------------------------------------------------- entities
    def _entity(
        self, path: Path, key: str, sentence_id: str, element: ET.Element, text: str, base: int, doc: _Doc, ctx: ReadContext
    ) -> None:
        source_id = element.get("id", "")
        where = source_id or sentence_id
        etype, raw, expected = element.get("type"), element.get("charOffset"), element.get("text")
        if not source_id or not etype or raw is None or expected is None:
            detail = f"entity in {sentence_id} lacks id, type, charOffset or text"
            doc.items.append(ctx.defect(path, where, "entity missing attribute", detail, document_id=key))
            return
        spans = char_offsets(raw, ";", inclusive_end=True)
        if spans is None:
            doc.items.append(ctx.defect(path, where, "bad charOffset", f"{source_id}: charOffset {raw!r}", document_id=key))
            return
        fixed = locate(spans, text, expected, self.options.max_shift)
        if fixed is None:
            pieces = [text[s:e] for s, e in spans]
            detail = f"{source_id}: {raw} gives {pieces!r}, text is {expected!r}"
            doc.items.append(ctx.defect(path, where, "mention text disagrees with its offsets", detail, document_id=key))
            return
        if fixed != spans:
            doc.items.append(
                ctx.defect(
                    path,
                    where,
                    "entity offsets shifted (repaired)",
                    f"{source_id}: {raw} shifted by {fixed[0][0] - spans[0][0]} to spell {expected!r}",
                    document_id=key,
                    dropped=False,
                    annotation="entities",
                )
            )
        entity_id = f"{doc.record_id}.e{len(doc.entities)}"
        doc.entities.append(Entity(entity_id, etype, [text[s:e] for s, e in fixed], [(base + s, base + e) for s, e in fixed]))
        doc.source_ids.append(source_id)
        doc.by_source_id[source_id] = entity_id

    # ----------------------------------------------------------------------------------- pairs
    def _pair(self, path: Path, key: str, sentence_id: str, pair: ET.Element, doc: _Doc, ctx: ReadContext) -> None:
        pair_id = pair.get("id", sentence_id)
        arg1, arg2 = doc.by_source_id.get(pair.get("e1", "")), doc.by_source_id.get(pair.get("e2", ""))
        ddi = pair.get("ddi", "").lower()
        if ddi not in ("true", "false"):
            doc.items.append(ctx.defect(path, pair_id, "bad ddi value", f"{pair_id}: ddi={pair.get('ddi')!r}", document_id=key))
            return
        if arg1 is None or arg2 is None:
            detail = f"{pair_id}: e1={pair.get('e1')!r} e2={pair.get('e2')!r} is not a kept entity of this document"
            doc.items.append(ctx.defect(path, pair_id, "pair argument missing", detail, document_id=key))
            return
        if ddi == "false":
            doc.negative_pairs.append([arg1, arg2])
            return
        rtype = pair.get("type") or ""
        if not rtype:
            if not self.options.untyped_ddi_type:
                detail = f"{pair_id}: ddi=true, no type"
                doc.items.append(ctx.defect(path, pair_id, "ddi pair without type (dropped)", detail, document_id=key))
                return
            rtype = self.options.untyped_ddi_type
            detail = f"{pair_id}: ddi=true without type, kept as {rtype!r}"
            reason = "ddi pair without type (typed as default)"
            doc.items.append(ctx.defect(path, pair_id, reason, detail, document_id=key, dropped=False, annotation="relations"))
        doc.relations.append(Relation(f"{doc.record_id}.r{len(doc.relations)}", rtype, arg1, arg2))
