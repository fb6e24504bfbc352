"""MEDIQA 2019 XML: question-entailment pairs (Task 2, RQE) and candidate-answer lists (Task 3, QA), each with the
optional ground-truth CSV files of the task's evaluation scripts.

Two readers share this module, because the two tasks share their release conventions (one XML file per split, a
root element named after the file, gold labels in a separate ``id,...,label`` CSV where ``1`` is the positive class):

* ``mediqa-rqe-xml``: ``<pair pid value><chq/><faq/></pair>`` -> one ``pairs`` record per pair (``text_1`` = the
  consumer health question, ``text_2`` = the FAQ); the label is ``value`` (``true``/``false``). A ground-truth file
  ``pair_id,label`` gives the label instead (``1`` -> ``true``, ``0`` -> ``false``); where the XML carries a value
  too, the two must agree. A pair with neither is kept unlabelled. ``type`` and ``pid`` go to ``meta``.
* ``mediqa-qa-xml``: ``<Question QID><QuestionText/><AnswerList><Answer AID SystemRank ReferenceRank
  ReferenceScore><AnswerURL/><AnswerText/></Answer>...`` -> one ``pairs`` record per candidate answer (``text_1`` =
  the question, ``text_2`` = the answer, label ``1`` correct / ``0`` incorrect): answer validation. Its document id
  is the question (``<file stem>.<QID>``), so a question's candidates stay in one split and can be re-ranked;
  ``SystemRank``, ``ReferenceRank``, ``ReferenceScore`` and the URL are kept in ``meta``. The label comes from a
  ground-truth file ``question_id,answer_id,label`` when one is given, else from ``ReferenceScore`` as the task
  defines it (3 Correct but incomplete, 4 Excellent -> ``1``; 1 Incorrect, 2 Related -> ``0``); where both exist
  they must agree. An answer with neither is kept unlabelled.

A split's paths are its XML files (``*.xml``; folders are expanded) and its ground-truth files (any other
suffix). A ground-truth file may start with a header row (first cell not a number). A ground-truth row with the
wrong number of cells is a :class:`ConvertError` naming the file and line; a label other than ``0``/``1``, a
disagreement between the XML and the ground truth, an empty text, a missing id, a repeated id or a rank/score that is
not a number rejects the record it belongs to, naming the file and the record (or the ground-truth line). A
ground-truth row no record uses is a dropped defect (``ground-truth row without a record``) naming its line. XML is
parsed with :func:`biohub.converters.base.parse_xml` (defusedxml: entity declarations refused).

The raw source text of a record (``ReadContext.keep_raw``) is its ``<pair>`` / ``<Answer>`` element re-serialised
(``ET.tostring``); for an answer, preceded by its question's ``QuestionText`` element.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, file_stems, parse_xml, read_text
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import PairsRecord

RQE_LABELS = {"1": "true", "0": "false"}
QA_SCORE_LABELS = {"4": "1", "3": "1", "2": "0", "1": "0"}


@dataclass(slots=True)
class GoldLabel:
    """One ground-truth row: its label cell, the id of the question it names (QA) and where it was read."""

    label: str
    question_id: str
    path: Path
    line: int
    used: bool = False


def split_paths(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """A split's XML files (folders expanded to their ``*.xml``) and its ground-truth files (every other file)."""
    xml = [p for p in paths if p.is_dir() or p.suffix.lower() == ".xml"]
    gold = [p for p in paths if p not in xml]
    if not xml:
        reason = "no XML file (*.xml) among the inputs; ground-truth files alone hold no records"
        raise ConvertError(paths[0] if paths else ".", reason)
    return expand_paths(xml, ".xml"), gold


def required_elements(path: Path, tag: str) -> list[ET.Element]:
    """The ``<tag>`` children of the root of XML file ``path``; none is a :class:`ConvertError` naming the file."""
    root = parse_xml(path)
    found = root.findall(tag)
    if not found:
        raise ConvertError(path, f"root <{root.tag}> holds no <{tag}> elements")
    return found


def read_gold(paths: list[Path], columns: int) -> dict[str, GoldLabel]:
    """The ground-truth rows of ``paths`` keyed by record id (the cell before the label); ``columns`` cells a row."""
    gold: dict[str, GoldLabel] = {}
    for path in paths:
        rows = csv.reader(io.StringIO(read_text(path)))
        for line, row in enumerate(rows, start=1):
            if not row or (line == 1 and not row[0].strip().isdigit()):
                continue  # blank line, or the header row
            if len(row) != columns:
                raise ConvertError(path, f"ground-truth row has {len(row)} cells, expected {columns}", line=line)
            key = row[-2].strip()
            if key in gold:
                first = gold[key]
                raise ConvertError(path, f"id {key} given again (first at {first.path.name}:{first.line})", line=line)
            gold[key] = GoldLabel(row[-1].strip(), row[0].strip(), path, line)
    return gold


def gold_defects(gold: dict[str, GoldLabel], ctx: ReadContext) -> Iterator[Item]:
    """A dropped defect for every ground-truth row that no record of the split used."""
    for key, row in gold.items():
        if not row.used:
            detail = f"ground-truth id {key} (label {row.label!r}) names no record of the XML files"
            yield ctx.defect(row.path, row.line, Reason.GROUND_TRUTH_ROW_WITHOUT_A_RECORD, detail, annotation="labels")


def gold_label(
    gold: dict[str, GoldLabel], key: str, allowed: dict[str, str], xml_label: str | None
) -> tuple[str | None, str]:
    """The label of record ``key`` (mapped through ``allowed``) and where it came from: the ground truth when it has
    the record (checked against ``xml_label``, the label the XML gives, if any), else ``xml_label``."""
    row = gold.get(key)
    if row is None:
        return xml_label, "xml" if xml_label is not None else "none"
    row.used = True
    if row.label not in allowed:
        detail = f"ground-truth label {row.label!r} for {key} not in {sorted(allowed)}"
        raise RecordRejected(Reason.BAD_LABEL, detail, locator=f"{row.path.name}:{row.line}", path=row.path)
    label = allowed[row.label]
    if xml_label is not None and xml_label != label:
        detail = f"{key}: the XML says {xml_label!r}, the ground truth ({row.path.name}:{row.line}) says {label!r}"
        raise RecordRejected(Reason.LABEL_DISAGREES_WITH_GROUND_TRUTH, detail)
    return label, "ground truth"


def child_text(element: ET.Element, tag: str, what: str) -> str:
    """The stripped text of ``element``'s child ``tag``; a missing or empty one rejects the record."""
    text = (element.findtext(tag) or "").strip()
    if not text:
        raise RecordRejected(Reason.EMPTY_TEXT, f"{what}: <{tag}> is missing or empty")
    return text


# --------------------------------------------------------------------------------------------- RQE
@dataclass(slots=True)
class MediqaRqeOptions:
    """``first_tag`` / ``second_tag``: the child elements read as ``text_1`` / ``text_2`` of each ``<pair>``."""

    first_tag: str = "chq"
    second_tag: str = "faq"


@register
class MediqaRqeReader(Reader):
    """Reads MEDIQA RQE ``<pair>`` XML (plus ``pair_id,label`` ground truth) into labelled entailment ``pairs``."""

    name = "mediqa-rqe-xml"
    schema = "pairs"
    description = "MEDIQA 2019 RQE XML (<pair pid value><chq/><faq/></pair>) + optional pair_id,label CSV: entailment pairs"
    Options = MediqaRqeOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``pairs`` record or rejection per ``<pair>`` of every XML file, then the unused ground-truth rows."""
        xml_files, gold_files = split_paths(paths)
        gold = read_gold(gold_files, 2)
        stems = file_stems(xml_files)
        for path in xml_files:
            for index, pair in enumerate(required_elements(path, "pair")):
                pid = (pair.get("pid") or "").strip()
                key = f"{stems[path]}.{pid or f'#{index}'}"
                convert = partial(self._pair, path, key, pid, pair, gold, ctx)
                yield from self.rejecting(ctx, path, pid or f"pair #{index}", convert)
        yield from gold_defects(gold, ctx)

    def _pair(self, path: Path, key: str, pid: str, pair: ET.Element, gold: dict[str, GoldLabel], ctx: ReadContext) -> Item:
        if not pid:
            raise RecordRejected(Reason.MISSING_ATTRIBUTE, "<pair> without a pid attribute")
        first = ctx.read_before(key)
        if first is not None:
            raise RecordRejected(Reason.DUPLICATE_ID, f"pid {pid} given again (first at {first})")
        ctx.note_read(key, f"{path.name} pid {pid}")
        value = pair.get("value")
        if value is not None and value not in RQE_LABELS.values():
            raise RecordRejected(Reason.BAD_LABEL, f"pid {pid}: value {value!r} not in {sorted(RQE_LABELS.values())}")
        text_1 = child_text(pair, self.options.first_tag, f"pid {pid}")
        text_2 = child_text(pair, self.options.second_tag, f"pid {pid}")
        label, origin = gold_label(gold, pid, RQE_LABELS, value)
        meta: dict[str, Any] = {"pid": pid, "label_source": origin, "source": {"path": path.name, "record": pid}}
        if pair.get("type"):
            meta["pair_type"] = pair.get("type")
        common = ctx.common(key, labeled=label is not None, meta=meta)
        record = PairsRecord(**common, text_1=text_1, text_2=text_2, label=label or "")
        ctx.keep_raw(record.id, lambda: ET.tostring(pair, encoding="unicode"))
        return record


# --------------------------------------------------------------------------------------------- QA
@register
class MediqaQaReader(Reader):
    """Reads MEDIQA QA ``<Question>``/``<Answer>`` XML (plus ``question_id,answer_id,label`` ground truth) into one
    labelled question-answer ``pairs`` record per candidate answer, ranks and reference scores kept in ``meta``."""

    name = "mediqa-qa-xml"
    schema = "pairs"
    description = "MEDIQA 2019 QA XML (<Question><AnswerList><Answer SystemRank ReferenceRank ReferenceScore>) + optional CSV"

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``pairs`` record or rejection per ``<Answer>`` of every question, then the unused ground-truth rows."""
        xml_files, gold_files = split_paths(paths)
        gold = read_gold(gold_files, 3)
        stems = file_stems(xml_files)
        for path in xml_files:
            for index, question in enumerate(required_elements(path, "Question")):
                qid = (question.get("QID") or "").strip() or f"#{index}"
                answers = question.findall("AnswerList/Answer")
                if not answers:
                    detail = f"question {qid} has no <AnswerList>/<Answer>"
                    yield ctx.reject(path, qid, Reason.MISSING_ANSWER, detail, document_id=f"{stems[path]}.{qid}")
                for position, answer in enumerate(answers):
                    convert = partial(self._answer, path, stems[path], qid, question, answer, gold, ctx)
                    locator = answer.get("AID") or f"{qid} answer #{position}"
                    yield from self.rejecting(ctx, path, locator, convert, document_id=f"{stems[path]}.{qid}")
        yield from gold_defects(gold, ctx)

    def _answer(
        self,
        path: Path,
        stem: str,
        qid: str,
        question: ET.Element,
        answer: ET.Element,
        gold: dict[str, GoldLabel],
        ctx: ReadContext,
    ) -> Item:
        aid = (answer.get("AID") or "").strip()
        if not aid:
            raise RecordRejected(Reason.MISSING_ATTRIBUTE, f"question {qid}: <Answer> without an AID attribute")
        key = f"{stem}.{aid}"
        first = ctx.read_before(key)
        if first is not None:
            raise RecordRejected(Reason.DUPLICATE_ID, f"AID {aid} given again (first at {first})")
        ctx.note_read(key, f"{path.name} AID {aid}")
        ranks = {name: _number(answer, name, aid) for name in ("SystemRank", "ReferenceRank", "ReferenceScore")}
        score = answer.get("ReferenceScore")
        if score is not None and score.strip() not in QA_SCORE_LABELS:
            raise RecordRejected(Reason.BAD_SCORE, f"AID {aid}: ReferenceScore {score!r} not in 1..4")
        row = gold.get(aid)
        if row is not None and row.question_id != qid:
            row.used = True
            detail = f"AID {aid}: ground-truth line {row.line} names question {row.question_id}, the XML question {qid}"
            raise RecordRejected(Reason.LABEL_DISAGREES_WITH_GROUND_TRUTH, detail)
        label, origin = gold_label(gold, aid, {"1": "1", "0": "0"}, QA_SCORE_LABELS.get((score or "").strip()))
        if origin == "xml":
            origin = "ReferenceScore"
        text_1 = child_text(question, "QuestionText", f"question {qid}")
        text_2 = child_text(answer, "AnswerText", f"AID {aid}")
        meta = {
            "question_id": qid,
            "answer_id": aid,
            "system_rank": ranks["SystemRank"],
            "reference_rank": ranks["ReferenceRank"],
            "reference_score": ranks["ReferenceScore"],
            "answer_url": (answer.findtext("AnswerURL") or "").strip(),
            "label_source": origin,
            "source": {"path": path.name, "record": aid},
        }
        common = ctx.common(key, f"{stem}.{qid}", labeled=label is not None, meta=meta)
        record = PairsRecord(**common, text_1=text_1, text_2=text_2, label=label or "")
        ctx.keep_raw(record.id, lambda: _raw_answer(question, answer))
        return record


def _number(element: ET.Element, name: str, aid: str) -> int | None:
    """The integer attribute ``name`` of an answer (None when absent); a value that is not an integer rejects it."""
    value = element.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise RecordRejected(Reason.BAD_VALUE, f"AID {aid}: {name} {value!r} is not an integer") from None


def _raw_answer(question: ET.Element, answer: ET.Element) -> str:
    text = question.find("QuestionText")
    head = ET.tostring(text, encoding="unicode") if text is not None else ""
    return head + ET.tostring(answer, encoding="unicode")
