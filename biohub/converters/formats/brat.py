"""BRAT standoff: a folder of ``NAME.txt`` (the document) + ``NAME.ann`` (its annotations) pairs.

Each pair becomes one ``kb`` record keyed by NAME (its path relative to the folder, without suffix), with
one ``document`` passage holding the whole ``.txt`` text. A ``.txt`` without its ``.ann`` or an ``.ann``
without its ``.txt`` is rejected, naming the file. Annotation lines (tab-separated):

* ``T1<TAB>Type s e[;s e...]<TAB>text``: a text-bound annotation (``;`` = discontinuous fragments, whose
  texts brat joins with one space). It becomes an entity, or the trigger of the events that use it.
  A fragment outside the text, or a text that differs from the ``.txt`` at the offsets, drops the
  annotation as a defect.
* ``R1<TAB>Type Arg1:T1 Arg2:T2``: a relation; ``E1<TAB>Type:T3 Role:T1 Role2:E2``: an event.
* ``N1<TAB>Reference T1 DB:ID[<TAB>text]``: a normalisation of T1 (``db_names`` renames databases, e.g.
  ``MeSH`` -> ``MESH``).
* ``*<TAB>Equiv T1 T2 ...``: a coreference chain.
* ``A1<TAB>Name T1 [value]`` / ``M1 ...``: attributes, kept in ``meta.attributes``
  (``{id, name, target, value}``); ``#1<TAB>AnnotatorNotes T1<TAB>note``: kept in ``meta.notes``.

Sub-ids keep brat's ids: ``<record id>.T1``, ``.R1``, ``.E1``; coreferences are ``<record id>.c<n>``.
A line that cannot be parsed rejects the document (file:line and reason); an annotation that points at a
missing or dropped annotation is dropped as a defect; an unknown line kind is skipped as a defect.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, read_text
from biohub.converters.registry import register
from biohub.schema import Coreference, Entity, Event, EventArgument, KBRecord, Normalization, Passage, Relation, Span, Trigger

SPAN = re.compile(r"^(\d+) (\d+)$")


@dataclass(slots=True)
class BratOptions:
    """``db_names``: renames of normalisation databases (``{MeSH: MESH}``); ``encoding``: of the files."""

    db_names: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"


class _Reject(Exception):
    def __init__(self, line: int, reason: str, detail: str):
        super().__init__(detail)
        self.line, self.reason, self.detail = line, reason, detail


@dataclass(slots=True)
class _TextBound:
    line: int
    type: str
    text: list[str]
    offsets: list[Span]


@register
class BratReader(Reader):
    name = "brat"
    schema = "kb"
    description = "BRAT standoff folders (NAME.txt + NAME.ann: T, R, E, N, *, A/M, # lines)"
    Options = BratOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        for key, text_path, ann_path in self._pairs(paths):
            if text_path is None or ann_path is None:
                present, partner = (ann_path, ".txt") if text_path is None else (text_path, ".ann")
                assert present is not None
                yield ctx.reject(
                    present, key, "missing partner file", f"{present.name} has no {partner} file beside it", document_id=key
                )
                continue
            try:
                yield from self._convert(key, text_path, ann_path, ctx)
            except _Reject as problem:
                yield ctx.reject(ann_path, problem.line, problem.reason, problem.detail, document_id=key)

    @staticmethod
    def _pairs(paths: list[Path]) -> Iterator[tuple[str, Path | None, Path | None]]:
        """(key, .txt, .ann) for every document; a folder gives all its pairs, a file its own pair."""
        found: dict[str, dict[str, Path]] = {}
        for path in paths:
            if not path.exists():
                raise ConvertError(path, "file not found")
            if path.is_dir():
                files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".txt", ".ann"))
                if not files:
                    raise ConvertError(path, "folder holds no .txt/.ann files")
                for file in files:
                    found.setdefault(file.relative_to(path).with_suffix("").as_posix(), {})[file.suffix] = file
            elif path.suffix in (".txt", ".ann"):
                pair = found.setdefault(path.stem, {})
                for suffix in (".txt", ".ann"):
                    if path.with_suffix(suffix).exists():
                        pair[suffix] = path.with_suffix(suffix)
            else:
                raise ConvertError(path, "expected a folder of .txt/.ann pairs or a .txt/.ann file")
        for key in sorted(found):
            yield key, found[key].get(".txt"), found[key].get(".ann")

    # ----------------------------------------------------------------------------------------- conversion
    def _convert(self, key: str, text_path: Path, ann_path: Path, ctx: ReadContext) -> Iterator[Item]:
        text = read_text(text_path, self.options.encoding)
        lines = read_text(ann_path, self.options.encoding).splitlines()
        record_id = ctx.record_id(key, key)
        defects: list[Item] = []

        def defect(line: int, reason: str, detail: str) -> None:
            defects.append(ctx.defect(ann_path, line, reason, f"{ann_path.name}:{line}: {detail}", key))

        bound: dict[str, _TextBound] = {}
        relations: list[tuple[int, str, str, str, str]] = []  # (line, id, type, arg1, arg2)
        events: list[tuple[int, str, str, str, list[tuple[str, str]]]] = []  # (line, id, type, trigger, args)
        norms: list[tuple[int, str, Normalization]] = []
        equivs: list[tuple[int, list[str]]] = []
        attributes: list[dict[str, str]] = []
        notes: list[dict[str, str]] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            fields = line.split("\t")
            ann_id, body = fields[0], fields[1] if len(fields) > 1 else ""
            kind = ann_id[:1]
            words = body.split()
            if len(fields) < 2 or not words:
                raise _Reject(number, "malformed annotation line", f"line {number}: {line!r}")
            if kind == "T":
                if len(fields) < 3:
                    raise _Reject(
                        number, "malformed annotation line", f"line {number}: text-bound annotation without its text column"
                    )
                item = self._text_bound(number, body, "\t".join(fields[2:]), text)
                if isinstance(item, tuple):
                    defect(number, *item)
                else:
                    bound[ann_id] = item
            elif kind == "R":
                args = dict(word.split(":", 1) for word in words[1:] if ":" in word)
                if len(words) != 3 or len(args) != 2:
                    raise _Reject(
                        number, "malformed annotation line", f"line {number}: relation needs Type Arg1:X Arg2:Y, got {body!r}"
                    )
                first, second = args.values()
                relations.append((number, ann_id, words[0], first, second))
            elif kind == "E":
                pairs = [word.split(":", 1) for word in words]
                if any(len(pair) != 2 for pair in pairs):
                    raise _Reject(
                        number, "malformed annotation line", f"line {number}: event needs Type:T Role:X ..., got {body!r}"
                    )
                (label, trigger), arguments = pairs[0], pairs[1:]
                events.append((number, ann_id, label, trigger, [(role, ref) for role, ref in arguments]))
            elif kind == "N":
                if len(words) != 3 or ":" not in words[2]:
                    raise _Reject(
                        number, "malformed annotation line", f"line {number}: normalisation needs Type T DB:ID, got {body!r}"
                    )
                db, _, db_id = words[2].partition(":")
                norms.append((number, words[1], Normalization(self.options.db_names.get(db, db), db_id)))
            elif kind == "*":
                equivs.append((number, words[1:]))
            elif kind in ("A", "M"):
                attribute = {"id": ann_id, "name": words[0], "target": words[1] if len(words) > 1 else ""}
                if len(words) > 2:
                    attribute["value"] = " ".join(words[2:])
                attributes.append(attribute)
            elif kind == "#":
                notes.append(
                    {"id": ann_id, "type": words[0], "target": words[1] if len(words) > 1 else "", "text": "\t".join(fields[2:])}
                )
            else:
                defect(number, "unknown annotation line", f"line {number}: {line!r}")

        triggers = {trigger for *_, trigger, _ in events}
        entity_ids = {t: f"{record_id}.{t}" for t in bound if t not in triggers}
        event_ids = {e: f"{record_id}.{e}" for _, e, _, trigger, _ in events if trigger in bound}
        entities = {t: Entity(entity_ids[t], bound[t].type, bound[t].text, bound[t].offsets) for t in entity_ids}
        for number, target, norm in norms:
            if target in entities:
                entities[target].normalized.append(norm)
            else:
                defect(number, "annotation refers to a missing annotation", f"line {number}: normalisation of {target}")
        kb_relations = []
        for number, rel_id, label, first, second in relations:
            if first in entity_ids and second in entity_ids:
                kb_relations.append(Relation(f"{record_id}.{rel_id}", label, entity_ids[first], entity_ids[second]))
            else:
                defect(number, "annotation refers to a missing annotation", f"line {number}: relation {rel_id} {first} {second}")
        kb_events = []
        for number, ev_id, label, trigger, arguments in events:
            if ev_id not in event_ids:
                defect(number, "annotation refers to a missing annotation", f"line {number}: event {ev_id} trigger {trigger}")
                continue
            refs = {**entity_ids, **event_ids}
            kept = [EventArgument(role, refs[ref]) for role, ref in arguments if ref in refs]
            if len(kept) != len(arguments):
                defect(number, "annotation refers to a missing annotation", f"line {number}: event {ev_id} argument dropped")
            t = bound[trigger]
            kb_events.append(Event(f"{record_id}.{ev_id}", label, Trigger(t.text, t.offsets), kept))
        coreferences = []
        for number, members in equivs:
            if all(member in entity_ids for member in members):
                coreferences.append(Coreference(f"{record_id}.c{len(coreferences)}", [entity_ids[m] for m in members]))
            else:
                defect(number, "annotation refers to a missing annotation", f"line {number}: Equiv {' '.join(members)}")

        meta: dict = {"source": {"path": ann_path.name, "record": key}}
        if attributes:
            meta["attributes"] = attributes
        if notes:
            meta["notes"] = notes
        yield from defects
        yield KBRecord(
            **ctx.common(key, key, meta=meta),
            passages=[Passage(f"{record_id}.p0", "document", [text], [(0, len(text))])],
            entities=list(entities.values()),
            relations=kb_relations,
            events=kb_events,
            coreferences=coreferences,
        )

    @staticmethod
    def _text_bound(number: int, body: str, stated: str, text: str) -> _TextBound | tuple[str, str]:
        label, _, spans = body.partition(" ")
        offsets: list[Span] = []
        for fragment in spans.split(";"):
            match = SPAN.match(fragment.strip())
            if not match:
                raise _Reject(number, "bad offsets", f"line {number}: fragment {fragment!r} is not 'start end'")
            offsets.append((int(match[1]), int(match[2])))
        for start, end in offsets:
            if not 0 <= start < end <= len(text):
                return "mention offsets out of range", f"line {number}: [{start}, {end}) outside 0..{len(text)}"
        pieces = [text[start:end] for start, end in offsets]
        if " ".join(pieces) != stated:
            return "mention text disagrees with its offsets", f"line {number}: {stated!r} != document text {' '.join(pieces)!r}"
        return _TextBound(number, label, pieces, offsets)
