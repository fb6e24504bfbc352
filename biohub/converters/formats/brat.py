"""BRAT standoff: ``NAME.ann`` annotation files, each with the text of its document (by default ``NAME.txt`` beside it).

Each document becomes one ``kb`` record keyed by NAME (the ``.ann`` path relative to the folder argument, without
suffix), with one ``document`` passage holding the whole text. A ``.txt`` is read as brat itself reads it, with
universal newlines (brat's ``open_textfile``): a CRLF or lone CR line end is one ``\n`` character, so offsets
count characters of that text and a CRLF copy of a document (e.g. a Windows checkout) keeps its annotations.

Where the texts are (option ``texts``):

* ``beside`` (default): ``NAME.txt`` next to ``NAME.ann`` under the same path argument;
* ``apart``: the texts are in other path arguments than the annotations (``corpus/`` and ``annotations/``): a
  document is the ``NAME.ann`` and the ``NAME.txt`` of the same key, whichever arguments they come from;
* ``table``: every ``.txt`` path is a text table, one document a line, ``KEY<TAB>text`` (SETH's ``corpus.txt``);
  offsets count characters of the text field. A table line without a tab, or a key given twice, is rejected
  with the table's file and line.

A document whose annotations or text is missing is rejected, naming the file (``missing partner file``).
A ``.list`` path argument (one document key a line; AnEM's ``train-files.list``) restricts the read to the
keys it lists; a listed key without a document is rejected with the list's file and line.

Annotation lines (tab-separated):

* ``T1<TAB>Type s e[;s e...]<TAB>text``: a text-bound annotation (``;`` = discontinuous fragments, whose
  texts brat joins with one space). It becomes an entity, or the trigger of the events that use it.
  A fragment outside the text, or a text that differs from the document at the offsets, drops the
  annotation as a defect.
* ``R1<TAB>Type Arg1:T1 Arg2:T2``: a relation, its arguments taken by role (``Arg1`` -> ``arg1_id``, in
  whichever order they are written; a missing or repeated role rejects the document);
  ``E1<TAB>Type:T3 Role:T1 Role2:E2``: an event.
* ``N1<TAB>Reference T1 DB:ID[<TAB>text]``: a normalisation of T1 (``db_names`` renames databases, e.g.
  ``MeSH`` -> ``MESH``).
* ``*<TAB>Equiv T1 T2 ...``: a coreference chain.
* ``A1<TAB>Name T1 [value]`` / ``M1 ...``: attributes, kept in ``meta.attributes``
  (``{id, name, target, value}``); ``#1<TAB>AnnotatorNotes T1<TAB>note``: kept in ``meta.notes``.

Sub-ids keep brat's ids: ``<record id>.T1``, ``.R1``, ``.E1``; coreferences are ``<record id>.c<n>``.
A line that cannot be parsed rejects the document (file:line and reason); an annotation that points at a
missing or dropped annotation (a relation, event, equivalence, normalisation or attribute) is dropped as a
defect; an unknown line kind, or a line reusing an annotation id defined on an earlier line (``duplicate
annotation id``), is dropped as a defect. Each defect names the ``.ann`` file and line, and ``--strict`` fails on
it. The reader counts the entities (text-bound annotations that are no event trigger), relations, events and
coreference chains it read per document (``ReadContext.count_read``), so the ledger shows ``read == converted +
dropped``.

Several path arguments (folders or files) may be given; a document key found under two of them (e.g.
``a/x.txt`` and ``b/x.txt``, both keyed ``x``) is read from the first and rejected under the second
(``duplicate document``), never merged or overwritten.

The raw source text of a record (``ReadContext.keep_raw``) is the text (file content or table field), the
separator line :data:`RAW_SEPARATOR` (``"\n=== ann ===\n"``), then the ``.ann`` content, both verbatim (as decoded).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from biohub.converters.base import Defect, Item, ReadContext, Reader, read_text
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.converters.standoff_files import Document, TextLayout, find_documents
from biohub.schema import Coreference, Entity, Event, EventArgument, KBRecord, Normalization, Passage, Relation, Span, Trigger

SPAN = re.compile(r"^(\d+) (\d+)$")
RAW_SEPARATOR = "\n=== ann ===\n"  # between the text and the .ann content in a record's raw source text


@dataclass(slots=True)
class BratOptions:
    """``db_names``: renames of normalisation databases (``{MeSH: MESH}``); ``encoding``: of the files;
    ``texts``: where the documents' texts are, ``beside`` the ``.ann`` files (``NAME.txt``), ``apart`` (``NAME.txt``
    under other path arguments) or in a ``table`` (``.txt`` files of ``KEY<TAB>text`` lines), see the module doc;
    ``empty_events``: ``keep`` an E line without arguments as an event, or ``drop`` it as a defect (``event without
    arguments``; its trigger then stays an entity: SETH's ``E1<TAB>SNP:T6`` lines are mentions, not events);
    ``document_pattern``: a regular expression with one group that, matched at the start of a record key, gives the
    record's document id (``^(\\d+)-`` makes the paragraphs ``1619718-05-Discussion-p05`` of one article one
    document, which a derived split keeps together); a key it does not match is rejected (``missing document id``).
    Empty: the document id is the key."""

    db_names: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"
    texts: TextLayout = "beside"
    empty_events: Literal["keep", "drop"] = "keep"
    document_pattern: str = ""

    def __post_init__(self) -> None:
        if self.document_pattern:
            try:
                groups = re.compile(self.document_pattern).groups
            except re.error as exc:
                raise ValueError(f"document_pattern: {self.document_pattern!r} is not a regular expression ({exc})") from None
            if groups != 1:
                raise ValueError(f"document_pattern: {self.document_pattern!r} needs exactly one group (the document id)")

    def document_of(self, key: str) -> str | None:
        """The document id of the record ``key``: ``document_pattern``'s group (None when the key does not match it),
        or the key itself when no pattern is set."""
        if not self.document_pattern:
            return key
        match = re.match(self.document_pattern, key)
        return match[1] if match and match[1] else None


@dataclass(slots=True)
class _TextBound:
    type: str
    text: list[str]
    offsets: list[Span]


@dataclass(slots=True)
class _Annotations:
    """The parsed lines of one ``.ann`` file, by kind (each entry starts with its line number)."""

    bound: dict[str, _TextBound] = field(default_factory=dict)
    bound_lines: list[str] = field(default_factory=list)  # the id of every text-bound line read, kept or dropped
    bound_defects: dict[str, Defect] = field(default_factory=dict)  # text-bound id -> the defect that dropped it
    relations: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # (line, id, type, arg1, arg2)
    # (line, id, type, trigger, [(role, ref)])
    events: list[tuple[int, str, str, str, list[tuple[str, str]]]] = field(default_factory=list)
    norms: list[tuple[int, str, Normalization]] = field(default_factory=list)
    equivs: list[tuple[int, list[str]]] = field(default_factory=list)
    attributes: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  # annotation id -> line that defined it
    duplicate_kinds: list[str] = field(default_factory=list)  # the kind (T, R, E, *) of every line dropped as a duplicate id


@dataclass(slots=True)
class _Conversion:
    """What one document converts into, and the defects counted on the way."""

    ann_path: Path
    key: str
    document_id: str
    record_id: str
    ctx: ReadContext
    defects: list[Defect] = field(default_factory=list)

    def defect(self, line: int, reason: Reason, detail: str, unit: str = "") -> Defect:
        """Count a dropped annotation of the ``.ann`` line ``line`` under ``reason`` (of ledger unit ``unit``)."""
        where = f"{self.ann_path.name}:{line}: {detail}"
        made = self.ctx.defect(self.ann_path, line, reason, where, self.document_id, annotation=unit)
        self.defects.append(made)
        return made

    def missing(self, line: int, detail: str, unit: str = "") -> None:
        """Count an annotation of line ``line`` dropped because it points at a missing or dropped annotation."""
        self.defect(line, Reason.ANNOTATION_REFERS_TO_A_MISSING_ANNOTATION, f"line {line}: {detail}", unit)


def _malformed(number: int, detail: str) -> RecordRejected:
    return RecordRejected(Reason.MALFORMED_ANNOTATION_LINE, f"line {number}: {detail}", locator=number)


UNITS = {"T": "entities", "R": "relations", "E": "events", "*": "coreferences"}  # ledger unit of each counted line kind


@register
class BratReader(Reader):
    """Reads BRAT standoff annotations (texts beside, apart or in a table) into ``kb`` records: entities, relations,
    events, norms, coreference."""

    name = "brat"
    schema = "kb"
    description = "BRAT standoff (NAME.ann + its text: NAME.txt beside or apart, or a KEY<TAB>text table; .list files)"
    Options = BratOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its defects) or rejection per document key, sorted; then the duplicate keys' rejections."""
        found = find_documents(paths, self.options.texts, self.options.encoding)
        for path, line, reason, detail, key in found.rejections:
            yield ctx.reject(path, line, reason, detail, document_id=self._owner(key))
        wanted = found.listed
        for key in sorted(found.pairs):
            if wanted is None or key in wanted:
                yield from self._document(found.pairs[key], ctx)
        for key, (path, line) in sorted((wanted or {}).items()):
            if key not in found.pairs:
                detail = f"{path.name}:{line} lists {key!r}, which no path argument holds"
                yield ctx.reject(path, line, Reason.MISSING_PARTNER_FILE, detail, document_id=self._owner(key))
        for (key, root), duplicate in sorted(found.duplicates.items(), key=lambda item: (item[0][0], str(item[0][1]))):
            if wanted is None or key in wanted:
                first = found.pairs[key]
                path = min(duplicate.files.values()) if duplicate.files else duplicate.root
                detail = f"{path} has the document key {key!r} of {first.where()}, read from {first.root}"
                yield ctx.reject(path, key, Reason.DUPLICATE_DOCUMENT, detail, document_id=self._owner(key))

    def _owner(self, key: str) -> str:
        """The document a problem with the record ``key`` belongs to (for its split): its document id, else the key."""
        return self.options.document_of(key) or key

    def _document(self, pair: Document, ctx: ReadContext) -> Iterator[Item]:
        """The document's record and defects, or its rejection (a missing partner, a line that cannot be parsed)."""
        text_path, ann_path = pair.files.get(".txt"), pair.files.get(".ann")
        document_id = self.options.document_of(pair.key)
        if document_id is None:
            detail = f"key {pair.key!r} does not match document_pattern {self.options.document_pattern!r}"
            yield ctx.reject(pair.where(), pair.key, Reason.MISSING_DOCUMENT_ID, detail, document_id=pair.key)
            return
        beside = " beside it" if self.options.texts == "beside" else f" for {pair.key!r}"
        if ann_path is None and pair.table is not None:  # a table line without its .ann
            table, line, _ = pair.table
            detail = f"{table.name}:{line} has no .ann file for {pair.key!r}"
            yield ctx.reject(table, line, Reason.MISSING_PARTNER_FILE, detail, document_id=document_id)
            return
        if ann_path is None or (text_path is None and pair.table is None):
            present, partner = (text_path, ".ann") if ann_path is None else (ann_path, ".txt")
            assert present is not None  # a document is made by one of its files
            detail = f"{present.name} has no {partner} file{beside}"
            yield ctx.reject(present, pair.key, Reason.MISSING_PARTNER_FILE, detail, document_id=document_id)
            return
        convert = partial(self._convert, pair, document_id, ann_path, ctx)
        yield from self.rejecting(ctx, ann_path, pair.key, convert, document_id=document_id)

    # ----------------------------------------------------------------------------------------- conversion
    def _text(self, pair: Document) -> tuple[str, str]:
        """(the source text as decoded, the text offsets count: universal newlines, as brat reads a ``.txt``)."""
        if pair.table is not None:
            return pair.table[2], pair.table[2]
        source_text = read_text(pair.files[".txt"], self.options.encoding)
        return source_text, source_text.replace("\r\n", "\n").replace("\r", "\n")

    def _convert(self, pair: Document, document_id: str, ann_path: Path, ctx: ReadContext) -> Iterator[Item]:
        key = pair.key
        source_text, text = self._text(pair)
        ann = read_text(ann_path, self.options.encoding)
        doc = _Conversion(ann_path, key, document_id, ctx.record_id(key, document_id), ctx)
        parsed = self._parse(ann.splitlines(), text, doc)
        events_kept = self._with_arguments(parsed, doc)
        triggers = {trigger for *_, trigger, _ in events_kept}
        for ann_id, defect in parsed.bound_defects.items():
            defect.annotation = "" if ann_id in triggers else "entities"  # a lost trigger shows as its event's drop
        entity_ids = {t: f"{doc.record_id}.{t}" for t in parsed.bound if t not in triggers}
        entities = {t: Entity(entity_ids[t], bound.type, bound.text, bound.offsets) for t, bound in parsed.bound.items()
                    if t in entity_ids}
        self._normalise(parsed, entities, doc)
        relations = self._relations(parsed, entity_ids, doc)
        events = self._events(parsed, events_kept, entity_ids, doc)
        coreferences = self._coreferences(parsed, entity_ids, doc)
        kept_ids = set(parsed.bound) | {r.id.rsplit(".", 1)[-1] for r in relations} | {e.id.rsplit(".", 1)[-1] for e in events}
        meta: dict[str, Any] = {"source": {"path": ann_path.name, "record": key}}
        if pair.table is not None:
            meta["source"]["text"] = f"{pair.table[0].name}:{pair.table[1]}"
        if attributes := self._attributes(parsed, kept_ids, doc):
            meta["attributes"] = attributes
        if parsed.notes:
            meta["notes"] = parsed.notes
        read = Counter(UNITS[kind] for kind in parsed.duplicate_kinds if kind in UNITS)
        read.update(entities=sum(1 for t in parsed.bound_lines if t not in triggers), relations=len(parsed.relations),
                    events=len(events_kept), coreferences=len(parsed.equivs))
        ctx.count_read(document_id, **{unit: count for unit, count in read.items() if count})
        yield from doc.defects
        record = KBRecord(
            **ctx.common(key, document_id, meta=meta),
            passages=[Passage(f"{doc.record_id}.p0", "document", [text], [(0, len(text))])],
            entities=list(entities.values()),
            relations=relations,
            events=events,
            coreferences=coreferences,
        )
        ctx.keep_raw(record.id, lambda: source_text + RAW_SEPARATOR + ann)
        yield record

    # ----------------------------------------------------------------------------------------- parsing
    def _parse(self, lines: list[str], text: str, doc: _Conversion) -> _Annotations:
        """Every annotation line, by kind; a line that cannot be parsed rejects the document, an unknown kind
        or an annotation id defined before is dropped as a defect."""
        parsed = _Annotations()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            fields = line.split("\t")
            ann_id, body = fields[0], fields[1] if len(fields) > 1 else ""
            if len(fields) < 2 or not body.split():
                raise _malformed(number, repr(line))
            if ann_id != "*" and ann_id in parsed.ids:
                detail = f"line {number}: {ann_id} already defined at line {parsed.ids[ann_id]}"
                doc.defect(number, Reason.DUPLICATE_ANNOTATION_ID, detail, UNITS.get(ann_id[:1], ""))
                parsed.duplicate_kinds.append(ann_id[:1])
                continue
            if ann_id != "*":
                parsed.ids[ann_id] = number
            self._parse_line(number, line, ann_id, fields, text, parsed, doc)
        return parsed

    def _parse_line(
        self, number: int, line: str, ann_id: str, fields: list[str], text: str, parsed: _Annotations, doc: _Conversion
    ) -> None:
        body = fields[1]
        words = body.split()
        kind = ann_id[:1]
        if kind == "T":
            if len(fields) < 3:
                raise _malformed(number, "text-bound annotation without its text column")
            parsed.bound_lines.append(ann_id)
            self._text_bound(number, ann_id, body, "\t".join(fields[2:]), text, parsed, doc)
        elif kind == "R":
            parsed.relations.append((number, ann_id, *self._relation_args(number, words)))
        elif kind == "E":
            pairs = [word.split(":", 1) for word in words]
            if any(len(pair) != 2 for pair in pairs):
                raise _malformed(number, f"event needs Type:T Role:X ..., got {body!r}")
            (label, trigger), arguments = pairs[0], pairs[1:]
            parsed.events.append((number, ann_id, label, trigger, [(role, ref) for role, ref in arguments]))
        elif kind == "N":
            if len(words) != 3 or ":" not in words[2]:
                raise _malformed(number, f"normalisation needs Type T DB:ID, got {body!r}")
            db, _, db_id = words[2].partition(":")
            parsed.norms.append((number, words[1], Normalization(self.options.db_names.get(db, db), db_id)))
        elif kind == "*":
            parsed.equivs.append((number, words[1:]))
        elif kind in ("A", "M"):
            attribute = {"id": ann_id, "name": words[0], "target": words[1] if len(words) > 1 else ""}
            if len(words) > 2:
                attribute["value"] = " ".join(words[2:])
            parsed.attributes.append((number, attribute))
        elif kind == "#":
            target = words[1] if len(words) > 1 else ""
            parsed.notes.append({"id": ann_id, "type": words[0], "target": target, "text": "\t".join(fields[2:])})
        else:
            doc.defect(number, Reason.UNKNOWN_ANNOTATION_LINE, f"line {number}: {line!r}")

    @staticmethod
    def _relation_args(number: int, words: list[str]) -> tuple[str, str, str]:
        """(type, Arg1 target, Arg2 target) of ``Type Arg1:X Arg2:Y``, the arguments taken by role, in any order."""
        roles = [word.split(":", 1) for word in words[1:]]
        args = {role: target for role, target in (r for r in roles if len(r) == 2) if target}
        if len(words) != 3 or len(roles) != 2 or set(args) != {"Arg1", "Arg2"}:
            raise _malformed(number, f"relation needs Type Arg1:X Arg2:Y (one argument per role), got {' '.join(words)!r}")
        return words[0], args["Arg1"], args["Arg2"]

    @staticmethod
    def _text_bound(number: int, ann_id: str, body: str, stated: str, text: str, parsed: _Annotations, doc: _Conversion) -> None:
        """Add the text-bound annotation of line ``number`` to ``parsed``, or note the defect that drops it (a fragment
        outside the text, a stated text other than the document's); a fragment that is not ``start end`` rejects
        the document."""
        label, _, spans = body.partition(" ")
        offsets: list[Span] = []
        for fragment in spans.split(";"):
            match = SPAN.match(fragment.strip())
            if not match:
                detail = f"line {number}: fragment {fragment!r} is not 'start end'"
                raise RecordRejected(Reason.BAD_OFFSETS, detail, locator=number)
            offsets.append((int(match[1]), int(match[2])))
        for start, end in offsets:
            if not 0 <= start < end <= len(text):
                detail = f"line {number}: [{start}, {end}) outside 0..{len(text)}"
                parsed.bound_defects[ann_id] = doc.defect(number, Reason.MENTION_OFFSETS_OUT_OF_RANGE, detail)
                return
        pieces = [text[start:end] for start, end in offsets]
        if " ".join(pieces) != stated:
            detail = f"line {number}: {stated!r} != document text {' '.join(pieces)!r}"
            parsed.bound_defects[ann_id] = doc.defect(number, Reason.MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS, detail)
            return
        parsed.bound[ann_id] = _TextBound(label, pieces, offsets)

    # ----------------------------------------------------------------------------------------- linking
    def _with_arguments(self, parsed: _Annotations, doc: _Conversion) -> list[tuple[int, str, str, str, list[tuple[str, str]]]]:
        """The events to build: all E lines, or, with ``empty_events: drop``, those with at least one argument (an E
        line without any is dropped as a defect and its trigger stays an entity)."""
        if self.options.empty_events == "keep":
            return parsed.events
        kept = []
        for event in parsed.events:
            number, ev_id, label, trigger, arguments = event
            if arguments:
                kept.append(event)
            else:
                detail = f"line {number}: {ev_id} {label}:{trigger} has no arguments; {trigger} is kept as an entity"
                doc.defect(number, Reason.EVENT_WITHOUT_ARGUMENTS, detail)  # not an event: in no unit's count
        return kept

    @staticmethod
    def _normalise(parsed: _Annotations, entities: dict[str, Entity], doc: _Conversion) -> None:
        for number, target, norm in parsed.norms:
            if target in entities:
                entities[target].normalized.append(norm)
            else:
                doc.missing(number, f"normalisation of {target}")

    @staticmethod
    def _relations(parsed: _Annotations, entity_ids: dict[str, str], doc: _Conversion) -> list[Relation]:
        relations = []
        for number, rel_id, label, first, second in parsed.relations:
            if first in entity_ids and second in entity_ids:
                relations.append(Relation(f"{doc.record_id}.{rel_id}", label, entity_ids[first], entity_ids[second]))
            else:
                doc.missing(number, f"relation {rel_id} {first} {second}", "relations")
        return relations

    @staticmethod
    def _events(
        parsed: _Annotations,
        wanted: list[tuple[int, str, str, str, list[tuple[str, str]]]],
        entity_ids: dict[str, str],
        doc: _Conversion,
    ) -> list[Event]:
        event_ids = {e: f"{doc.record_id}.{e}" for _, e, _, trigger, _ in wanted if trigger in parsed.bound}
        refs = {**entity_ids, **event_ids}
        events = []
        for number, ev_id, label, trigger, arguments in wanted:
            if ev_id not in event_ids:
                doc.missing(number, f"event {ev_id} trigger {trigger}", "events")
                continue
            kept = [EventArgument(role, refs[ref]) for role, ref in arguments if ref in refs]
            if len(kept) != len(arguments):
                doc.missing(number, f"event {ev_id} argument dropped")
            bound = parsed.bound[trigger]
            events.append(Event(f"{doc.record_id}.{ev_id}", label, Trigger(bound.text, bound.offsets), kept))
        return events

    @staticmethod
    def _coreferences(parsed: _Annotations, entity_ids: dict[str, str], doc: _Conversion) -> list[Coreference]:
        coreferences: list[Coreference] = []
        for number, members in parsed.equivs:
            if all(member in entity_ids for member in members):
                coreferences.append(Coreference(f"{doc.record_id}.c{len(coreferences)}", [entity_ids[m] for m in members]))
            else:
                doc.missing(number, f"Equiv {' '.join(members)}", "coreferences")
        return coreferences

    @staticmethod
    def _attributes(parsed: _Annotations, kept_ids: set[str], doc: _Conversion) -> list[dict[str, str]]:
        """The attributes whose target was kept (a text-bound annotation, relation or event); the others are defects."""
        attributes = []
        for number, attribute in parsed.attributes:
            if attribute["target"] in kept_ids:
                attributes.append(attribute)
            else:
                doc.missing(number, f"attribute {attribute['id']} {attribute['name']} of {attribute['target'] or '(none)'}")
        return attributes
