"""BioASQ Task B golden files: ``{"questions": [{id, type, body, documents, snippets, exact_answer, ideal_answer, ...}]}``.

One ``qa`` record per question, keyed by the BioASQ question id (also the document id), of the question's
type:

* ``yesno``: choices ``["yes", "no"]``, answer ``[exact_answer]``. An exact answer that is ``yes``/``no``
  only up to case or surrounding whitespace is normalised and counted as a defect; anything else is rejected.
* ``factoid`` / ``list``: the exact answer is a list of answer groups, each a list of synonyms (a bare string
  counts as a one-synonym group). The answer is every synonym, flattened in order, each stripped of
  surrounding whitespace (a defect when that changed it) and without repeats (a repeated synonym is
  dropped and counted as a defect); the groups (stripped) stay in ``meta.exact_answer``, which strict/lenient
  accuracy, MRR and list F1 need. A group that is neither a string nor a list, a synonym that is not a string
  and a blank synonym are dropped and listed as defects, never skipped silently (so is a blank ideal answer).
* ``summary``: the answer is the ``ideal_answer`` list.

For every type the context is the snippet texts (stripped) joined by ``snippet_separator`` (one newline),
in the file's order; the snippets themselves (with document, section and offsets), the documents, the
ideal answers, concepts and triples are kept in ``meta``. ``meta.batch`` names the golden file.

A question whose ``body`` is not a string, ``snippets`` not a list or ``ideal_answer`` neither a string nor a
list is rejected (``bad field type``), naming the question. A question id seen earlier in the same read (e.g.
in another batch file of the split) is rejected as a ``duplicate question id`` naming both places, never
dropped silently.

The raw source text of a record (``ReadContext.keep_raw``) is its question object, ``json.dumps(question,
ensure_ascii=False)`` (keys in file order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, load_json
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import QARecord

TYPES = ("yesno", "factoid", "list", "summary")
# fields whose JSON type is checked (when present): a question of another type is rejected as ``bad field type``
_TYPED_FIELDS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("body", str),
    ("snippets", list),
    ("ideal_answer", (str, list)),
)
YESNO = ["yes", "no"]


@dataclass(slots=True)
class BioASQOptions:
    """``snippet_separator``: string between snippet texts in the context."""

    snippet_separator: str = "\n"


@register
class BioASQReader(Reader):
    """Reads BioASQ Task B golden files into ``qa`` records over the questions' snippets, one per question."""

    name = "bioasq"
    schema = "qa"
    description = "BioASQ Task B golden JSON ({questions: [...]}): yesno / factoid / list / summary QA over snippets"
    Options = BioASQOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``qa`` record or rejection per question (plus its answer defects) of every golden file, in file order."""
        for path in expand_paths(paths, ".json"):
            data = load_json(path)
            if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
                raise ConvertError(path, 'expected a JSON object with a "questions" list')
            for index, question in enumerate(data["questions"]):
                convert = partial(self._convert, path, index, question, ctx)
                yield from self.rejecting(ctx, path, f"questions[{index}]", convert)

    def _convert(self, path: Path, index: int, q: Any, ctx: ReadContext) -> Iterator[Item]:
        if not isinstance(q, dict):
            raise RecordRejected(
                "not a JSON object", f"questions[{index}] is a {type(q).__name__}", locator=f"questions[{index}]"
            )
        qid = str(q.get("id") or f"questions[{index}]")
        missing = [k for k in ("id", "type", "body") if not q.get(k)]
        if missing:
            raise RecordRejected("missing field", f"question {qid}: no {', '.join(missing)}", locator=qid, document_id=qid)
        if (first := ctx.read_before(qid)) is not None:
            raise RecordRejected(
                "duplicate question id", f"question {qid} already read from {first}", locator=qid, document_id=qid
            )
        ctx.note_read(qid, path.name)
        kind = q["type"]
        if kind not in TYPES:
            raise RecordRejected(
                "unknown question type", f"question {qid}: type {kind!r} not in {TYPES}", locator=qid, document_id=qid
            )
        wrong = [(name, q[name]) for name, kinds in _TYPED_FIELDS if q.get(name) is not None and not isinstance(q[name], kinds)]
        if wrong:
            detail = "; ".join(f"{name} is a {type(value).__name__}" for name, value in wrong)
            raise RecordRejected("bad field type", f"question {qid}: {detail}", locator=qid, document_id=qid)
        snippets = q.get("snippets") or []
        if not all(isinstance(s, dict) and isinstance(s.get("text"), str) for s in snippets):
            raise RecordRejected("bad snippet", f"question {qid}: every snippet needs a text", locator=qid, document_id=qid)
        defects: list[Item] = []  # the question's dropped or repaired answers, in the order met
        ideal = []
        for value in [q["ideal_answer"]] if isinstance(q.get("ideal_answer"), str) else q.get("ideal_answer") or []:
            if isinstance(value, str) and value.strip():
                ideal.append(value.strip())
            else:
                detail = f"question {qid}: ideal answer {value!r} is not a non-blank string"
                reason = Reason.EMPTY_IDEAL_ANSWER_DROPPED
                defects.append(ctx.defect(path, qid, reason, detail, document_id=qid, annotation="ideal_answers"))
        meta: dict[str, Any] = {
            "batch": path.stem.removesuffix("_golden"),
            "documents": q.get("documents") or [],
            "ideal_answer": ideal,
            "snippets": snippets,
            "concepts": q.get("concepts") or [],
            "triples": q.get("triples") or [],
            "source": {"path": path.name, "record": qid},
        }
        choices: list[str] = []
        if kind == "yesno":
            choices = list(YESNO)
            answer = self._yesno(path, qid, q.get("exact_answer"), ctx, defects)
        elif kind in ("factoid", "list"):
            groups = self._groups(path, qid, q.get("exact_answer"), ctx, defects)
            meta["exact_answer"] = groups
            answer = self._flatten(path, qid, groups, ctx, defects)
        else:
            answer = ideal
        yield from defects  # counted even when the question is rejected below
        if not answer:
            if kind == "yesno" and q.get("exact_answer") is not None:
                detail = f"question {qid}: exact_answer {q['exact_answer']!r} is not yes or no"
                raise RecordRejected("answer not among choices", detail, locator=qid, document_id=qid)
            raise RecordRejected("missing answer", f"question {qid} ({kind}): no usable answer", locator=qid, document_id=qid)
        record = QARecord(
            **ctx.common(qid, meta=meta),
            question=q["body"].strip(),
            type=kind,
            choices=choices,
            context=self.options.snippet_separator.join(s["text"].strip() for s in snippets),
            answer=answer,
        )
        ctx.keep_raw(record.id, lambda: json.dumps(q, ensure_ascii=False))
        yield record

    def _yesno(self, path: Path, qid: str, value: Any, ctx: ReadContext, defects: list[Item]) -> list[str]:
        """The yes/no answer (``[]`` when the exact answer is not yes or no); a normalised one adds a defect."""
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str):
            return []
        clean = value.strip().lower()
        if clean not in YESNO:
            return []
        if clean != value:
            detail = f"question {qid}: {value!r} -> {clean!r}"
            reason = Reason.YES_NO_ANSWER_NORMALISED
            defects.append(ctx.defect(path, qid, reason, detail, document_id=qid, dropped=False, annotation="answers"))
        return [clean]

    def _groups(self, path: Path, qid: str, value: Any, ctx: ReadContext, defects: list[Item]) -> list[list[str]]:
        """The answer groups of an exact answer (not a list: none, and the question is rejected for want of an
        answer); every value in it that is not a non-blank string is a listed drop (added to ``defects``)."""

        def drop(reason: Reason, detail: str, dropped: bool = True) -> None:
            defects.append(ctx.defect(path, qid, reason, detail, document_id=qid, dropped=dropped, annotation="answers"))

        groups: list[list[str]] = []
        for group in value if isinstance(value, list) else []:
            if not isinstance(group, (str, list)):
                drop(Reason.ANSWER_NOT_A_STRING_DROPPED, f"question {qid}: answer group {group!r} is neither a string nor a list")
                continue
            synonyms = [group] if isinstance(group, str) else group
            clean = []
            for synonym in synonyms:
                if not isinstance(synonym, str):
                    drop(Reason.ANSWER_NOT_A_STRING_DROPPED, f"question {qid}: synonym {synonym!r} is a {type(synonym).__name__}")
                    continue
                if not synonym.strip():
                    drop(Reason.EMPTY_ANSWER_DROPPED, f"question {qid}: {synonym!r}")
                    continue
                if synonym != synonym.strip():
                    drop(Reason.ANSWER_WHITESPACE_TRIMMED, f"question {qid}: {synonym!r}", dropped=False)
                clean.append(synonym.strip())
            if clean:
                groups.append(clean)
        return groups

    def _flatten(self, path: Path, qid: str, groups: list[list[str]], ctx: ReadContext, defects: list[Item]) -> list[str]:
        """Every synonym of the groups once, in order; a repeated one is dropped (added to ``defects``)."""
        answer: list[str] = []
        for synonym in (s for group in groups for s in group):
            if synonym in answer:
                detail = f"question {qid}: {synonym!r} repeated"
                reason = Reason.DUPLICATE_SYNONYM_DROPPED
                defects.append(ctx.defect(path, qid, reason, detail, document_id=qid, annotation="answers"))
                continue
            answer.append(synonym)
        return answer
