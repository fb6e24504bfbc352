"""Marked-argument relation sentences (SciBERT's ChemProt / DDI text-classification files).

JSON Lines, one candidate pair per line: ``{"text": "... << arg A >> ... [[ arg B ]] ...", "label": "INHIBITOR",
"metadata": [...]}``. Each line becomes a ``kb`` record: the markers are removed to give the clean sentence
(one passage), each marked stretch becomes an entity typed by its marker, and one relation of the label's type
links the first marker's entity (arg1) to the second's (arg2).

A marker string includes the blank that the marking step put inside it (``"<< "`` / ``" >>"``), and nothing
outside it is touched, so ``"(<< X >>)"`` gives ``"(X)"`` and ``"[[[ X ]]]"`` gives ``"[X]"``. Each opener
must occur exactly once; its closer is the first occurrence after it. Nested markings work; crossing ones
are rejected. Some marking tools duplicate text when the two arguments overlap in the source
(``"<< tyrosine kinase >>[[ tyrosine ]] kinase"`` for "tyrosine kinase" with "tyrosine" inside it): with
``repair_overlaps`` an argument closed immediately before the other opens, whose text ends with what
follows the second opener, is read as overlapping (the longest such overlap is removed once) and a defect
is counted; without it such text is kept as written.

The raw source text of a record (``ReadContext.keep_raw``) is its object, ``json.dumps(obj, ensure_ascii=False)``
(keys in file order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader
from biohub.converters.json_items import convert_lines
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, Passage, Relation


def _scibert_markers() -> list[dict[str, str]]:
    return [{"open": "<< ", "close": " >>", "type": "A"}, {"open": "[[ ", "close": " ]]", "type": "B"}]


@dataclass(slots=True)
class MarkedReOptions:
    """``markers``: exactly two ``{open, close, type}`` mappings, in argument order (the first is arg1);
    ``type`` is the entity type the marker denotes. ``text_field`` / ``label_field``: JSON keys of the
    sentence and of the relation label; ``repair_overlaps``: see the module doc; ``passage_type``: type of
    the sentence passage."""

    markers: list[dict[str, str]] = field(default_factory=_scibert_markers)
    text_field: str = "text"
    label_field: str = "label"
    repair_overlaps: bool = False
    passage_type: str = "sentence"

    def __post_init__(self) -> None:
        if len(self.markers) != 2:
            raise ValueError(f"markers: expected two marker pairs, got {len(self.markers)}")
        for marker in self.markers:
            if set(marker) != {"open", "close", "type"} or not all(isinstance(v, str) and v for v in marker.values()):
                raise ValueError(f"markers: each needs non-empty open, close and type strings, got {marker!r}")


@dataclass(slots=True)
class _Mark:
    open_at: int
    close_at: int
    open_len: int
    close_len: int

    @property
    def inner(self) -> tuple[int, int]:
        return self.open_at + self.open_len, self.close_at

    @property
    def end(self) -> int:
        return self.close_at + self.close_len


@register
class MarkedReReader(Reader):
    """Reads marker-annotated relation sentences into ``kb`` records: clean text, two argument entities, one relation."""

    name = "marked-re"
    schema = "kb"
    description = "JSON Lines sentences with two marked arguments (<< >> / [[ ]]) and a relation label (SciBERT ChemProt)"
    Options = MarkedReOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus any overlap-repair defect) or rejection per JSON line of every ``*.txt`` file."""
        yield from convert_lines(paths, ctx, ".txt", partial(self._record, ctx=ctx))

    def _record(self, path: Path, line: int, key: str, obj: Any, ctx: ReadContext) -> Iterator[Item]:
        """The record of one JSON line (and its repair defect); raises :class:`RecordRejected` for a bad line."""
        opts = self.options
        if not isinstance(obj, dict):
            raise RecordRejected("not a JSON object", type(obj).__name__)
        marked, label = obj.get(opts.text_field), obj.get(opts.label_field)
        if not isinstance(marked, str) or not marked.strip():
            raise RecordRejected("missing field", f"no text in {opts.text_field!r}")
        if not isinstance(label, str) or not label.strip():
            raise RecordRejected("missing field", f"no label in {opts.label_field!r}")
        text, spans, repaired = self._unmark(marked)
        record_id = ctx.record_id(key)
        entities = []
        for n, ((start, end), marker) in enumerate(zip(spans, opts.markers)):
            if start >= end or text[start:end] != text[start:end].strip():
                raise RecordRejected("bad argument span", f"argument {marker['open'].strip()} is {text[start:end]!r}")
            entities.append(Entity(f"{record_id}.e{n}", marker["type"], [text[start:end]], [(start, end)]))
        if repaired:
            detail = f"line {line}: {repaired}"
            reason = "overlapping arguments (duplicated text repaired)"
            yield ctx.defect(path, line, reason, detail, document_id=key, dropped=False, annotation="entities")
        meta: dict[str, Any] = {"source": {"path": path.name, "line": line}}
        extras = {k: v for k, v in obj.items() if k not in (opts.text_field, opts.label_field) and v not in ([], {}, None, "")}
        if extras:
            meta["extra"] = extras
        record = KBRecord(
            **ctx.common(key, meta=meta),
            passages=[Passage(f"{record_id}.p0", opts.passage_type, [text], [(0, len(text))])],
            entities=entities,
            relations=[Relation(f"{record_id}.r0", label.strip(), entities[0].id, entities[1].id)],
        )
        ctx.keep_raw(record.id, lambda: json.dumps(obj, ensure_ascii=False))
        yield record

    # ----------------------------------------------------------------------------------- markers
    def _find(self, marked: str, marker: dict[str, str]) -> _Mark:
        opener, closer = marker["open"], marker["close"]
        count = marked.count(opener)
        if count != 1:
            reason = "marker missing" if count == 0 else "ambiguous markers"
            raise RecordRejected(reason, f"{opener!r} occurs {count} times")
        at = marked.index(opener)
        close_at = marked.find(closer, at + len(opener))
        if close_at < 0:
            raise RecordRejected("unclosed marker", f"{opener!r} at {at} has no {closer!r} after it")
        return _Mark(at, close_at, len(opener), len(closer))

    def _unmark(self, marked: str) -> tuple[str, list[tuple[int, int]], str]:
        """Clean text, the two argument spans in it, and a description of any overlap repair."""
        marks = [self._find(marked, marker) for marker in self.options.markers]
        markers = [(pos, length) for m in marks for pos, length in ((m.open_at, m.open_len), (m.close_at, m.close_len))]
        strings = sorted((pos, pos + length) for pos, length in markers)
        if any(a[1] > b[0] for a, b in pairwise(strings)):
            raise RecordRejected("crossing markers", "two marker strings share characters")
        first, second = sorted(marks, key=lambda m: m.open_at)
        if second.open_at < first.close_at < second.close_at:
            raise RecordRejected("crossing markers", "the two marked stretches cross each other")
        if self.options.repair_overlaps and first.end == second.open_at:
            repaired = self._overlap(marked, first, second, marks)
            if repaired is not None:
                return repaired
        deletions = sorted(markers)
        pieces, previous = [], 0
        for pos, length in deletions:
            pieces.append(marked[previous:pos])
            previous = pos + length
        pieces.append(marked[previous:])

        def clean(position: int) -> int:
            return position - sum(length for pos, length in deletions if pos + length <= position)

        spans = [(clean(m.inner[0]), clean(m.inner[1])) for m in marks]
        return "".join(pieces), spans, ""

    def _overlap(
        self, marked: str, first: _Mark, second: _Mark, marks: list[_Mark]
    ) -> tuple[str, list[tuple[int, int]], str] | None:
        x = marked[first.inner[0] : first.inner[1]]
        rest = marked[second.inner[0] :]
        rest = rest[: second.close_at - second.inner[0]] + rest[second.close_at - second.inner[0] + second.close_len :]
        overlap = next((k for k in range(len(x), 0, -1) if rest.startswith(x[-k:])), 0)
        if not overlap:
            return None
        prefix = marked[: first.open_at]
        text = prefix + x + rest[overlap:]
        y_len = second.close_at - second.inner[0]
        where = {id(first): (len(prefix), len(prefix) + len(x))}
        y_start = len(prefix) + len(x) - overlap
        where[id(second)] = (y_start, y_start + y_len)
        detail = f"{x!r} and {marked[second.inner[0]:second.close_at]!r} share {x[-overlap:]!r}"
        return text, [where[id(m)] for m in marks], detail
