"""BioC XML: ``collection/document(id, passage*, relation*)``, passages with ``infon type``, ``offset`` and
``text`` (or ``sentence`` children with their own offset/text), annotations with infons and one or more
``location offset/length`` (several = a discontinuous mention), relations with infons and ``node refid role``.

Each document becomes one ``kb`` record keyed by its id. Passage offsets are explicit and already
document-level, so passages are laid out at their offsets (a passage that overlaps the previous one
rejects the document). A passage without ``text`` but with sentences contributes one ``sentence`` passage
per sentence. Parsed with :func:`biohub.converters.base.parse_xml` (never fetches the external DTD, refuses
entity declarations). An infon key repeated on one element keeps its first value; each later one is counted
as a dropped-value defect (``repeated infon key``).

Annotations: the ``type_infon`` infon gives the entity type; infons named in ``id_infons`` (e.g. ``MESH``)
give normalisations (split on ``|`` and ``+``, ``DB:`` prefix or else ``default_db``, ``-1`` = none, as in
the PubTator reader); every other infon (e.g. BC5CDR's ``CompositeRole``) is kept in
``meta.annotation_infons`` (entity id -> {key: value}). The entity text pieces are the document text at the
locations; the annotation's ``<text>`` must equal them joined by one space, otherwise the mention is dropped
as a defect (whitespace padding only: kept, the repair counted). Locations out of the document: defect.
An annotation whose ``id`` was already used in the document is dropped (``duplicate annotation id``); one
without an ``id`` is kept but cannot be referenced by a relation.

Relations: with two ``node`` children, ``arg1``/``arg2`` are the annotations they reference by ``refid``
(roles kept in ``meta.relation_roles``; a node without ``refid`` references nothing). Without nodes, a
relation is between *concepts* named by two of its infons: ``concept_infons`` when given, else the first pair
of :data:`CONCEPT_INFON_PAIRS` the relation carries (``Chemical``/``Disease``: BC5CDR CID, MeSH ids;
``entity1``/``entity2``: BioRED). The unified schema's arguments are entity ids, so a concept-level relation
is placed on mentions by one rule, the PubTator reader's: each argument is the first entity (document order)
normalised to that concept (a composite mention counts as normalised to each of its concepts); the relation
stays one relation per concept pair, as the corpus counts them, and ``relation.normalized`` holds the two
concepts, so a scorer compares (concept, concept) pairs and a user can expand the relation to every mention
pair through the entities' ``normalized``. The type is the ``relation_type_infon`` infon, or, when that is
absent or empty, the ``relation_type_fallback`` infon (default ``type``; ``""`` disables the fallback).
Relation infons that are neither the type nor a concept (BioRED's ``novel``) are kept in
``meta.relation_infons`` (relation id -> {key: value}).

Nothing is dropped silently: a relation without a type, without arguments (no nodes, no concept infons), with
a concept no kept entity is normalised to (``relation concept not mentioned``) or a ``refid`` naming no kept
annotation is a dropped-annotation defect, listed with its document and reason, and ``--strict`` fails on it.
The reader counts the annotations and relations it read per document (``ReadContext.count_read``), so the
ledger shows ``read == converted + dropped`` for ``entities`` and ``relations``.

The raw source text of a record (``ReadContext.keep_raw``) is its ``<document>`` element re-serialised,
``ET.tostring(document, encoding="unicode")``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, parse_xml
from biohub.converters.kb import MENTION_PADDED, ConceptIds, concept_arguments, document_text_of, mention_problem
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, Normalization, Passage, Relation, Span

# relation infon pairs naming the two concepts of a node-less relation, tried in order when concept_infons is empty
CONCEPT_INFON_PAIRS: tuple[tuple[str, str], ...] = (("Chemical", "Disease"), ("entity1", "entity2"))


@dataclass(slots=True)
class BiocOptions:
    """``type_infon``: annotation infon holding the entity type (also the passage type infon);
    ``id_infons``: annotation infons holding concept ids; ``default_db``: ``db_name`` of unprefixed ids;
    ``relation_type_infon``: relation infon holding its type; ``relation_type_fallback``: relation infon read
    when ``relation_type_infon`` is absent or empty (``""``: no fallback); ``concept_infons``: the two relation
    infons holding the concept ids of node-less concept-level relations (empty: the first pair of
    :data:`CONCEPT_INFON_PAIRS` the relation has); ``suffix``: file ending used when a folder is given;
    ``id_separators``, ``type_dbs``, ``db_patterns``, ``db_names``: how an id infon reads, as the PubTator reader's
    options of those names (:class:`biohub.converters.kb.ConceptIds`; BioRED: ``id_separators: ","``)."""

    type_infon: str = "type"
    id_infons: list[str] = field(default_factory=lambda: ["MESH"])
    default_db: str = "MESH"
    id_separators: str = "|+"
    type_dbs: dict[str, str] = field(default_factory=dict)
    db_patterns: dict[str, str] = field(default_factory=dict)
    db_names: dict[str, str] = field(default_factory=dict)
    relation_type_infon: str = "relation"
    relation_type_fallback: str = "type"
    concept_infons: list[str] = field(default_factory=list)
    suffix: str = ".xml"

    def concept_ids(self) -> ConceptIds:
        """How the id infons read (separators and databases)."""
        return ConceptIds(self.default_db, self.id_separators, self.type_dbs, self.db_patterns, self.db_names)


def _int(value: str | None, what: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise RecordRejected(Reason.BAD_OFFSET, f"{what} {value!r} is not an integer") from None


@dataclass(slots=True)
class _Conversion:
    """What one document converts into, filled annotation by annotation."""

    path: Path
    key: str
    record_id: str
    ctx: ReadContext
    rules: ConceptIds
    text: str = ""
    entities: list[Entity] = field(default_factory=list)
    concepts_of: list[list[str]] = field(default_factory=list)  # the concept ids of each entity
    by_annotation_id: dict[str, str] = field(default_factory=dict)  # BioC annotation id -> entity id
    annotation_ids: set[str] = field(default_factory=set)  # every annotation id seen, kept or not
    extra_infons: dict[str, dict[str, str]] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    roles: dict[str, list[str]] = field(default_factory=dict)
    relation_infons: dict[str, dict[str, str]] = field(default_factory=dict)
    defects: list[Item] = field(default_factory=list)

    def defect(self, reason: Reason, detail: str, *, annotation: str = "", dropped: bool = True) -> None:
        """Count a dropped annotation (of unit ``annotation``) or, with ``dropped=False``, a lossless repair."""
        detail = f"document {self.key}, {detail}"
        defect = self.ctx.defect(self.path, self.key, reason, detail, self.key, dropped=dropped, annotation=annotation)
        self.defects.append(defect)

    def normalization_on(self, entity_id: str, concept: str) -> Normalization:
        """The normalisation of ``concept`` as the entity ``entity_id`` (normalised to it) carries it."""
        index = next(i for i, entity in enumerate(self.entities) if entity.id == entity_id)
        return self.entities[index].normalized[self.concepts_of[index].index(concept)]

    def infons(self, element: ET.Element, what: str) -> dict[str, str]:
        """The element's infons (key -> stripped text); a key given again keeps its first value and counts
        each later one as a dropped-value defect (``repeated infon key``)."""
        infons: dict[str, str] = {}
        for infon in element.findall("infon"):
            name, value = infon.get("key", ""), (infon.text or "").strip()
            if name in infons:
                detail = f"{what}: infon {name!r} repeated, kept {infons[name]!r}, dropped {value!r}"
                self.defect(Reason.REPEATED_INFON_KEY, detail, annotation="infons")
                continue
            infons[name] = value
        return infons


@register
class BiocReader(Reader):
    """Reads BioC XML collections into ``kb`` records: passages at their offsets, mentions, normalisations, relations."""

    name = "bioc"
    schema = "kb"
    description = "BioC XML collection (passages with offsets, annotations with locations, relations)"
    Options = BiocOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its defects) or rejection per ``<document>`` of every collection file."""
        for path in expand_paths(paths, self.options.suffix):
            root = parse_xml(path)
            if root.tag != "collection":
                raise ConvertError(path, f"root element is <{root.tag}>, expected <collection>")
            for index, document in enumerate(root.findall("document"), start=1):
                key = (document.findtext("id") or "").strip()
                if not key:
                    yield ctx.reject(path, f"document {index}", Reason.MISSING_DOCUMENT_ID, f"document {index} has no <id>")
                    continue
                if (first := ctx.read_before(key)) is not None:
                    yield ctx.reject(
                        path, key, Reason.DUPLICATE_DOCUMENT, f"document {key} already read in {first}", document_id=key
                    )
                    continue
                ctx.note_read(key, f"{path.name} (document {index})")
                convert = partial(self._convert, path, key, document, ctx)
                yield from self.rejecting(ctx, path, key, convert, document_id=key, prefix=f"document {key}: ")

    # ----------------------------------------------------------------------------------------- conversion
    def _convert(self, path: Path, key: str, document: ET.Element, ctx: ReadContext) -> Iterator[Item]:
        doc = _Conversion(path, key, ctx.record_id(key, key), ctx, self.options.concept_ids())
        passages = self._passages(doc, document)
        doc.text = document_text_of(passages)
        meta: dict[str, Any] = {"source": {"path": path.name, "record": key}}
        if infons := doc.infons(document, "document infons"):
            meta["infons"] = infons
        annotations, relations = list(document.iter("annotation")), list(document.iter("relation"))
        for annotation in annotations:
            self._annotation(doc, annotation)
        for relation in relations:
            self._relation(doc, relation)
        if doc.extra_infons:
            meta["annotation_infons"] = doc.extra_infons
        if doc.roles:
            meta["relation_roles"] = doc.roles
        if doc.relation_infons:
            meta["relation_infons"] = doc.relation_infons
        ctx.count_read(key, entities=len(annotations), relations=len(relations))
        yield from doc.defects
        record = KBRecord(**ctx.common(key, key, meta=meta), passages=passages, entities=doc.entities, relations=doc.relations)
        ctx.keep_raw(record.id, lambda: ET.tostring(document, encoding="unicode"))
        yield record

    def _passages(self, doc: _Conversion, document: ET.Element) -> list[Passage]:
        passages: list[Passage] = []
        for number, passage in enumerate(document.findall("passage")):
            kind = doc.infons(passage, f"passage {number}").get(self.options.type_infon) or "passage"
            pieces = (
                [(kind, passage)] if passage.find("text") is not None else [("sentence", s) for s in passage.findall("sentence")]
            )
            for piece_kind, element in pieces:
                offset = _int(element.findtext("offset"), f"passage {number} offset")
                text = element.findtext("text") or ""
                if offset < 0 or (passages and offset < passages[-1].offsets[0][1]):
                    detail = f"passage {number} at offset {offset} overlaps the previous one"
                    raise RecordRejected(Reason.OVERLAPPING_PASSAGES, detail)
                passages.append(Passage(f"{doc.record_id}.p{len(passages)}", piece_kind, [text], [(offset, offset + len(text))]))
        if not passages:
            raise RecordRejected(Reason.DOCUMENT_WITHOUT_TEXT, "no passage with text")
        return passages

    # ----------------------------------------------------------------------------------------- annotations
    def _annotation(self, doc: _Conversion, annotation: ET.Element) -> None:
        """Add the annotation's entity to ``doc`` (referable by its id, if it has one), or count its defect.
        An annotation whose id was seen before in the document is dropped (``duplicate annotation id``)."""
        ann_id = annotation.get("id", "")
        if ann_id and ann_id in doc.annotation_ids:
            detail = f"annotation {ann_id}: id already used in this document (dropped)"
            doc.defect(Reason.DUPLICATE_ANNOTATION_ID, detail, annotation="entities")
            return
        doc.annotation_ids.add(ann_id)
        infons = doc.infons(annotation, f"annotation {ann_id}")
        span = self._span(doc, f"annotation {ann_id}", annotation, infons)
        if span is None:
            return
        entity_id = f"{doc.record_id}.e{len(doc.entities)}"
        ids, normalized = [], []
        rules = doc.rules
        for infon in self.options.id_infons:
            if infon in infons:
                more_ids, more = rules.split(infons[infon], infons[self.options.type_infon])
                ids += more_ids
                normalized += more
        rest = {k: v for k, v in infons.items() if k != self.options.type_infon and k not in self.options.id_infons}
        if rest:
            doc.extra_infons[entity_id] = rest
        doc.entities.append(Entity(entity_id, infons[self.options.type_infon], span[0], span[1], normalized))
        doc.concepts_of.append(ids)
        if ann_id:
            doc.by_annotation_id[ann_id] = entity_id

    def _span(
        self, doc: _Conversion, where: str, annotation: ET.Element, infons: dict[str, str]
    ) -> tuple[list[str], list[Span]] | None:
        """The mention's (text pieces, offsets), or None when it is dropped; a drop, or a repair of a kept mention
        (whitespace padding), is counted in ``doc`` as a defect of ``where``."""

        def dropped(reason: Reason, detail: str) -> None:
            doc.defect(reason, f"{where}: {detail}", annotation="entities")

        if not infons.get(self.options.type_infon):
            dropped(Reason.ANNOTATION_WITHOUT_TYPE, f"no {self.options.type_infon!r} infon")
            return None
        offsets = []
        for location in annotation.findall("location"):
            try:
                start, length = int(location.get("offset", "")), int(location.get("length", ""))
            except ValueError:
                dropped(Reason.BAD_LOCATION, f"location {location.attrib} is not an integer offset/length")
                return None
            offsets.append((start, start + length))
        if not offsets:
            dropped(Reason.ANNOTATION_WITHOUT_LOCATION, "no <location>")
            return None
        for start, end in offsets:
            if not 0 <= start < end <= len(doc.text):
                dropped(Reason.MENTION_OFFSETS_OUT_OF_RANGE, f"[{start}, {end}) outside 0..{len(doc.text)}")
                return None
        pieces = [doc.text[start:end] for start, end in offsets]
        stated = annotation.findtext("text")
        problem = None if stated is None else mention_problem(stated, " ".join(pieces))
        if problem == MENTION_PADDED:
            doc.defect(problem, f"{where}: {stated!r}", annotation="entities", dropped=False)
        elif problem is not None:
            dropped(problem, f"{stated!r} != document text {' '.join(pieces)!r}")
            return None
        return pieces, offsets

    # ----------------------------------------------------------------------------------------- relations
    def _relation(self, doc: _Conversion, relation: ET.Element) -> None:
        """Add the relation to ``doc`` (arguments by ``node`` refids, else by concept infons), or count its defect."""
        rel_id = relation.get("id", "")
        where = f"relation {rel_id}"
        infons = doc.infons(relation, where)
        label = infons.get(self.options.relation_type_infon) or (
            infons.get(self.options.relation_type_fallback, "") if self.options.relation_type_fallback else ""
        )
        if not label:
            doc.defect(Reason.RELATION_WITHOUT_TYPE, where, annotation="relations")
            return
        relation_id = f"{doc.record_id}.r{len(doc.relations)}"
        nodes = relation.findall("node")
        names = self._concept_infons(infons) if not nodes else []
        type_names = {self.options.relation_type_infon, self.options.relation_type_fallback}
        rest = {k: v for k, v in infons.items() if k not in type_names and k not in names}
        if nodes:
            if self._node_relation(doc, relation_id, label, nodes, where) and rest:
                doc.relation_infons[relation_id] = rest
            return
        concepts = [infons.get(name, "") for name in names]
        if len(concepts) != 2 or not all(concepts):
            wanted = " / ".join(self.options.concept_infons) or " or ".join("/".join(pair) for pair in CONCEPT_INFON_PAIRS)
            detail = f"{where}: no nodes and no concept infons ({wanted}); infons {sorted(infons)}"
            doc.defect(Reason.RELATION_WITHOUT_ARGUMENTS, detail, annotation="relations")
            return
        args, missing = concept_arguments(doc.entities, doc.concepts_of, concepts)
        if missing:
            detail = f"{where}: {label} {' '.join(concepts)}: no mention normalised to {', '.join(missing)}"
            doc.defect(Reason.RELATION_CONCEPT_NOT_MENTIONED, detail, annotation="relations")
            return
        normalized = [doc.normalization_on(arg, concept) for arg, concept in zip(args, concepts)]
        doc.relations.append(Relation(relation_id, label, args[0], args[1], normalized))
        if rest:
            doc.relation_infons[relation_id] = rest

    def _concept_infons(self, infons: dict[str, str]) -> list[str]:
        """The names of the two infons holding a node-less relation's concepts: ``concept_infons`` when set, else
        the first pair of :data:`CONCEPT_INFON_PAIRS` the relation has (none: empty)."""
        if self.options.concept_infons:
            return list(self.options.concept_infons)
        return next((list(pair) for pair in CONCEPT_INFON_PAIRS if all(name in infons for name in pair)), [])

    @staticmethod
    def _node_relation(doc: _Conversion, relation_id: str, label: str, nodes: list[ET.Element], where: str) -> bool:
        """Add a relation whose two ``node`` children reference annotations by id (a node without ``refid``, or a
        ``refid`` naming no kept annotation, resolves to nothing: a dropped relation). Whether it was added."""
        if len(nodes) != 2:
            doc.defect(Reason.RELATION_WITHOUT_TWO_NODES, f"{where}: {len(nodes)} nodes", annotation="relations")
            return False
        refs = [node.get("refid") for node in nodes]
        args = [doc.by_annotation_id.get(ref) if ref else None for ref in refs]
        if args[0] is None or args[1] is None:
            doc.defect(Reason.RELATION_ARGUMENT_MISSING, f"{where}: refids {refs}", annotation="relations")
            return False
        doc.roles[relation_id] = [node.get("role", "") for node in nodes]
        doc.relations.append(Relation(relation_id, label, args[0], args[1]))
        return True
