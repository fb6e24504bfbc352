"""BioC XML: ``collection/document(id, passage*, relation*)``, passages with ``infon type``, ``offset`` and
``text`` (or ``sentence`` children with their own offset/text), annotations with infons and one or more
``location offset/length`` (several = a discontinuous mention), relations with infons and ``node refid role``.

Each document becomes one ``kb`` record keyed by its id. Passage offsets are explicit and already
document-level, so passages are laid out at their offsets (a passage that overlaps the previous one
rejects the document). A passage without ``text`` but with sentences contributes one ``sentence`` passage
per sentence. Parsed with :mod:`xml.etree.ElementTree`, which never fetches the external DTD.

Annotations: the ``type_infon`` infon gives the entity type; infons named in ``id_infons`` (e.g. ``MESH``)
give normalisations (split on ``|`` and ``+``, ``DB:`` prefix or else ``default_db``, ``-1`` = none, as in
the PubTator reader); every other infon (e.g. BC5CDR's ``CompositeRole``) is kept in
``meta.annotation_infons`` (entity id -> {key: value}). The entity text pieces are the document text at the
locations; the annotation's ``<text>`` must equal them joined by one space, otherwise the mention is dropped
as a defect (whitespace padding only: kept, the repair counted). Locations out of the document: defect.

Relations: with two ``node`` children, ``arg1``/``arg2`` are the annotations they reference (roles kept in
``meta.relation_roles``). Without nodes, relations between *concepts* (BC5CDR: infons ``Chemical`` and
``Disease`` hold MeSH ids) are mapped like the PubTator reader does when ``concept_infons`` names those
infons: each argument is the first annotation (document order) normalised to the concept, and
``relation.normalized`` holds the two concepts. The type is the ``relation_type_infon`` infon. A relation
whose arguments cannot be resolved is dropped as a defect.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths
from biohub.converters.formats.pubtator import normalization, split_concepts
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, Passage, Relation, Span


@dataclass(slots=True)
class BiocOptions:
    """``type_infon``: annotation infon holding the entity type (also the passage type infon);
    ``id_infons``: annotation infons holding concept ids; ``default_db``: ``db_name`` of unprefixed ids;
    ``relation_type_infon``: relation infon holding its type; ``concept_infons``: the two relation infons
    holding the concept ids of node-less concept-level relations (empty: such relations are defects);
    ``suffix``: file ending used when a folder is given."""

    type_infon: str = "type"
    id_infons: list[str] = field(default_factory=lambda: ["MESH"])
    default_db: str = "MESH"
    relation_type_infon: str = "relation"
    concept_infons: list[str] = field(default_factory=list)
    suffix: str = ".xml"


class _Reject(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _infons(element: ET.Element) -> dict[str, str]:
    infons: dict[str, str] = {}
    for infon in element.findall("infon"):
        infons.setdefault(infon.get("key", ""), (infon.text or "").strip())
    return infons


def _int(value: str | None, what: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise _Reject("bad offset", f"{what} {value!r} is not an integer") from None


def parse_xml(path: Path) -> ET.Element:
    """The root of an XML file; a missing file or malformed XML is a ConvertError naming file and line."""
    try:
        return ET.parse(path).getroot()
    except FileNotFoundError:
        raise ConvertError(path, "file not found") from None
    except ET.ParseError as exc:
        line, column = exc.position
        raise ConvertError(
            path, f"invalid XML: {exc.msg.split(':')[0]} (column {column}); truncated or wrong encoding?", line=line
        ) from None


@register
class BiocReader(Reader):
    name = "bioc"
    schema = "kb"
    description = "BioC XML collection (passages with offsets, annotations with locations, relations)"
    Options = BiocOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        seen: dict[str, str] = {}
        for path in expand_paths(paths, self.options.suffix):
            root = parse_xml(path)
            if root.tag != "collection":
                raise ConvertError(path, f"root element is <{root.tag}>, expected <collection>")
            for index, document in enumerate(root.findall("document"), start=1):
                key = (document.findtext("id") or "").strip()
                if not key:
                    yield ctx.reject(path, f"document {index}", "missing document id", f"document {index} has no <id>")
                    continue
                if key in seen:
                    yield ctx.reject(
                        path, key, "duplicate document", f"document {key} already read in {seen[key]}", document_id=key
                    )
                    continue
                seen[key] = f"{path.name} (document {index})"
                try:
                    yield from self._convert(path, key, document, ctx)
                except _Reject as problem:
                    yield ctx.reject(path, key, problem.reason, f"document {key}: {problem.detail}", document_id=key)

    # ----------------------------------------------------------------------------------------- conversion
    def _convert(self, path: Path, key: str, document: ET.Element, ctx: ReadContext) -> Iterator[Item]:
        record_id = ctx.record_id(key, key)
        passages = self._passages(record_id, document)
        text = _layout(passages)
        meta: dict = {"source": {"path": path.name, "record": key}}
        if infons := _infons(document):
            meta["infons"] = infons
        defects: list[Item] = []
        entities: list[Entity] = []
        concepts_of: list[list[str]] = []
        by_annotation_id: dict[str, str] = {}
        extra_infons: dict[str, dict[str, str]] = {}
        for annotation in document.iter("annotation"):
            ann_id = annotation.get("id", "")
            span, problem = self._span(annotation, text)
            if problem is not None:
                reason, detail = problem
                defects.append(ctx.defect(path, key, reason, f"document {key}, annotation {ann_id}: {detail}", key))
            if span is None:
                continue
            entity_id = f"{record_id}.e{len(entities)}"
            infons = _infons(annotation)
            ids, normalized = [], []
            for infon in self.options.id_infons:
                if infon in infons:
                    more_ids, more = split_concepts(infons[infon], self.options.default_db)
                    ids += more_ids
                    normalized += more
            rest = {k: v for k, v in infons.items() if k != self.options.type_infon and k not in self.options.id_infons}
            if rest:
                extra_infons[entity_id] = rest
            entities.append(Entity(entity_id, infons[self.options.type_infon], span[0], span[1], normalized))
            concepts_of.append(ids)
            by_annotation_id.setdefault(ann_id, entity_id)
        if extra_infons:
            meta["annotation_infons"] = extra_infons

        relations: list[Relation] = []
        roles: dict[str, list[str]] = {}
        for relation in document.iter("relation"):
            rel_id = relation.get("id", "")
            infons = _infons(relation)
            label = infons.get(self.options.relation_type_infon) or infons.get("type", "")
            where = f"document {key}, relation {rel_id}"
            if not label:
                defects.append(ctx.defect(path, key, "relation without type", where, key))
                continue
            nodes = relation.findall("node")
            relation_id = f"{record_id}.r{len(relations)}"
            if nodes:
                if len(nodes) != 2:
                    defects.append(ctx.defect(path, key, "relation without two nodes", f"{where}: {len(nodes)} nodes", key))
                    continue
                args = [by_annotation_id.get(node.get("refid", "")) for node in nodes]
                if None in args:
                    refs = [node.get("refid", "") for node in nodes]
                    defects.append(ctx.defect(path, key, "relation argument missing", f"{where}: refids {refs}", key))
                    continue
                roles[relation_id] = [node.get("role", "") for node in nodes]
                relations.append(Relation(relation_id, label, args[0], args[1]))  # type: ignore[arg-type]
                continue
            concepts = [infons.get(name, "") for name in self.options.concept_infons]
            if len(concepts) != 2 or not all(concepts):
                defects.append(
                    ctx.defect(path, key, "relation without arguments", f"{where}: no nodes and no concept infons", key)
                )
                continue
            args = [next((e.id for e, ids in zip(entities, concepts_of) if concept in ids), None) for concept in concepts]
            missing = [concept for concept, arg in zip(concepts, args) if arg is None]
            if missing:
                detail = f"{where}: {label} {' '.join(concepts)}: no mention normalised to {', '.join(missing)}"
                defects.append(ctx.defect(path, key, "relation concept not mentioned", detail, key))
                continue
            normalized = [normalization(concept, self.options.default_db) for concept in concepts]
            relations.append(Relation(relation_id, label, args[0], args[1], normalized))  # type: ignore[arg-type]
        if roles:
            meta["relation_roles"] = roles
        yield from defects
        yield KBRecord(**ctx.common(key, key, meta=meta), passages=passages, entities=entities, relations=relations)

    def _passages(self, record_id: str, document: ET.Element) -> list[Passage]:
        passages: list[Passage] = []
        for number, passage in enumerate(document.findall("passage")):
            kind = _infons(passage).get(self.options.type_infon) or "passage"
            pieces = (
                [(kind, passage)] if passage.find("text") is not None else [("sentence", s) for s in passage.findall("sentence")]
            )
            for piece_kind, element in pieces:
                offset = _int(element.findtext("offset"), f"passage {number} offset")
                text = element.findtext("text") or ""
                if offset < 0 or (passages and offset < passages[-1].offsets[0][1]):
                    raise _Reject("overlapping passages", f"passage {number} at offset {offset} overlaps the previous one")
                passages.append(Passage(f"{record_id}.p{len(passages)}", piece_kind, [text], [(offset, offset + len(text))]))
        if not passages:
            raise _Reject("document without text", "no passage with text")
        return passages

    def _span(self, annotation: ET.Element, text: str) -> tuple[tuple[list[str], list[Span]] | None, tuple[str, str] | None]:
        """The mention's (text pieces, offsets), or None, and the defect (reason, detail) to count, or None."""
        if not _infons(annotation).get(self.options.type_infon):
            return None, ("annotation without type", f"no {self.options.type_infon!r} infon")
        offsets = []
        for location in annotation.findall("location"):
            try:
                start, length = int(location.get("offset", "")), int(location.get("length", ""))
            except ValueError:
                return None, ("bad location", f"location {location.attrib} is not an integer offset/length")
            offsets.append((start, start + length))
        if not offsets:
            return None, ("annotation without location", "no <location>")
        for start, end in offsets:
            if not 0 <= start < end <= len(text):
                return None, ("mention offsets out of range", f"[{start}, {end}) outside 0..{len(text)}")
        pieces = [text[start:end] for start, end in offsets]
        stated = annotation.findtext("text")
        if stated is None or stated == " ".join(pieces):
            return (pieces, offsets), None
        if stated.strip() == " ".join(pieces):
            return (pieces, offsets), ("mention text padded with whitespace (trimmed)", repr(stated))
        return None, ("mention text disagrees with its offsets", f"{stated!r} != document text {' '.join(pieces)!r}")


def _layout(passages: list[Passage]) -> str:
    """The document text: passages at their offsets, gaps as spaces (as :func:`biohub.schema.document_text`)."""
    buffer: list[str] = []
    for passage in passages:
        (start, _), text = passage.offsets[0], passage.text[0]
        buffer.extend(" " * (start - len(buffer)))
        buffer.extend(text)
    return "".join(buffer)
