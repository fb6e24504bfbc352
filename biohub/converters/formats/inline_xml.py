"""Inline-tag XML: documents whose passages carry their mentions as inline elements, e.g. OSIRIS's
``<Article><Pmid/><Title>... <gene g_id="7040">TGFB1</gene> ...</Title><Abstract>...</Abstract></Article>``.

There are no character offsets: a passage's text is all the text inside its element (mixed content, tags removed),
and a mention's span is where its element's text falls in it. Which elements are records, which child holds the
record key, which children are passages and which inline tags are mentions of which type are options, so another
corpus in this shape needs no code. Attributes named in ``normalizations`` become the mention's normalisations
(``db_name`` from the option, ``db_id`` the attribute value unless it is one of ``no_id_values``); every attribute
of a mention is kept in ``meta.entity_attributes`` (parallel to the entities).

Passages follow one another in the document text separated by one space. A mention whose text has blanks at its
ends is trimmed to its first and last non-blank character (kept; the repair counted); an empty mention and an
inline element that is not in ``entity_tags`` (its text is kept, its markup is not) are defects. A record without a
key, with a key already read, or with no passage element is rejected. Files are parsed with
:func:`biohub.converters.base.parse_xml` (entity declarations refused).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from biohub.converters.base import Item, ReadContext, Reader, expand_paths, parse_xml
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.converters.sentence_xml import flatten
from biohub.schema import Entity, KBRecord, Normalization, Passage

MAX_DEPTH = 32  # inline markup nested deeper than this is refused (the record is rejected, the process goes on)


@dataclass(slots=True)
class InlineXmlOptions:
    """Args:
    record_element: tag of the elements that are records (found anywhere below the root).
    id_element: tag of the record's child whose text is the record key.
    passages: passage element tag -> passage type, for the record's children that hold text.
    entity_tags: inline element tag -> entity type.
    normalizations: mention attribute -> database name of the normalisation it holds.
    no_id_values: attribute values that mean "no identifier".
    """

    record_element: str = "Article"
    id_element: str = "Pmid"
    passages: dict[str, str] = field(default_factory=lambda: {"Title": "title", "Abstract": "abstract"})
    entity_tags: dict[str, str] = field(default_factory=lambda: {"gene": "gene", "variant": "variant"})
    normalizations: dict[str, str] = field(default_factory=lambda: {"g_id": "NCBIGene", "v_id": "dbSNP", "v_norm": "HGVS-like"})
    no_id_values: tuple[str, ...] = ("", "No")


@dataclass(slots=True)
class _Doc:
    """What one record converts into."""

    key: str
    record_id: str
    path: Path
    passages: list[Passage] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    attributes: list[dict[str, str]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    position: int = 0
    read: int = 0


@register
class InlineXmlReader(Reader):
    """Reads inline-tag XML documents into ``kb`` records of passages and the mentions tagged inside them."""

    name = "inline-xml"
    schema = "kb"
    description = "Inline-tag XML (mentions as inline elements of passage text, e.g. OSIRIS <gene>/<variant>; tags as options)"
    Options = InlineXmlOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its defects) or rejection per ``record_element`` of every ``*.xml`` file."""
        for path in expand_paths(paths, ".xml"):
            root = parse_xml(path)
            for number, element in enumerate(root.iter(self.options.record_element), start=1):
                locator = f"{self.options.record_element} {number}"
                key = (element.findtext(self.options.id_element) or "").strip()
                convert = partial(self._record, path, locator, key, element, ctx)
                yield from self.rejecting(ctx, path, locator, convert, document_id=key or locator)

    def _record(self, path: Path, locator: str, key: str, element: ET.Element, ctx: ReadContext) -> list[Item]:
        if not key:
            raise RecordRejected(Reason.MISSING_DOCUMENT_ID, f"{locator}: no <{self.options.id_element}> text")
        earlier = ctx.read_before(key)
        if earlier is not None:
            raise RecordRejected(Reason.DUPLICATE_ID, f"record {key} already read at {earlier}")
        ctx.note_read(key, f"{path.name} {locator}")
        parts = [child for child in element if child.tag in self.options.passages]
        if not parts:
            wanted = ", ".join(f"<{tag}>" for tag in self.options.passages)
            raise RecordRejected(Reason.DOCUMENT_WITHOUT_TEXT, f"record {key} has none of {wanted}")
        doc = _Doc(key, ctx.record_id(key), path)
        for part in parts:
            self._passage(part, doc, ctx)
        ctx.count_read(key, entities=doc.read)
        meta = {"source": {"path": path.name, "record": locator}, "entity_attributes": doc.attributes}
        record = KBRecord(**ctx.common(key, meta=meta), passages=doc.passages, entities=doc.entities)
        ctx.keep_raw(record.id, lambda: ET.tostring(element, encoding="unicode"))
        return [*doc.items, record]

    def _passage(self, part: ET.Element, doc: _Doc, ctx: ReadContext) -> None:
        text, spans = flatten(part, MAX_DEPTH)
        base = doc.position
        passage_id = f"{doc.record_id}.p{len(doc.passages)}"
        doc.passages.append(Passage(passage_id, self.options.passages[part.tag], [text], [(base, base + len(text))]))
        doc.position = base + len(text) + 1
        for element, start, end in sorted(spans, key=lambda span: (span[1], -span[2])):
            self._mention(element, text[start:end], base + start, doc, ctx)

    def _mention(self, element: ET.Element, text: str, start: int, doc: _Doc, ctx: ReadContext) -> None:
        where = f"{doc.key} <{element.tag}> at {start}"
        etype = self.options.entity_tags.get(element.tag)
        if etype is None:
            detail = f"{where}: inline <{element.tag}> is not in entity_tags (its text kept, its markup not)"
            doc.items.append(ctx.defect(doc.path, where, Reason.UNKNOWN_TAG, detail, doc.key))
            return
        doc.read += 1
        trimmed = text.strip()
        if not trimmed:
            detail = f"{where}: empty mention"
            doc.items.append(ctx.defect(doc.path, where, Reason.MALFORMED_MENTION, detail, doc.key, annotation="entities"))
            return
        if trimmed != text:
            detail = f"{where}: {text!r} trimmed to {trimmed!r}"
            reason = Reason.MENTION_TEXT_PADDED_WITH_WHITESPACE_TRIMMED
            doc.items.append(ctx.defect(doc.path, where, reason, detail, doc.key, dropped=False, annotation="entities"))
            start += len(text) - len(text.lstrip())
        normalized = [
            Normalization(db, element.get(attribute, ""))
            for attribute, db in self.options.normalizations.items()
            if element.get(attribute, "") not in self.options.no_id_values
        ]
        entity_id = f"{doc.record_id}.e{len(doc.entities)}"
        doc.entities.append(Entity(entity_id, etype, [trimmed], [(start, start + len(trimmed))], normalized))
        doc.attributes.append(dict(element.attrib))

