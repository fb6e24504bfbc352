"""Multiple-choice QA in JSON Lines (or a JSON array), e.g. Apollo's exam files:
``{"question": ..., "option": "(A) ...\\n(B) ...", "anwer": "(B)" [sic], "source": ...}``.

One ``qa`` record of type ``multiple_choice`` per line, keyed ``<file stem>-<line>``. ``fields`` names the
question, options and answer fields (Apollo's misspelt ``anwer`` is the default); every other field of the
object goes to ``meta.fields`` (Apollo's ``source`` among them, since ``meta.source`` is the location).

Options are a string of ``(X) text`` items, each marker at the start of a line (so a ``(`` or a newline
inside an option text does not split it), or a ``{letter: text}`` object. The letters must run A, B, C, ...
The choices are the option texts without their markers, stripped; with ``strip_added_period`` (the
default) one trailing ``.`` is removed from every option when *all* options of the question end with one:
Apollo appends a period to each option (``4.6.``, ``5分钟左右.``, ``pouch..``), so removing it restores the
exam's own wording. An option ending in a line holding only ``"`` (an Apollo export artefact,
``Atorvastatin\\n".``) is repaired, and empty options at the end (``(E) .``: Apollo pads 4-option CMB
questions to five) are dropped; both are counted as defects.

The answer field is ``(B)``/``B`` or, for multiple-answer questions (CMExam), ``(ACE)``; the answer is the
text of each answer letter's option; ``meta`` keeps ``letters`` and ``answer_letter`` (the raw letter string).

Rejected with line and reason: a missing or empty field, text before the first option marker, letters
out of order, fewer than two options, an empty option, two options with the same text (choices must be
distinct) and an answer letter that is not among the options.

The raw source text of a record (``ReadContext.keep_raw``) is its object, ``json.dumps(obj, ensure_ascii=False)``
(keys in file order).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader
from biohub.converters.json_items import convert_lines
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.schema import QARecord

MARKER = re.compile(r"^\(([A-Z])\)[ \t]?", re.MULTILINE)
STRAY_QUOTE = re.compile(r'\n[ \t]*"[ \t]*(\.?)\s*$')
ANSWER = re.compile(r"^\(?([A-Z]+)\)?$")
DEFAULT_FIELDS = {"question": "question", "options": "option", "answer": "anwer"}


@dataclass(slots=True)
class McqaOptions:
    """``fields``: source field names of ``question``, ``options`` and ``answer`` (defaults: question,
    option, anwer); ``strip_added_period``: see the module doc."""

    fields: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    strip_added_period: bool = True

    def __post_init__(self) -> None:
        unknown = sorted(set(self.fields) - set(DEFAULT_FIELDS))
        if unknown:
            raise ValueError(f"fields: unknown role(s) {', '.join(unknown)}; known: {', '.join(DEFAULT_FIELDS)}")
        self.fields = {**DEFAULT_FIELDS, **self.fields}


@register
class McqaJsonlReader(Reader):
    """Reads multiple-choice exam questions (Apollo style) into ``multiple_choice`` ``qa`` records with lettered choices."""

    name = "mcqa-jsonl"
    schema = "qa"
    description = (
        "multiple-choice QA JSON Lines ({question, option: '(A) ...\\n(B) ...', anwer: '(B)'}), e.g. Apollo exams"
    )
    Options = McqaOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``qa`` record (plus its option repairs) or rejection per object of every ``*.jsonl`` file."""
        yield from convert_lines(paths, ctx, ".jsonl", partial(self._convert, ctx=ctx))

    def _convert(self, path: Path, line: int, key: str, obj: Any, ctx: ReadContext) -> Iterator[Item]:
        if not isinstance(obj, dict):
            raise RecordRejected("not a JSON object", f"found a {type(obj).__name__}")
        names = self.options.fields
        missing = [names[role] for role in ("question", "options", "answer") if names[role] not in obj]
        if missing:
            raise RecordRejected("missing field", f"no {', '.join(missing)}")
        question = obj[names["question"]]
        if not isinstance(question, str) or not question.strip():
            raise RecordRejected("empty question", f"{names['question']} is {question!r}")
        letters, texts = self._options(obj[names["options"]])
        defects = []
        for n, text in enumerate(texts):
            stray = STRAY_QUOTE.search(text)
            if stray:
                texts[n] = text[: stray.start()] + stray.group(1)
                detail = f"line {line}: option {letters[n]}"
                reason = "stray quote line in option"
                defects.append(ctx.defect(path, line, reason, detail, document_id=key, dropped=False, annotation="options"))
        texts = [t.strip() for t in texts]
        if self.options.strip_added_period and all(t.endswith(".") for t in texts):
            texts = [t[:-1].rstrip() for t in texts]
        while texts and not texts[-1]:
            dropped = letters.pop()
            texts.pop()
            defects.append(
                ctx.defect(
                    path,
                    line,
                    "empty last option dropped",
                    f"line {line}: option {dropped} is empty",
                    document_id=key,
                    annotation="options",
                )
            )
        if len(texts) < 2:
            raise RecordRejected("fewer than two options", f"{len(texts)} non-empty option(s)")
        empty = [letter for letter, text in zip(letters, texts) if not text]
        if empty:
            raise RecordRejected("empty option", f"option(s) {', '.join(empty)} empty")
        if len(set(texts)) != len(texts):
            first = {text: letter for letter, text in reversed(list(zip(letters, texts)))}
            repeated = [f"({first[text]})=({letter})" for letter, text in zip(letters, texts) if first[text] != letter]
            raise RecordRejected("duplicate options", f"options {', '.join(repeated)} have the same text")
        raw_answer = obj[names["answer"]]
        match = ANSWER.match(raw_answer.strip()) if isinstance(raw_answer, str) else None
        if match is None:
            raise RecordRejected("bad answer", f"{names['answer']} {raw_answer!r} is not a letter such as (B)")
        answer_letters = match.group(1)
        outside = [x for x in answer_letters if x not in letters]
        if outside or len(set(answer_letters)) != len(answer_letters):
            raise RecordRejected("answer letter not among options", f"answer {raw_answer!r}, options {''.join(letters)}")
        extra = {k: v for k, v in obj.items() if k not in names.values()}
        meta = {
            "letters": letters,
            "answer_letter": answer_letters,
            "fields": extra,
            "source": {"path": path.name, "line": line},
        }
        yield from defects
        record = QARecord(
            **ctx.common(key, meta=meta),
            question=question.strip(),
            type="multiple_choice",
            choices=texts,
            answer=[texts[letters.index(x)] for x in sorted(answer_letters)],
        )
        ctx.keep_raw(record.id, lambda: json.dumps(obj, ensure_ascii=False))
        yield record

    def _options(self, value: Any) -> tuple[list[str], list[str]]:
        if isinstance(value, dict):
            letters, texts = [str(k) for k in value], [v if isinstance(v, str) else "" for v in value.values()]
        elif isinstance(value, str):
            parts = MARKER.split(value)
            if parts[0].strip():
                raise RecordRejected("text before first option", f"{parts[0].strip()[:60]!r} precedes the first (A) marker")
            letters = parts[1::2]
            texts = [t.removesuffix("\n").removesuffix("\r") for t in parts[2::2]]
        else:
            raise RecordRejected("bad options", f"options are a {type(value).__name__}, expected a string or an object")
        if len(letters) < 2:
            raise RecordRejected("fewer than two options", f"{len(letters)} option(s)")
        expected = [chr(ord("A") + i) for i in range(len(letters))]
        if letters != expected:
            raise RecordRejected("option letters out of order", f"letters {''.join(letters)}, expected {''.join(expected)}")
        return letters, texts
