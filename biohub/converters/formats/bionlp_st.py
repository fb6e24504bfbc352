"""BioNLP Shared Task standoff: ``NAME.txt`` + ``NAME.a1`` (given entities) + ``NAME.a2`` (task annotations).

The format of the BioNLP Shared Tasks 2009-2013 (GENIA, EPI, ID, CG, GRO, GENIA PTM, ...). Each ``.txt`` of a path
argument (a folder, read recursively, or one ``.txt`` file) is one document and becomes one ``kb`` record keyed by
its path relative to the folder without suffix, with one ``document`` passage holding the whole text exactly as it is
in the file (offsets are 0-based, end-exclusive character offsets into it). Beside it:

* the *given* file (option ``given``, ``.a1``): text-bound ``T`` lines of the entities given as input; required when
  set (a ``.txt`` without it is rejected, ``missing partner file``);
* the *task* files (option ``task``, ``[.a2]``; ``[.rel]`` for the REL task, ``[.ann]`` for brat-style samples): the
  gold annotations. A document with none of them is **unlabelled** (``labeled=False``: a test document whose gold was
  never released keeps its given entities as input and carries nothing else). Within one path argument either every
  document has a task file or none has: a labelled folder with one document missing it rejects that document, and an
  annotation file without its ``.txt`` is rejected too (``missing partner file``), never skipped.

Annotation lines (TAB-separated), in either file:

* ``T1<TAB>Type s e[;s e...]<TAB>text``: text-bound; the text must equal the document text at the offsets
  (fragments joined by one space). A ``T`` used as an event trigger is that event's ``trigger``; every other ``T``
  (and a trigger that something else also points at) is an entity ``<record id>.T1``.
* ``E1<TAB>Type:T5 Theme:T1 Theme2:E2 ...``: an event ``<record id>.E1`` whose arguments point at entities or at other
  events (nested events); numbered roles (``Theme2``) are kept as written. Nested events must not form a cycle.
* ``M1<TAB>Negation E1``: a modification ``<record id>.M1`` (type, ``ref_id``) of an event or entity.
* ``*<TAB>Equiv T1 T2 ...``: a coreference cluster ``<record id>.Equiv<n>`` (n counts the document's Equiv lines from 1).
* ``R1<TAB>Type Role1:X Role2:Y``: a relation; the first argument is ``arg1_id``, the second ``arg2_id`` (GE 2013's
  ``Subject``/``Object``, REL's and GRO's ``Arg1``/``Arg2``); the roles are kept in ``meta.relation_roles`` when they
  are not ``Arg1``/``Arg2``. Arguments may be entities or events.
* ``N1<TAB>Reference T1 DB:ID``: a normalisation of entity T1 (``normalized``).
* ``A1<TAB>Name Target [Value]``: an attribute, kept in ``meta.attributes`` (``{id, name, target, value}``);
  ``#1<TAB>AnnotatorNotes T1<TAB>note``: kept in ``meta.notes``.

Bad input never passes silently: an unknown line type, a malformed line, an id defined twice (also across the given
and task files), a reference to an id that does not exist, an offset outside the text, a text that differs from the
document at its offsets, a nested-event cycle or a file that is not in ``encoding`` rejects the document with
``file:line`` and the reason. A file problem that is not about one document (a missing input, a symbolic link loop)
is a :class:`~biohub.converters.base.ConvertError`.

The raw source text of a record (``ReadContext.keep_raw``) is the ``.txt`` content, then for each annotation file
present the line ``=== <suffix> ===`` (e.g. ``=== .a1 ===``) and that file's content, verbatim.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, check_path, folder_files, is_present, read_text
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import (
    Coreference,
    Entity,
    Event,
    EventArgument,
    KBRecord,
    Modification,
    Normalization,
    Passage,
    Relation,
    Span,
    Trigger,
    nested_event_cycles,
)

SPAN = re.compile(r"^(\d+) (\d+)$")
ANNOTATION_ID = re.compile(r"^[TEMRNA#]\d+$")


@dataclass(slots=True)
class BionlpStOptions:
    """Options of the BioNLP ST standoff reader.

    Args:
        given: suffix of the file of given entities beside each ``.txt`` (``.a1``); ``""`` when there is none.
        task: suffixes of the gold annotation files read beside each ``.txt`` (``[.a2]``; ``[.rel]`` for the REL
            task; ``[.ann]`` for brat-style files). A document with none of them is unlabelled.
        encoding: encoding of every file; a file that does not decode rejects its document with file:line.
    """

    given: str = ".a1"
    task: list[str] = field(default_factory=lambda: [".a2"])
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        for suffix in [self.given, *self.task]:
            if suffix and (not suffix.startswith(".") or suffix == ".txt"):
                raise ValueError(f"annotation file suffix {suffix!r} must start with '.' and not be .txt")
        if not self.task:
            raise ValueError("task: name at least one annotation file suffix (e.g. [.a2])")


@dataclass(slots=True)
class _Line:
    """One annotation line: the file and line number it came from, its id and its TAB-separated fields."""

    path: Path
    number: int
    ann_id: str
    fields: list[str]

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.number}"

    def reject(self, reason: Reason, detail: str) -> RecordRejected:
        """The rejection of the document for this line (``file:line: detail``)."""
        return RecordRejected(reason, f"{self.where}: {detail}", locator=self.where, path=self.path)


@dataclass(slots=True)
class _Parsed:
    """The annotation lines of one document by kind, and where each id was defined."""

    bound: dict[str, tuple[_Line, str, list[str], list[Span]]] = field(default_factory=dict)  # id -> (line, type, texts, spans)
    events: dict[str, tuple[_Line, str, str, list[tuple[str, str]]]] = field(default_factory=dict)  # id -> (line, type, T, args)
    modifications: list[tuple[_Line, str, str]] = field(default_factory=list)  # (line, type, target)
    equivs: list[tuple[_Line, list[str]]] = field(default_factory=list)
    relations: list[tuple[_Line, str, list[tuple[str, str]]]] = field(default_factory=list)  # (line, type, [(role, ref)])
    norms: list[tuple[_Line, str, Normalization]] = field(default_factory=list)
    attributes: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    defined: dict[str, _Line] = field(default_factory=dict)  # id -> the line that defined it


@register
class BionlpStReader(Reader):
    """Reads BioNLP Shared Task standoff (.txt + .a1 + .a2/.rel) into ``kb`` records with events, modifications,
    coreference clusters and relations."""

    name = "bionlp-st"
    schema = "kb"
    description = "BioNLP Shared Task standoff (NAME.txt + .a1 given entities + .a2/.rel: T, E, M, *, R, N, A, # lines)"
    Options = BionlpStOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record or rejection per ``.txt`` document, path argument by path argument, sorted by key; then
        one rejection per annotation file that has no ``.txt`` beside it."""
        for path in paths:
            documents, orphans = self._documents(path)
            labelled = any(self._task_files(text_path) for _, text_path in documents)
            for key, text_path in documents:
                if ctx.read_before(key) is not None:
                    detail = f"{text_path} has the document key {key!r} of {ctx.read_before(key)}"
                    yield ctx.reject(text_path, key, Reason.DUPLICATE_DOCUMENT, detail, document_id=key)
                    continue
                ctx.note_read(key, str(text_path))
                yield from self.rejecting(
                    ctx, text_path, key, lambda: self._convert(key, text_path, labelled, ctx), document_id=key
                )
            for key, orphan in orphans:
                detail = f"{orphan.name} has no .txt file beside it"
                yield ctx.reject(orphan, key, Reason.MISSING_PARTNER_FILE, detail, document_id=key)

    def _documents(self, path: Path) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
        """(key, .txt path) of every document under a path argument, and (key, path) of every annotation file there
        without its ``.txt``, both sorted by key."""
        if not stat.S_ISDIR(check_path(path).st_mode):
            if path.suffix != ".txt":
                raise ConvertError(path, "expected a folder of BioNLP ST documents or a .txt document")
            return [(path.stem, path)], []
        suffixes = {".txt", self.options.given, *self.options.task} - {""}
        files = folder_files(path, lambda p: p.suffix in suffixes)
        keyed = sorted((file.relative_to(path).with_suffix("").as_posix(), file) for file in files)
        documents = [(key, file) for key, file in keyed if file.suffix == ".txt"]
        if not documents:
            raise ConvertError(path, "folder holds no .txt documents")
        texts = {key for key, _ in documents}
        return documents, [(key, file) for key, file in keyed if file.suffix != ".txt" and key not in texts]

    def _task_files(self, text_path: Path) -> list[Path]:
        return [text_path.with_suffix(s) for s in self.options.task if is_present(text_path.with_suffix(s))]

    # ----------------------------------------------------------------------------------------- one document
    def _convert(self, key: str, text_path: Path, labelled_folder: bool, ctx: ReadContext) -> KBRecord:
        text = self._read(text_path)
        files = self._task_files(text_path)
        labeled = bool(files)
        if labelled_folder and not labeled:
            wanted = " or ".join(self.options.task)
            detail = f"{text_path.name} has no {wanted} file beside it, unlike the other documents of its folder"
            raise RecordRejected(Reason.MISSING_PARTNER_FILE, detail)
        if self.options.given:
            given = text_path.with_suffix(self.options.given)
            if not is_present(given):
                raise RecordRejected(Reason.MISSING_PARTNER_FILE, f"{text_path.name} has no {self.options.given} file beside it")
            files.insert(0, given)
        contents = {file: self._read(file) for file in files}
        parsed = _Parsed()
        for file, content in contents.items():
            for number, raw in enumerate(content.splitlines(), start=1):
                if raw.strip():
                    self._parse_line(_Line(file, number, *self._id_and_fields(file, number, raw)), text, parsed)
        record_id = ctx.record_id(key, key)
        built = _Builder(record_id, parsed).build(text)
        meta: dict[str, Any] = {"source": {"path": text_path.name, "record": key}, **built.pop("meta")}
        record = KBRecord(**ctx.common(key, key, labeled=labeled, meta=meta), **built)
        ctx.keep_raw(record.id, lambda: text + "".join(f"\n=== {f.suffix} ===\n{c}" for f, c in contents.items()))
        counts = {"events": len(parsed.events), "relations": len(parsed.relations), "coreferences": len(parsed.equivs)}
        ctx.count_read(key, **counts, modifications=len(parsed.modifications))
        return record

    def _read(self, path: Path) -> str:
        try:
            return read_text(path, self.options.encoding)
        except ConvertError as error:
            if error.line is None:
                raise
            where = f"{path.name}:{error.line}"
            raise RecordRejected(Reason.WRONG_ENCODING, f"{where}: {error.reason}", where, path=path) from None

    @staticmethod
    def _id_and_fields(path: Path, number: int, raw: str) -> tuple[str, list[str]]:
        fields = raw.split("\t")
        if len(fields) < 2 or not fields[1].split():
            where = f"{path.name}:{number}"
            raise RecordRejected(Reason.MALFORMED_ANNOTATION_LINE, f"{where}: {raw!r}", where, path=path)
        return fields[0], fields

    # ----------------------------------------------------------------------------------------- parsing
    def _parse_line(self, line: _Line, text: str, parsed: _Parsed) -> None:
        """File one annotation line under its kind; anything that is not a well-formed line of a known kind rejects."""
        ann_id, body = line.ann_id, line.fields[1]
        words = body.split()
        if ann_id == "*":
            if words[0] != "Equiv" or len(words) < 3:
                raise line.reject(Reason.MALFORMED_ANNOTATION_LINE, f"expected '*<TAB>Equiv T1 T2 ...', got {body!r}")
            parsed.equivs.append((line, words[1:]))
            return
        if not ANNOTATION_ID.match(ann_id):
            raise line.reject(Reason.UNKNOWN_ANNOTATION_LINE, f"unknown annotation line type {ann_id!r}")
        if ann_id in parsed.defined:
            raise line.reject(Reason.DUPLICATE_ANNOTATION_ID, f"{ann_id} already defined at {parsed.defined[ann_id].where}")
        parsed.defined[ann_id] = line
        kind = ann_id[0]
        if kind == "T":
            parsed.bound[ann_id] = self._text_bound(line, body, text)
        elif kind == "E":
            pairs = [word.split(":", 1) for word in words]
            if any(len(pair) != 2 or not all(pair) for pair in pairs):
                raise line.reject(Reason.MALFORMED_ANNOTATION_LINE, f"event needs Type:T Role:ID ..., got {body!r}")
            (label, trigger), arguments = pairs[0], pairs[1:]
            parsed.events[ann_id] = (line, label, trigger, [(role, ref) for role, ref in arguments])
        elif kind == "M":
            if len(words) != 2:
                raise line.reject(Reason.MALFORMED_ANNOTATION_LINE, f"modification needs Type ID, got {body!r}")
            parsed.modifications.append((line, words[0], words[1]))
        elif kind == "R":
            roles = [word.split(":", 1) for word in words[1:]]
            if len(roles) != 2 or any(len(pair) != 2 or not all(pair) for pair in roles):
                raise line.reject(Reason.MALFORMED_ANNOTATION_LINE, f"relation needs Type Role:ID Role:ID, got {body!r}")
            parsed.relations.append((line, words[0], [(role, ref) for role, ref in roles]))
        elif kind == "N":
            if len(words) != 3 or ":" not in words[2]:
                raise line.reject(Reason.MALFORMED_ANNOTATION_LINE, f"normalisation needs Type T DB:ID, got {body!r}")
            db, _, db_id = words[2].partition(":")
            parsed.norms.append((line, words[1], Normalization(db, db_id)))
        elif kind == "A":
            attribute = {"id": ann_id, "name": words[0], "target": words[1] if len(words) > 1 else ""}
            if len(words) > 2:
                attribute["value"] = " ".join(words[2:])
            parsed.attributes.append(attribute)
        else:  # "#": an annotator's note
            target = words[1] if len(words) > 1 else ""
            parsed.notes.append({"id": ann_id, "type": words[0], "target": target, "text": "\t".join(line.fields[2:])})

    @staticmethod
    def _text_bound(line: _Line, body: str, text: str) -> tuple[_Line, str, list[str], list[Span]]:
        if len(line.fields) < 3:
            raise line.reject(Reason.MALFORMED_ANNOTATION_LINE, "text-bound annotation without its text column")
        label, _, spans = body.partition(" ")
        offsets: list[Span] = []
        for fragment in spans.split(";"):
            match = SPAN.match(fragment.strip())
            if not match:
                raise line.reject(Reason.BAD_OFFSETS, f"fragment {fragment!r} is not 'start end'")
            start, end = int(match[1]), int(match[2])
            if not 0 <= start < end <= len(text):
                raise line.reject(Reason.MENTION_OFFSETS_OUT_OF_RANGE, f"[{start}, {end}) outside the text 0..{len(text)}")
            offsets.append((start, end))
        pieces = [text[start:end] for start, end in offsets]
        stated = "\t".join(line.fields[2:])
        if " ".join(pieces) != stated:
            detail = f"{stated!r} != document text {' '.join(pieces)!r}"
            raise line.reject(Reason.MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS, detail)
        return line, label, pieces, offsets


class _Builder:
    """Turns one document's parsed lines into the fields of its ``kb`` record, resolving every reference."""

    def __init__(self, record_id: str, parsed: _Parsed) -> None:
        self.record_id = record_id
        self.parsed = parsed
        triggers = {trigger for _, _, trigger, _ in parsed.events.values()}
        pointed = {ref for *_, args in parsed.events.values() for _, ref in args}
        pointed |= {ref for *_, args in parsed.relations for _, ref in args}
        pointed |= {ref for _, members in parsed.equivs for ref in members}
        pointed |= {target for _, _, target in parsed.modifications} | {target for _, target, _ in parsed.norms}
        self.entity_ids = {t: self.sub_id(t) for t in parsed.bound if t not in triggers or t in pointed}
        self.event_ids = {e: self.sub_id(e) for e in parsed.events}

    def sub_id(self, ann_id: str) -> str:
        return f"{self.record_id}.{ann_id}"

    def ref(self, line: _Line, ann_id: str, what: str, events: bool = True) -> str:
        """The record-wide id of the entity (or event) ``ann_id``; a reference to nothing rejects the document."""
        if ann_id in self.entity_ids:
            return self.entity_ids[ann_id]
        if events and ann_id in self.event_ids:
            return self.event_ids[ann_id]
        raise line.reject(Reason.ANNOTATION_REFERS_TO_A_MISSING_ANNOTATION, f"{what} {ann_id} does not exist in this document")

    def build(self, text: str) -> dict[str, Any]:
        """The record's fields: passages, entities, relations, events, coreferences, modifications, and extra ``meta``."""
        parsed = self.parsed
        entities = {
            t: Entity(self.entity_ids[t], label, pieces, offsets)
            for t, (_, label, pieces, offsets) in parsed.bound.items()
            if t in self.entity_ids
        }
        for line, target, norm in parsed.norms:
            if target not in entities:
                raise line.reject(Reason.ANNOTATION_REFERS_TO_A_MISSING_ANNOTATION, f"normalised entity {target} does not exist")
            entities[target].normalized.append(norm)
        events = [self._event(e, *spec) for e, spec in parsed.events.items()]
        cycles = nested_event_cycles(events)
        if cycles:
            line = parsed.events[cycles[0].removeprefix(self.record_id + ".")][0]
            raise line.reject(Reason.NESTED_EVENT_CYCLE, f"event {line.ann_id} reaches itself through its event arguments")
        meta: dict[str, Any] = {}
        relations = []
        for line, label, args in parsed.relations:
            (role1, ref1), (role2, ref2) = args
            arg1, arg2 = self.ref(line, ref1, "argument"), self.ref(line, ref2, "argument")
            relations.append(Relation(self.sub_id(line.ann_id), label, arg1, arg2))
            if (role1, role2) != ("Arg1", "Arg2"):
                meta.setdefault("relation_roles", {})[line.ann_id] = [role1, role2]
        coreferences = [
            Coreference(f"{self.record_id}.Equiv{n}", [self.ref(line, m, "Equiv member", events=False) for m in members])
            for n, (line, members) in enumerate(parsed.equivs, start=1)
        ]
        modifications = [
            Modification(self.sub_id(line.ann_id), label, self.ref(line, target, "modified annotation"))
            for line, label, target in parsed.modifications
        ]
        if parsed.attributes:
            meta["attributes"] = parsed.attributes
        if parsed.notes:
            meta["notes"] = parsed.notes
        return {
            "passages": [Passage(f"{self.record_id}.p0", "document", [text], [(0, len(text))])],
            "entities": list(entities.values()),
            "relations": relations,
            "events": events,
            "coreferences": coreferences,
            "modifications": modifications,
            "meta": meta,
        }

    def _event(self, ann_id: str, line: _Line, label: str, trigger: str, args: list[tuple[str, str]]) -> Event:
        if trigger not in self.parsed.bound:
            detail = f"trigger {trigger} of {ann_id} is not a T line of this document"
            raise line.reject(Reason.ANNOTATION_REFERS_TO_A_MISSING_ANNOTATION, detail)
        _, _, pieces, offsets = self.parsed.bound[trigger]
        arguments = [EventArgument(role, self.ref(line, ref, f"{role} argument")) for role, ref in args]
        return Event(self.event_ids[ann_id], label, Trigger(list(pieces), list(offsets)), arguments)
