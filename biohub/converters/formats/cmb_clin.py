"""CMB-Clin: a JSON array of clinical cases ``{id, title, description, QA_pairs: [{question, answer}]}``.

Each QA pair becomes one ``qa`` record of type ``open``, keyed ``<case id>-<n>`` (n counts the case's pairs
from 1) with the case id as document id. The context is the case description; the answer is
``[answer]``; ``meta`` keeps the case ``title``, the ``turn`` n and the ``history`` (the case's earlier QA
pairs, in order), which the CMB-Clin protocol feeds to the model before each question.

A case that is not an object, lacks ``id``/``description``/``QA_pairs`` or repeats an earlier case id is
rejected once (locator: its id or array index); a QA pair with an empty question or answer is rejected on
its own (its later pairs keep their numbers).

The raw source text of a record (``ReadContext.keep_raw``) is its whole case object (every QA-pair record of a
case gets the same text), ``json.dumps(case, ensure_ascii=False)`` (keys in file order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeGuard

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, load_json
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.schema import QARecord


@register
class CmbClinReader(Reader):
    """Reads CMB-Clin clinical cases into open ``qa`` records, one per QA pair, with the case's earlier pairs as history."""

    name = "cmb-clin"
    schema = "qa"
    description = "CMB-Clin JSON array of clinical cases (description + QA_pairs): one open QA record per pair"

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """The ``qa`` records and rejections of every case of every file, cases and pairs in file order."""
        for path in expand_paths(paths, ".json"):
            data = load_json(path)
            if not isinstance(data, list):
                raise ConvertError(path, f"expected a JSON array of cases, found a {type(data).__name__}")
            for index, case in enumerate(data):
                yield from self.rejecting(ctx, path, f"[{index}]", partial(self._case, path, index, case, ctx))

    def _case(self, path: Path, index: int, case: Any, ctx: ReadContext) -> Iterator[Item]:
        if not isinstance(case, dict):
            raise RecordRejected("not a JSON object", f"case [{index}] is a {type(case).__name__}", locator=f"[{index}]")
        case_id = str(case["id"]) if case.get("id") not in (None, "") else None
        locator = case_id or f"[{index}]"
        missing = [
            k
            for k, ok in (
                ("id", case_id),
                ("description", _text(case.get("description"))),
                ("QA_pairs", isinstance(case.get("QA_pairs"), list)),
            )
            if not ok
        ]
        if missing:
            raise RecordRejected(
                "missing field", f"case {locator}: no {', '.join(missing)}", locator=locator, document_id=case_id
            )
        assert case_id is not None
        if ctx.read_before(case_id) is not None:
            raise RecordRejected("duplicate case id", f"case {case_id} appears twice", locator=locator, document_id=case_id)
        ctx.note_read(case_id)
        title = case.get("title", "")
        history: list[dict[str, str]] = []
        for n, pair in enumerate(case["QA_pairs"], start=1):
            key = f"{case_id}-{n}"
            question = pair.get("question") if isinstance(pair, dict) else None
            answer = pair.get("answer") if isinstance(pair, dict) else None
            if not _text(question) or not _text(answer):
                detail = f"case {case_id} QA pair {n}: question {question!r}, answer {answer!r}"
                yield ctx.reject(path, key, "empty question or answer", detail, document_id=case_id)
                continue
            meta = {"title": title, "turn": n, "history": list(history), "source": {"path": path.name, "record": key}}
            record = QARecord(
                **ctx.common(key, case_id, meta=meta),
                question=question.strip(),
                type="open",
                context=case["description"],
                answer=[answer.strip()],
            )
            ctx.keep_raw(record.id, lambda: json.dumps(case, ensure_ascii=False))
            yield record
            history.append({"question": question, "answer": answer})


def _text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())
