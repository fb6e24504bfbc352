"""SQuAD v1-style JSON: ``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers"?}]}]}]}``.

One ``qa`` record of type ``factoid`` per question-context pair, keyed by the qa ``id``. When a qa has an
``answers`` list, the answer is its distinct texts (in order) and the record is labelled; an answer whose
``answer_start`` does not point at its text in the context is kept but counted as a defect (only matching
starts go to ``meta.answer_starts``), while a negative ``answer_start`` (which Python slicing would read
from the end of the context) rejects the record (``bad answer start``). A question that is not a string is
rejected (``bad field type``). Without ``answers`` (e.g. the BioBERT BioASQ test files, whose
answers live in the golden files) the record is kept with ``labeled=False``.

The document id groups the pairs of one question: it is the qa id with ``group_suffix`` (a regular
expression, default ``_<digits>`` at the end, BioBERT's ``<question id>_<snippet number>``) removed.
A qa id seen earlier in the same read is rejected as ``duplicate qa id`` rather than renamed.

The raw source text of a record (``ReadContext.keep_raw``) is its paragraph reduced to that one qa:
``json.dumps(paragraph, ensure_ascii=False)`` of the paragraph's object (its ``context`` and any other field, keys
in file order) with ``qas`` holding only the record's qa object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, load_json
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.schema import QARecord


@dataclass(slots=True)
class SquadOptions:
    """``group_suffix``: regular expression removed from the end of a qa id to give its document id
    (the question the pair belongs to); ``""`` uses the qa id itself."""

    group_suffix: str = r"_\d+$"


@register
class SquadReader(Reader):
    """Reads SQuAD v1-style JSON into ``factoid`` ``qa`` records, one per question and its paragraph context."""

    name = "squad"
    schema = "qa"
    description = "SQuAD v1-style JSON (data/paragraphs/qas): one factoid record per question-context pair"
    Options = SquadOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``qa`` record (plus its answer-start defects) or rejection per question of every file, in file order."""
        suffix = re.compile(self.options.group_suffix) if self.options.group_suffix else None
        for path in expand_paths(paths, ".json"):
            data = load_json(path)
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise ConvertError(path, 'expected a JSON object with a "data" list (SQuAD format)')
            for a, article in enumerate(data["data"]):
                paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
                if not isinstance(paragraphs, list):
                    raise ConvertError(path, f'data[{a}] has no "paragraphs" list')
                for p, paragraph in enumerate(paragraphs):
                    where = f"data[{a}].paragraphs[{p}]"
                    if not isinstance(paragraph, dict) or not isinstance(paragraph.get("qas"), list):
                        raise ConvertError(path, f'{where} has no "qas" list')
                    context = paragraph.get("context")
                    for n, qa in enumerate(paragraph["qas"]):
                        raw = partial(_paragraph_of, paragraph, qa)  # bound to this qa now
                        convert = partial(self._convert, path, f"{where}.qas[{n}]", context, qa, ctx, suffix, raw)
                        yield from self.rejecting(ctx, path, f"{where}.qas[{n}]", convert)

    def _convert(
        self,
        path: Path,
        where: str,
        context: Any,
        qa: Any,
        ctx: ReadContext,
        suffix: re.Pattern[str] | None,
        raw: Callable[[], str],
    ) -> Iterator[Item]:
        if not isinstance(qa, dict):
            raise RecordRejected("not a JSON object", f"{where} is a {type(qa).__name__}", locator=where)
        qid = str(qa.get("id") or where)
        document_id = suffix.sub("", qid) if suffix else qid
        missing = [k for k in ("id", "question") if not qa.get(k)] + (
            [] if isinstance(context, str) and context.strip() else ["context"]
        )
        if missing:
            raise RecordRejected("missing field", f"{where}: no {', '.join(missing)}", locator=qid, document_id=document_id)
        if not isinstance(qa["question"], str):
            detail = f"{where}: question is a {type(qa['question']).__name__}, expected a string"
            raise RecordRejected("bad field type", detail, locator=qid, document_id=document_id)
        if (first := ctx.read_before(qid)) is not None:
            raise RecordRejected(
                "duplicate qa id", f"{where}: id {qid} already read at {first}", locator=qid, document_id=document_id
            )
        ctx.note_read(qid, f"{path.name} {where}")
        meta: dict[str, Any] = {"source": {"path": path.name, "record": qid}}
        answers: list[str] = []
        labeled = "answers" in qa
        if labeled:
            if not isinstance(qa["answers"], list) or not qa["answers"]:
                raise RecordRejected("missing answer", f"{where}: empty answers", locator=qid, document_id=document_id)
            starts = []
            for answer in qa["answers"]:
                text = answer.get("text") if isinstance(answer, dict) else None
                if not isinstance(text, str) or not text.strip():
                    raise RecordRejected(
                        "missing answer", f"{where}: answer without text {answer!r}", locator=qid, document_id=document_id
                    )
                start = answer.get("answer_start")
                if isinstance(start, int) and start < 0:
                    detail = f"{where}: answer {text!r} has a negative answer_start {start}"
                    raise RecordRejected("bad answer start", detail, locator=qid, document_id=document_id)
                if isinstance(start, int) and context[start : start + len(text)] == text:
                    starts.append([text, start])
                else:
                    detail = f"{where}: {text!r} not at answer_start {start!r}"
                    # the answer is kept (without a start); only the wrong offset is left out
                    reason = "answer start does not match context"
                    yield ctx.defect(path, qid, reason, detail, document_id=document_id, dropped=False, annotation="answers")
                if text not in answers:
                    answers.append(text)
            meta["answer_starts"] = starts
        record = QARecord(
            **ctx.common(qid, document_id, labeled=labeled, meta=meta),
            question=qa["question"].strip(),
            type="factoid",
            context=context,
            answer=answers,
        )
        ctx.keep_raw(record.id, raw)
        yield record


def _paragraph_of(paragraph: dict[str, Any], qa: Any) -> str:
    """The raw source text of one qa: its paragraph (keys in file order) with ``qas`` reduced to that qa."""
    return json.dumps({key: [qa] if key == "qas" else value for key, value in paragraph.items()}, ensure_ascii=False)
