"""PubTator text: ``PMID|t|title`` and ``PMID|a|abstract`` lines, then one tab-separated annotation per line.

A mention line is ``PMID<TAB>start<TAB>end<TAB>text<TAB>type<TAB>concept ids[<TAB>individual mentions]``;
a relation line is ``PMID<TAB>TYPE<TAB>concept id 1<TAB>concept id 2`` (e.g. BC5CDR's chemical-induced
disease ``CID``). Documents are separated by a blank line (a new ``|t|`` line also starts one). A file that ends inside a
title or abstract line (no line end: cut off) rejects that last document (``entities missing (file
truncated)``): its annotations are missing, not absent.

Each document becomes one ``kb`` record keyed by its PMID, with a ``title`` passage at ``[0, len(title))``
and an ``abstract`` passage at ``len(title) + 1``. A PMID seen twice in one split is not converted twice:
the second copy is rejected (``duplicate document``).

Mentions: the concept-id column is split on ``|`` (composite mention: one id per part) and ``+`` (one
mention denoting a combination of concepts); each id becomes a normalisation, its ``db_name`` taken from a
``DB:`` prefix (``OMIM:125700`` -> OMIM/125700) or else ``default_db``; ``-1`` means "no concept". The raw
id column of composite/combined mentions is kept in ``meta.concept_ids`` (entity id -> raw string) so the
``|`` / ``+`` distinction is not lost, and the optional 7th column (the texts of the individual mentions
a composite mention stands for, ``|``-separated; BC5CDR) in ``meta.individual_mentions`` (entity id ->
list of texts; PubTator gives no offsets for them). A mention with an empty type, whose offsets fall outside the document or
whose text differs from the document text at its offsets is dropped as a defect; if the only difference is
whitespace padding around the mention text, the mention is kept (offsets are authoritative) and the repair
is counted as a defect (not a drop).

Relations are document-level links between concepts; the record needs entity arguments, so ``arg1_id`` is
the first mention (in file order) normalised to concept id 1 and ``arg2_id`` the first normalised to
concept id 2, and ``relation.normalized`` holds the two concepts. A relation naming a concept no kept
mention carries, or repeating an earlier relation line, is dropped as a defect. The reader counts the mention
and relation lines of every document it converts (``ReadContext.count_read``), so the ledger shows
``read == converted + dropped`` for ``entities`` and ``relations``.

The raw source text of a record (``ReadContext.keep_raw``) is the document's lines (its ``|t|`` / ``|a|`` lines
and annotation lines) as written, joined by ``\n``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader, expand_paths, read_text
from biohub.converters.kb import MENTION_PADDED, ConceptIds, concept_arguments, document_text_of, mention_problem
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, Normalization, Passage, Relation

TEXT_LINE = re.compile(r"^([^\t|]+)\|([a-z])\|(.*)$")
MENTION_COLUMNS = ("individual_mentions", "concept_ids")  # what a mention column after the 6th may hold


@dataclass(slots=True)
class PubtatorOptions:
    """``default_db``: ``db_name`` of concept ids without a ``DB:`` prefix (MeSH for NCBI-disease and BC5CDR);
    ``id_separators``: the characters that separate the ids of one id column (``""``: the column is one id, as
    tmVar's ``c|SUB|G|1138|A,C``); ``type_dbs``: ``db_name`` of unprefixed ids by mention type (BioRED:
    ``GeneOrGeneProduct: NCBIGene``); ``db_patterns``: regular expression -> ``db_name`` for unprefixed ids that
    match it in full, tried before ``type_dbs`` (``'rs\\d+': dbSNP``); ``db_names``: renames of ``DB:`` prefixes
    (``RSID: dbSNP``); ``mention_columns``: what each mention column after the 6th holds, ``individual_mentions``
    (BC5CDR's ``|``-separated texts) or ``concept_ids`` (more ids, e.g. tmVar's ``RSID:2234671``); a mention line
    may stop before them; ``relation_columns``: the names of the relation columns after the 4th (BioRED:
    ``[novel]``), whose values are kept in ``meta.relation_infons``; a relation line has them all;
    ``suffix``: file ending used when a folder is given; ``encoding``: of the files."""

    default_db: str = "MESH"
    id_separators: str = "|+"
    type_dbs: dict[str, str] = field(default_factory=dict)
    db_patterns: dict[str, str] = field(default_factory=dict)
    db_names: dict[str, str] = field(default_factory=dict)
    mention_columns: list[str] = field(default_factory=lambda: ["individual_mentions"])
    relation_columns: list[str] = field(default_factory=list)
    suffix: str = ".txt"
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        unknown = [name for name in self.mention_columns if name not in MENTION_COLUMNS]
        if unknown:
            raise ValueError(f"mention_columns: {unknown} unknown; each is one of {', '.join(MENTION_COLUMNS)}")
        for pattern in self.db_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"db_patterns: {pattern!r} is not a regular expression ({exc})") from None

    def concept_ids(self) -> ConceptIds:
        """How the id columns read (separators and databases)."""
        return ConceptIds(self.default_db, self.id_separators, self.type_dbs, self.db_patterns, self.db_names)


@dataclass(slots=True)
class _Document:
    pmid: str
    first_line: int
    texts: list[tuple[int, str, str]] = field(default_factory=list)  # (line, kind, text)
    annotations: list[tuple[int, str]] = field(default_factory=list)  # (line, raw line)
    raw: list[str] = field(default_factory=list)  # every line of the document, verbatim
    cut_at: int | None = None  # the line the file ends in, unfinished, when it is one of this document's text lines


@dataclass(slots=True)
class _Conversion:
    """What one document converts into, filled line by line."""

    path: Path
    key: str
    record_id: str
    ctx: ReadContext
    text: str
    rules: ConceptIds
    entities: list[Entity] = field(default_factory=list)
    concepts_of: list[list[str]] = field(default_factory=list)  # the concept ids of each entity
    relations: list[Relation] = field(default_factory=list)
    seen_relations: set[tuple[str, str, str]] = field(default_factory=set)
    individual: dict[str, list[str]] = field(default_factory=dict)
    raw_ids: dict[str, str] = field(default_factory=dict)
    relation_infons: dict[str, dict[str, str]] = field(default_factory=dict)
    defects: list[Item] = field(default_factory=list)

    def defect(self, line: int, reason: str, detail: str, *, annotation: str, dropped: bool = True) -> None:
        """Count a dropped annotation of unit ``annotation`` (or, with ``dropped=False``, a repair that keeps it)."""
        self.defects.append(self.ctx.defect(self.path, line, reason, detail, self.key, dropped=dropped, annotation=annotation))


@register
class PubtatorReader(Reader):
    """Reads PubTator documents into title/abstract ``kb`` records with normalised mentions and concept relations."""

    name = "pubtator"
    schema = "kb"
    description = "PubTator text (PMID|t|, PMID|a|, tab-separated mentions and concept-level relations)"
    Options = PubtatorOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its defects) or rejection per document of every file; a repeated PMID is rejected."""
        for path in expand_paths(paths, self.options.suffix):
            for document in self._documents(path):
                where = f"{path.name}:{document.first_line}"
                if (first := ctx.read_before(document.pmid)) is not None:
                    yield ctx.reject(
                        path,
                        document.first_line,
                        Reason.DUPLICATE_DOCUMENT,
                        f"PMID {document.pmid} already read at {first}",
                        document_id=document.pmid,
                    )
                    continue
                ctx.note_read(document.pmid, where)
                if document.cut_at is not None:
                    detail = f"PMID {document.pmid}: the file ends inside line {document.cut_at}, before its annotations"
                    reason = Reason.ENTITIES_MISSING_FILE_TRUNCATED
                    yield ctx.reject(path, document.first_line, reason, detail, document_id=document.pmid)
                    continue
                convert = partial(self._convert, path, document, ctx)
                yield from self.rejecting(ctx, path, document.first_line, convert, document_id=document.pmid)

    # ----------------------------------------------------------------------------------------- grouping
    def _documents(self, path: Path) -> Iterator[_Document]:
        current: _Document | None = None
        content = read_text(path, self.options.encoding)
        lines = content.splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                if current is not None:
                    yield current
                current = None
                continue
            match = TEXT_LINE.match(line)
            if match:
                pmid, kind, text = match.groups()
                if current is not None and (pmid != current.pmid or (kind == "t" and current.texts)):
                    yield current
                    current = None
                if current is None:
                    current = _Document(pmid, number)
                current.texts.append((number, kind, text))
                current.raw.append(line)
                continue
            if current is None:
                current = _Document(line.split("\t", 1)[0], number)
            current.annotations.append((number, line))
            current.raw.append(line)
        if current is not None:
            if not content.endswith(("\n", "\r")) and current.texts and current.texts[-1][0] == len(lines):
                current.cut_at = len(lines)  # a title/abstract line cut off: its annotations are missing, not absent
            yield current

    # ----------------------------------------------------------------------------------------- conversion
    def _convert(self, path: Path, document: _Document, ctx: ReadContext) -> Iterator[Item]:
        key = document.pmid
        record_id = ctx.record_id(key, key)
        passages = self._passages(record_id, document)
        mention_lines, relation_lines = self._annotation_lines(document)
        doc = _Conversion(path, key, record_id, ctx, document_text_of(passages), self.options.concept_ids())
        for number, parts in mention_lines:
            self._mention(doc, number, parts)
        for number, parts in relation_lines:
            self._relation(doc, number, parts)
        meta: dict[str, Any] = {"source": {"path": path.name, "line": document.first_line}}
        if doc.individual:
            meta["individual_mentions"] = doc.individual
        if doc.raw_ids:
            meta["concept_ids"] = doc.raw_ids
        if doc.relation_infons:
            meta["relation_infons"] = doc.relation_infons
        ctx.count_read(key, entities=len(mention_lines), relations=len(relation_lines))
        yield from doc.defects
        record = KBRecord(**ctx.common(key, key, meta=meta), passages=passages, entities=doc.entities, relations=doc.relations)
        ctx.keep_raw(record.id, lambda: "\n".join(document.raw))
        yield record

    def _passages(self, record_id: str, document: _Document) -> list[Passage]:
        """The ``title`` passage at 0 and the ``abstract`` passage (if any) one character after it."""
        title, abstract = self._texts(document)
        passages = [Passage(f"{record_id}.p0", "title", [title], [(0, len(title))])]
        if abstract is not None:
            start = len(title) + 1
            passages.append(Passage(f"{record_id}.p1", "abstract", [abstract], [(start, start + len(abstract))]))
        return passages

    def _annotation_lines(self, document: _Document) -> tuple[list[tuple[int, list[str]]], list[tuple[int, list[str]]]]:
        """The document's (mention lines, relation lines), told apart by their column count."""
        mentions = range(6, 7 + len(self.options.mention_columns))
        relation = 4 + len(self.options.relation_columns)
        mention_lines, relation_lines = [], []
        for number, line in document.annotations:
            parts = line.split("\t")
            if parts[0] != document.pmid:
                raise RecordRejected(
                    Reason.PMID_MISMATCH,
                    f"line {number}: annotation of PMID {parts[0]!r} inside document {document.pmid}",
                    locator=number
                )
            if len(parts) in mentions:
                mention_lines.append((number, parts))
            elif len(parts) == relation:
                relation_lines.append((number, parts))
            else:
                expected = f"{mentions.start}-{mentions.stop - 1} (mention) or {relation} (relation)"
                raise RecordRejected(
                    Reason.WRONG_COLUMN_COUNT, f"line {number}: {len(parts)} columns, expected {expected}", locator=number
                )
        return mention_lines, relation_lines

    def _mention(self, doc: _Conversion, number: int, parts: list[str]) -> None:
        """Add one mention line's entity to ``doc``, or its defect."""
        start, end = self._offsets(number, parts)
        mention, label, id_column = parts[3], parts[4], parts[5]
        text = doc.text
        if not label.strip():
            detail = f"line {number}: mention {mention!r} has an empty type"
            doc.defect(number, Reason.ANNOTATION_WITHOUT_TYPE, detail, annotation="entities")
            return
        if not 0 <= start < end <= len(text):
            detail = f"line {number}: [{start}, {end}) outside 0..{len(text)}"
            doc.defect(number, Reason.MENTION_OFFSETS_OUT_OF_RANGE, detail, annotation="entities")
            return
        problem = mention_problem(mention, text[start:end])
        if problem == MENTION_PADDED:
            doc.defect(number, problem, f"line {number}: {mention!r}", annotation="entities", dropped=False)
        elif problem is not None:
            detail = f"line {number}: {mention!r} != document text {text[start:end]!r} at [{start}, {end})"
            doc.defect(number, problem, detail, annotation="entities")
            return
        entity_id = f"{doc.record_id}.e{len(doc.entities)}"
        rules = doc.rules
        ids, normalized = rules.split(id_column, label)
        if rules.is_several(id_column):
            doc.raw_ids[entity_id] = id_column.strip()
        for name, column in zip(self.options.mention_columns, parts[6:]):
            if name == "individual_mentions" and column.strip():
                doc.individual[entity_id] = column.split("|")
            elif name == "concept_ids":
                more_ids, more = rules.split(column, label)
                ids, normalized = ids + more_ids, normalized + more
        doc.entities.append(Entity(entity_id, label, [text[start:end]], [(start, end)], normalized))
        doc.concepts_of.append(ids)

    def _relation(self, doc: _Conversion, number: int, parts: list[str]) -> None:
        """Add one concept-level relation line's relation to ``doc`` (its extra columns kept in ``relation_infons``),
        or its defect."""
        _, label, first, second, *extra = (part.strip() for part in parts)
        if (label, first, second) in doc.seen_relations:
            doc.defect(number, Reason.DUPLICATE_RELATION, f"line {number}: {label} {first} {second}", annotation="relations")
            return
        doc.seen_relations.add((label, first, second))
        args, missing = concept_arguments(doc.entities, doc.concepts_of, [first, second])
        if missing:
            detail = f"line {number}: {label} {first} {second}: no mention normalised to {', '.join(missing)}"
            doc.defect(number, Reason.RELATION_CONCEPT_NOT_MENTIONED, detail, annotation="relations")
            return
        normalized = [self._normalization_on(doc, arg, concept) for arg, concept in zip(args, (first, second))]
        relation_id = f"{doc.record_id}.r{len(doc.relations)}"
        doc.relations.append(Relation(relation_id, label, args[0], args[1], normalized))
        if extra:
            doc.relation_infons[relation_id] = dict(zip(self.options.relation_columns, extra))

    def _normalization_on(self, doc: _Conversion, entity_id: str, concept: str) -> Normalization:
        """The normalisation of ``concept`` as its argument mention carries it (the database found for that mention)."""
        index = next(i for i, entity in enumerate(doc.entities) if entity.id == entity_id)
        return doc.entities[index].normalized[doc.concepts_of[index].index(concept)]

    def _texts(self, document: _Document) -> tuple[str, str | None]:
        kinds = [kind for _, kind, _ in document.texts]
        if not kinds or kinds[0] != "t":
            raise RecordRejected(
                Reason.MISSING_TITLE,
                f"line {document.first_line}: document {document.pmid} has no |t| line first",
                locator=document.first_line
            )
        for number, kind, _ in document.texts[1:]:
            if kind != "a" or kinds.count("a") > 1:
                detail = f"line {number}: |{kind}| line; expected one |t| then at most one |a|"
                raise RecordRejected(Reason.UNEXPECTED_TEXT_LINE, detail, locator=number)
        title = document.texts[0][2]
        abstract = document.texts[1][2] if len(document.texts) > 1 else None
        return title, abstract

    @staticmethod
    def _offsets(number: int, parts: list[str]) -> tuple[int, int]:
        try:
            return int(parts[1]), int(parts[2])
        except ValueError:
            raise RecordRejected(
                Reason.BAD_OFFSETS, f"line {number}: offsets {parts[1]!r} {parts[2]!r} are not integers", locator=number
            ) from None
