"""TREC 2017 LiveQA Medical XML: consumer health questions with question-analysis annotations, reference answers
and, optionally, the NIST judgements (qrels) of participants' answers.

Each ``<NLM-QUESTION qid>`` becomes one ``qa`` record of type ``open``: the question is the original consumer
question (``question_from: original``: its ``SUBJECT`` and ``MESSAGE`` joined by a newline; ``paraphrase``: the NIST
paraphrase; ``summary``: the NLM summary), the answers are the texts of its reference answers (``ANSWER`` inside
``ReferenceAnswer`` or ``RefAnswer``; ``answer_tags``), in file order. Everything else is kept in ``meta``: the
original subject/message and ``qfile``, the paraphrase and summary, the annotations (``foci``: id, category, text;
``keywords``: id, category, text; ``types``: id, type, focus and keyword ids), each reference answer's id, URL and
comment, and the judged participant answers of the qrels (``judgements``: score and answer text).

XML text is laid out over indented lines; ``collapse_whitespace`` (on by default) turns every run of whitespace into
one space. A question without reference answers is kept unlabelled.

A split's paths are its XML files (``*.xml``) and its qrels files (any other suffix): one judgement per line,
``<question number> <score> <answer text>``; the question number names ``<qrels_prefix><number>``. A qrels line
with fewer than three fields or a score that is not an integer is a dropped defect naming its line, and so is a
judgement for a question that no converted record has (``ground-truth row without a record``). A question without
``qid``, with a repeated ``qid`` or without question text is rejected; an empty reference answer is dropped as a
defect. XML is parsed with :func:`biohub.converters.base.parse_xml` (defusedxml: entity declarations refused).

The raw source text of a record (``ReadContext.keep_raw``) is its ``<NLM-QUESTION>`` element re-serialised.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, read_lines
from biohub.converters.base import parse_xml as parse_xml_file
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import QARecord, Record

_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class LiveQaOptions:
    """``question_from``: the question text, ``original`` (SUBJECT + newline + MESSAGE), ``paraphrase``
    (NIST-PARAPHRASE) or ``summary`` (NLM-Summary); ``answer_tags``: the element names of a reference answer;
    ``qrels_prefix``: prepended to a qrels question number to give the qid; ``collapse_whitespace``: every
    whitespace run in a text read from the XML becomes one space."""

    question_from: Literal["original", "paraphrase", "summary"] = "original"
    answer_tags: list[str] = field(default_factory=lambda: ["ReferenceAnswer", "RefAnswer"])
    qrels_prefix: str = "TQ"
    collapse_whitespace: bool = True


@dataclass(slots=True)
class Judgement:
    """One qrels line: the judged answer, its score, and where it was read."""

    score: int
    answer: str
    path: Path
    line: int


@register
class LiveQaReader(Reader):
    """Reads TREC 2017 LiveQA Medical ``<NLM-QUESTION>`` XML (plus NIST qrels) into open ``qa`` records with their
    reference answers; annotations and judgements are kept in ``meta``."""

    name = "liveqa-xml"
    schema = "qa"
    description = "TREC 2017 LiveQA Medical XML (<NLM-QUESTION> + ANNOTATIONS + ReferenceAnswers) + optional qrels: open QA"
    Options = LiveQaOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``qa`` record or rejection per question of every XML file, then the qrels lines no record took."""
        xml = [p for p in paths if p.is_dir() or p.suffix.lower() == ".xml"]
        if not xml:
            raise ConvertError(paths[0] if paths else ".", "no XML file (*.xml) among the inputs")
        judgements: dict[str, list[Judgement]] = {}
        for qrels in (p for p in paths if p not in xml):
            yield from self._qrels(qrels, judgements, ctx)
        converted: set[str] = set()
        for path in expand_paths(xml, ".xml"):
            root = parse_xml_file(path)
            questions = root.findall("NLM-QUESTION")
            if not questions:
                raise ConvertError(path, f"root <{root.tag}> holds no <NLM-QUESTION> elements")
            for index, question in enumerate(questions):
                qid = (question.get("qid") or "").strip()
                convert = partial(self._question, path, qid, question, judgements, ctx)
                for item in self.rejecting(ctx, path, qid or f"question #{index}", convert, document_id=qid or None):
                    if isinstance(item, Record):
                        converted.add(item.document_id)
                    yield item
        for qid, rows in judgements.items():
            if qid not in converted:
                for row in rows:
                    detail = f"judgement of question {qid} (score {row.score}): no converted question has that qid"
                    reason = Reason.GROUND_TRUTH_ROW_WITHOUT_A_RECORD
                    yield ctx.defect(row.path, row.line, reason, detail, annotation="judgements")

    def _qrels(self, path: Path, judgements: dict[str, list[Judgement]], ctx: ReadContext) -> Iterator[Item]:
        """Read one qrels file into ``judgements`` (qid -> lines); a malformed line is a dropped defect."""
        for line, text in enumerate(read_lines(path), start=1):
            if not text.strip():
                continue
            parts = text.split(" ", 2)
            if len(parts) < 3 or not parts[0].isdigit():
                detail = f"expected '<question number> <score> <answer>', got {text[:60]!r}"
                yield ctx.defect(path, line, Reason.MALFORMED_ANNOTATION_LINE, detail, annotation="judgements")
                continue
            try:
                score = int(parts[1])
            except ValueError:
                yield ctx.defect(path, line, Reason.BAD_SCORE, f"score {parts[1]!r} is not an integer", annotation="judgements")
                continue
            row = Judgement(score, self._clean(parts[2]), path, line)
            judgements.setdefault(f"{self.options.qrels_prefix}{int(parts[0])}", []).append(row)

    def _clean(self, text: str | None) -> str:
        text = text or ""
        return _SPACE.sub(" ", text).strip() if self.options.collapse_whitespace else text.strip()

    def _question(
        self, path: Path, qid: str, question: ET.Element, judgements: dict[str, list[Judgement]], ctx: ReadContext
    ) -> list[Item]:
        if not qid:
            raise RecordRejected(Reason.MISSING_ATTRIBUTE, "<NLM-QUESTION> without a qid attribute")
        first = ctx.read_before(qid)
        if first is not None:
            raise RecordRejected(Reason.DUPLICATE_ID, f"qid {qid} given again (first at {first})")
        ctx.note_read(qid, f"{path.name} qid {qid}")
        subject = self._clean(question.findtext("Original-Question/SUBJECT"))
        message = self._clean(question.findtext("Original-Question/MESSAGE"))
        texts = {
            "original": "\n".join(part for part in (subject, message) if part),
            "paraphrase": self._clean(question.findtext("NIST-PARAPHRASE")),
            "summary": self._clean(question.findtext("NLM-Summary")),
        }
        text = texts[self.options.question_from]
        if not text:
            raise RecordRejected(Reason.EMPTY_QUESTION, f"qid {qid}: no {self.options.question_from} question text")
        items: list[Item] = []
        answers, references = [], []
        for reference in (r for r in question.iterfind("ReferenceAnswers/*") if r.tag in self.options.answer_tags):
            aid = reference.get("aid", "")
            answer = self._clean(reference.findtext("ANSWER"))
            if not answer:
                detail = f"qid {qid}: reference answer {aid!r} is empty"
                dropped = ctx.defect(path, aid or qid, Reason.EMPTY_ANSWER_DROPPED, detail, document_id=qid, annotation="answers")
                items.append(dropped)
                continue
            answers.append(answer)
            url, comment = self._clean(reference.findtext("AnswerURL")), self._clean(reference.findtext("COMMENT"))
            references.append({"aid": aid, "url": url, "comment": comment})
        original = question.find("Original-Question")
        meta: dict[str, Any] = {
            "qfile": original.get("qfile", "") if original is not None else "",
            "subject": subject,
            "message": message,
            "paraphrase": texts["paraphrase"],
            "summary": texts["summary"],
            **self._annotations(question),
            "reference_answers": references,
            "judgements": [{"score": j.score, "answer": j.answer} for j in judgements.get(qid, [])],
            "source": {"path": path.name, "record": qid},
        }
        record = QARecord(**ctx.common(qid, labeled=bool(answers), meta=meta), question=text, type="open", answer=answers)
        ctx.keep_raw(record.id, lambda: ET.tostring(question, encoding="unicode"))
        return [*items, record]

    def _annotations(self, question: ET.Element) -> dict[str, list[dict[str, Any]]]:
        """The question-analysis annotations: foci, keywords and question types with the ids they point to."""
        foci = [
            {"id": f.get("fid", ""), "category": f.get("fcategory", ""), "text": self._clean(f.text)}
            for f in question.iterfind("ANNOTATIONS/FOCUS")
        ]
        keywords = [
            {"id": k.get("kid", ""), "category": k.get("kcategory", ""), "text": self._clean(k.text)}
            for k in question.iterfind("ANNOTATIONS/KEYWORD")
        ]
        types = [
            {
                "id": t.get("tid", ""),
                "type": self._clean(t.text),
                "focus_ids": _ids(t.get("hasFocus")),
                "keyword_ids": _ids(t.get("hasKeyword")),
            }
            for t in question.iterfind("ANNOTATIONS/TYPE")
        ]
        return {"foci": foci, "keywords": keywords, "types": types}


def _ids(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
