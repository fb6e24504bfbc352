"""BRAT standoff: a folder of ``NAME.txt`` (the document) + ``NAME.ann`` (its annotations) pairs.

Each pair becomes one ``kb`` record keyed by NAME (its path relative to the folder, without suffix), with
one ``document`` passage holding the whole ``.txt`` text. The text is read as brat itself reads it, with
universal newlines (brat's ``open_textfile``): a CRLF or lone CR line end is one ``\n`` character, so offsets
count characters of that text and a CRLF copy of a document (e.g. a Windows checkout) keeps its annotations.
A ``.txt`` without its ``.ann`` or an ``.ann`` without its ``.txt`` is rejected, naming the file.
Annotation lines (tab-separated):

* ``T1<TAB>Type s e[;s e...]<TAB>text``: a text-bound annotation (``;`` = discontinuous fragments, whose
  texts brat joins with one space). It becomes an entity, or the trigger of the events that use it.
  A fragment outside the text, or a text that differs from the ``.txt`` at the offsets, drops the
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
missing or dropped annotation is dropped as a defect; an unknown line kind, or a line reusing an annotation
id defined on an earlier line (``duplicate annotation id``), is skipped as a defect.

Several path arguments (folders or files) may be given; a document key found under two of them (e.g.
``a/x.txt`` and ``b/x.txt``, both keyed ``x``) is read from the first and rejected under the second
(``duplicate document``), never merged or overwritten.

The raw source text of a record (``ReadContext.keep_raw``) is the ``.txt`` content, the separator line
:data:`RAW_SEPARATOR` (``"\n=== ann ===\n"``), then the ``.ann`` content, both verbatim (as decoded).
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, check_path, folder_files, is_present, read_text
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import Coreference, Entity, Event, EventArgument, KBRecord, Normalization, Passage, Relation, Span, Trigger

SPAN = re.compile(r"^(\d+) (\d+)$")
RAW_SEPARATOR = "\n=== ann ===\n"  # between the .txt and the .ann content in a record's raw source text


@dataclass(slots=True)
class BratOptions:
    """``db_names``: renames of normalisation databases (``{MeSH: MESH}``); ``encoding``: of the files."""

    db_names: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"


@dataclass(slots=True)
class _TextBound:
    type: str
    text: list[str]
    offsets: list[Span]


@dataclass(slots=True)
class _Pair:
    """One document: its key, the path argument it was found under, and its ``.txt`` / ``.ann`` files."""

    key: str
    root: Path
    files: dict[str, Path] = field(default_factory=dict)


@dataclass(slots=True)
class _Annotations:
    """The parsed lines of one ``.ann`` file, by kind (each entry starts with its line number)."""

    bound: dict[str, _TextBound] = field(default_factory=dict)
    relations: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # (line, id, type, arg1, arg2)
    # (line, id, type, trigger, [(role, ref)])
    events: list[tuple[int, str, str, str, list[tuple[str, str]]]] = field(default_factory=list)
    norms: list[tuple[int, str, Normalization]] = field(default_factory=list)
    equivs: list[tuple[int, list[str]]] = field(default_factory=list)
    attributes: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  # annotation id -> line that defined it


@dataclass(slots=True)
class _Conversion:
    """What one document converts into, and the defects counted on the way."""

    ann_path: Path
    key: str
    record_id: str
    ctx: ReadContext
    defects: list[Item] = field(default_factory=list)

    def defect(self, line: int, reason: Reason, detail: str) -> None:
        """Count a dropped annotation of the ``.ann`` line ``line`` under ``reason``."""
        self.defects.append(self.ctx.defect(self.ann_path, line, reason, f"{self.ann_path.name}:{line}: {detail}", self.key))

    def missing(self, line: int, detail: str) -> None:
        """Count an annotation of line ``line`` dropped because it points at a missing or dropped annotation."""
        self.defect(line, Reason.ANNOTATION_REFERS_TO_A_MISSING_ANNOTATION, f"line {line}: {detail}")


def _malformed(number: int, detail: str) -> RecordRejected:
    return RecordRejected(Reason.MALFORMED_ANNOTATION_LINE, f"line {number}: {detail}", locator=number)


@register
class BratReader(Reader):
    """Reads BRAT standoff ``.txt``/``.ann`` pairs into ``kb`` records: entities, relations, events, norms, coreference."""

    name = "brat"
    schema = "kb"
    description = "BRAT standoff folders (NAME.txt + NAME.ann: T, R, E, N, *, A/M, # lines)"
    Options = BratOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its defects) or rejection per document key, sorted; then the duplicate keys' rejections."""
        pairs, duplicates = self._pairs(paths)
        for pair in pairs:
            text_path, ann_path = pair.files.get(".txt"), pair.files.get(".ann")
            if text_path is None or ann_path is None:
                present, partner = (ann_path, ".txt") if text_path is None else (text_path, ".ann")
                assert present is not None
                yield ctx.reject(
                    present,
                    pair.key,
                    Reason.MISSING_PARTNER_FILE,
                    f"{present.name} has no {partner} file beside it",
                    document_id=pair.key,
                )
                continue
            convert = partial(self._convert, pair.key, text_path, ann_path, ctx)
            yield from self.rejecting(ctx, ann_path, pair.key, convert, document_id=pair.key)
        for duplicate, first in duplicates:
            path = min(duplicate.files.values())
            detail = f"{path} has the document key {duplicate.key!r} of {min(first.files.values())}, read from {first.root}"
            yield ctx.reject(path, duplicate.key, Reason.DUPLICATE_DOCUMENT, detail, document_id=duplicate.key)

    @staticmethod
    def _pairs(paths: list[Path]) -> tuple[list[_Pair], list[tuple[_Pair, _Pair]]]:
        """Every document (sorted by key) and the (duplicate, first) pairs whose key another path argument already gave.

        A folder gives all its pairs, keyed by their path relative to the folder; a file gives its own pair,
        keyed by its stem. A key found under two different path arguments (e.g. ``a/x.txt`` and ``b/x.txt``) is
        one document under the first argument; the second is a duplicate."""
        found: dict[str, _Pair] = {}
        duplicates: dict[tuple[str, Path], _Pair] = {}
        seen_files: set[Path] = set()

        def add(key: str, root: Path, file: Path) -> None:
            if file.resolve() in seen_files:
                return
            seen_files.add(file.resolve())
            pair = found.setdefault(key, _Pair(key, root))
            if pair.root != root:
                pair = duplicates.setdefault((key, root), _Pair(key, root))
            pair.files[file.suffix] = file

        for path in paths:
            if stat.S_ISDIR(check_path(path).st_mode):
                files = folder_files(path, lambda p: p.suffix in (".txt", ".ann"))
                if not files:
                    raise ConvertError(path, "folder holds no .txt/.ann files")
                for file in files:
                    add(file.relative_to(path).with_suffix("").as_posix(), path, file)
            elif path.suffix in (".txt", ".ann"):
                for suffix in (".txt", ".ann"):
                    if is_present(path.with_suffix(suffix)):
                        add(path.stem, path.parent, path.with_suffix(suffix))
            else:
                raise ConvertError(path, "expected a folder of .txt/.ann pairs or a .txt/.ann file")
        ordered = [found[key] for key in sorted(found)]
        return ordered, [(duplicates[k], found[k[0]]) for k in sorted(duplicates, key=lambda k: (k[0], str(k[1])))]

    # ----------------------------------------------------------------------------------------- conversion
    def _convert(self, key: str, text_path: Path, ann_path: Path, ctx: ReadContext) -> Iterator[Item]:
        source_text = read_text(text_path, self.options.encoding)
        text = source_text.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as brat reads a .txt
        ann = read_text(ann_path, self.options.encoding)
        lines = ann.splitlines()
        doc = _Conversion(ann_path, key, ctx.record_id(key, key), ctx)
        parsed = self._parse(lines, text, doc)
        triggers = {trigger for *_, trigger, _ in parsed.events}
        entity_ids = {t: f"{doc.record_id}.{t}" for t in parsed.bound if t not in triggers}
        entities = {
            t: Entity(entity_ids[t], bound.type, bound.text, bound.offsets)
            for t, bound in parsed.bound.items()
            if t in entity_ids
        }
        self._normalise(parsed, entities, doc)
        relations = self._relations(parsed, entity_ids, doc)
        events = self._events(parsed, entity_ids, doc)
        coreferences = self._coreferences(parsed, entity_ids, doc)
        meta: dict[str, Any] = {"source": {"path": ann_path.name, "record": key}}
        if parsed.attributes:
            meta["attributes"] = parsed.attributes
        if parsed.notes:
            meta["notes"] = parsed.notes
        yield from doc.defects
        record = KBRecord(
            **ctx.common(key, key, meta=meta),
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
        or an annotation id defined before is skipped as a defect."""
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
                doc.defect(number, Reason.DUPLICATE_ANNOTATION_ID, detail)
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
            item = self._text_bound(number, body, "\t".join(fields[2:]), text, doc)
            if item is not None:
                parsed.bound[ann_id] = item
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
            parsed.attributes.append(attribute)
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
    def _text_bound(number: int, body: str, stated: str, text: str, doc: _Conversion) -> _TextBound | None:
        """The text-bound annotation of line ``number``, or None when it is dropped (its defect counted in ``doc``);
        a fragment that is not ``start end`` rejects the document."""
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
                doc.defect(number, Reason.MENTION_OFFSETS_OUT_OF_RANGE, f"line {number}: [{start}, {end}) outside 0..{len(text)}")
                return None
        pieces = [text[start:end] for start, end in offsets]
        if " ".join(pieces) != stated:
            detail = f"line {number}: {stated!r} != document text {' '.join(pieces)!r}"
            doc.defect(number, Reason.MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS, detail)
            return None
        return _TextBound(label, pieces, offsets)

    # ----------------------------------------------------------------------------------------- linking
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
                doc.missing(number, f"relation {rel_id} {first} {second}")
        return relations

    @staticmethod
    def _events(parsed: _Annotations, entity_ids: dict[str, str], doc: _Conversion) -> list[Event]:
        event_ids = {e: f"{doc.record_id}.{e}" for _, e, _, trigger, _ in parsed.events if trigger in parsed.bound}
        refs = {**entity_ids, **event_ids}
        events = []
        for number, ev_id, label, trigger, arguments in parsed.events:
            if ev_id not in event_ids:
                doc.missing(number, f"event {ev_id} trigger {trigger}")
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
                doc.missing(number, f"Equiv {' '.join(members)}")
        return coreferences
