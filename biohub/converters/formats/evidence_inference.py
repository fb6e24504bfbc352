"""Evidence Inference (Lehman et al. 2019; DeYoung et al. 2020): intervention/comparator/outcome prompts over
randomised-trial articles, answered by doctors with an effect direction and the evidence that supports it.

Inputs, told apart by content: the prompts CSV (header ``PromptID,PMCID,Outcome,Intervention,Comparator``), the
annotations CSV (header starting ``UserID,PromptID,PMCID``; a quoted cell may hold line breaks), optionally article
id lists (any other file: whitespace-separated PMCIDs; only prompts of those articles are read, so one pair of CSVs
serves every split) and optionally folders of articles (``PMC<PMCID>.txt``, UTF-8).

Each prompt of the chosen articles becomes one ``qa`` record of type ``multiple_choice`` with the choices
``significantly increased`` / ``significantly decreased`` / ``no significant difference``; key = PromptID, document id
= PMCID. The question is ``question`` filled with the prompt's ``{outcome}``, ``{intervention}`` and ``{comparator}``.
The context (``context``) is the evidence the counted annotators cited (distinct texts, in file order, one per line:
the "oracle evidence" setting), the whole article (a prompt whose article is absent is rejected) or nothing.

How disagreeing annotators are combined (``combine``). Each annotator (UserID) has one vote per prompt (the label of
their rows; an annotator who gives two labels for one prompt votes for both). ``verified`` (default) counts only the
annotators whose label the verifier accepted (``Valid Label`` = True); ``all`` counts every annotator. The prompt's
answer is the label when every counted vote names it; otherwise (a tie, or no counted annotator) the prompt is kept
unlabelled with a dropped defect (``annotators disagree`` / ``no verified label``) naming it. A prompt without any
annotation row (its annotations are not in the file) is kept unlabelled. Every row stays in ``meta.annotations``
(annotator, label, label code, validity flags, evidence text and offsets), with the votes and the rule.

Labels: ``significantly increase`` (an upstream spelling) is normalised to ``significantly increased`` and counted
as a repair (``label spelling normalised``); another label, or a ``Label Code`` that disagrees with the label, rejects
the prompt naming the annotations file and line. Evidence offsets are character offsets into the article text,
end-exclusive (checked: ``text[start:end]`` is the evidence); where the article is read and they do not spell the
evidence they are kept as given, counted as a defect (``mention text disagrees with its offsets``, not dropped). An
annotation row whose prompt is not in the prompts file (for a chosen article) is a dropped defect
(``ground-truth row without a record``). A repeated PromptID rejects the later prompt.

The raw source text of a record (``ReadContext.keep_raw``) is its prompts CSV row followed by its annotation rows,
each as ``json.dumps`` of the row's cells, one per line.
"""

from __future__ import annotations

import csv
import io
import json
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, check_path, folder_files, read_text
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import QARecord

CHOICES = ["significantly increased", "significantly decreased", "no significant difference"]
CODES = {"1": "significantly increased", "-1": "significantly decreased", "0": "no significant difference"}
SPELLINGS = {"significantly increase": "significantly increased"}
PROMPT_COLUMNS = ("PromptID", "PMCID", "Outcome", "Intervention", "Comparator")
ANNOTATION_COLUMNS = ("UserID", "PromptID", "PMCID", "Valid Label", "Label", "Annotations", "Label Code")


@dataclass(slots=True)
class EvidenceInferenceOptions:
    """``question``: the question, with ``{outcome}``, ``{intervention}`` and ``{comparator}`` filled from the prompt;
    ``context``: ``evidence`` (the counted annotators' evidence texts), ``article`` (the article text) or ``none``;
    ``combine``: whose votes decide the answer, ``verified`` (annotators whose label the verifier accepted) or ``all``."""

    question: str = "With respect to {outcome}, characterize the reported difference between {intervention} and {comparator}."
    context: Literal["evidence", "article", "none"] = "evidence"
    combine: Literal["verified", "all"] = "verified"

    def __post_init__(self) -> None:
        """A question naming a placeholder other than the three prompt fields is an error when the options are built."""
        try:
            self.question.format(outcome="", intervention="", comparator="")
        except (KeyError, IndexError, ValueError) as exc:
            fields = "{outcome}, {intervention} and {comparator}"
            raise ValueError(f"question {self.question!r}: only {fields} can be filled ({exc!r})") from None


@dataclass(slots=True)
class _Row:
    """One CSV row with the file and the line it ends on."""

    cells: dict[str, str]
    path: Path
    line: int


@dataclass(slots=True)
class _Inputs:
    """A split's inputs, sorted by kind."""

    prompts: list[_Row]
    annotations: dict[str, list[_Row]]
    articles: dict[str, Path]
    chosen: set[str] | None
    texts: dict[str, str] = field(default_factory=dict)  # PMCID -> article text, read once

    def article(self, pmcid: str) -> str | None:
        """The text of article ``pmcid`` (None when no input folder holds it), read on first use."""
        if pmcid not in self.texts and pmcid in self.articles:
            self.texts[pmcid] = read_text(self.articles[pmcid])
        return self.texts.get(pmcid)


@register
class EvidenceInferenceReader(Reader):
    """Reads Evidence Inference prompts and doctors' annotations (plus article texts) into multiple-choice ``qa``
    records over the effect direction, evidence spans and every annotator's answer kept."""

    name = "evidence-inference"
    schema = "qa"
    description = "Evidence Inference CSVs (prompts, annotations with evidence offsets) + article ids + PMC*.txt: 3-way QA"
    Options = EvidenceInferenceOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``qa`` record (with its defects) or rejection per prompt of the chosen articles, then the defects of
        annotation rows without a prompt."""
        inputs = _sort_inputs(paths)
        prompt_ids: set[str] = set()
        for row in inputs.prompts:
            prompt_id, pmcid = row.cells["PromptID"].strip(), row.cells["PMCID"].strip()
            if inputs.chosen is not None and pmcid not in inputs.chosen:
                continue
            prompt_ids.add(prompt_id)
            convert = partial(self._prompt, row, prompt_id, pmcid, inputs, ctx)
            yield from self.rejecting(ctx, row.path, prompt_id, convert, document_id=pmcid)
        for prompt_id, rows in inputs.annotations.items():
            for row in rows:
                chosen = inputs.chosen is None or row.cells["PMCID"].strip() in inputs.chosen
                if prompt_id not in prompt_ids and chosen:
                    detail = f"annotation of prompt {prompt_id} (article {row.cells['PMCID']}): not in the prompts file"
                    reason = Reason.GROUND_TRUTH_ROW_WITHOUT_A_RECORD
                    yield ctx.defect(row.path, row.line, reason, detail, annotation="annotations")

    def _prompt(self, row: _Row, prompt_id: str, pmcid: str, inputs: _Inputs, ctx: ReadContext) -> list[Item]:
        first = ctx.read_before(prompt_id)
        if first is not None:
            raise RecordRejected(Reason.DUPLICATE_ID, f"PromptID {prompt_id} given again (first at {first})", locator=row.line)
        ctx.note_read(prompt_id, f"{row.path.name}:{row.line}")
        fields = {name.lower(): row.cells[name].strip() for name in ("Outcome", "Intervention", "Comparator")}
        empty = [name for name, value in fields.items() if not value]
        if empty:
            detail = f"PromptID {prompt_id}: empty {', '.join(empty)}"
            raise RecordRejected(Reason.EMPTY_REQUIRED_FIELD, detail, locator=row.line)
        rows = inputs.annotations.get(prompt_id, [])
        article = inputs.article(pmcid)
        if self.options.context == "article" and article is None:
            detail = f"PromptID {prompt_id}: no article PMC{pmcid}.txt among the inputs"
            raise RecordRejected(Reason.TEXT_FILE_MISSING, detail, locator=row.line)
        items: list[Item] = []
        annotations = [self._annotation(r, prompt_id, pmcid, article, items, ctx) for r in rows]
        answer, votes, counted = self._combine(annotations)
        if rows and answer is None:
            reason = Reason.ANNOTATORS_DISAGREE if counted else Reason.NO_VERIFIED_LABEL
            detail = f"PromptID {prompt_id}: votes {dict(sorted(votes.items()))}; kept unlabelled"
            items.append(ctx.defect(row.path, prompt_id, reason, detail, document_id=pmcid, annotation="answers"))
        context = {"evidence": "\n".join(_distinct(a["evidence"] for a in counted)), "article": article or "", "none": ""}
        meta = {
            "prompt_id": prompt_id,
            "pmcid": pmcid,
            **fields,
            "article": f"PMC{pmcid}.txt",
            "combine": self.options.combine,
            "votes": dict(sorted(votes.items())),
            "annotations": annotations,
            "source": {"path": row.path.name, "record": prompt_id},
        }
        record = QARecord(
            **ctx.common(prompt_id, pmcid, labeled=answer is not None, meta=meta),
            question=self.options.question.format(**fields),
            type="multiple_choice",
            choices=list(CHOICES),
            context=context[self.options.context],
            answer=[answer] if answer is not None else [],
        )
        ctx.keep_raw(record.id, lambda: "\n".join(json.dumps(r.cells, ensure_ascii=False) for r in [row, *rows]))
        return [*items, record]

    def _annotation(
        self, row: _Row, prompt_id: str, pmcid: str, article: str | None, items: list[Item], ctx: ReadContext
    ) -> dict[str, Any]:
        """One annotation row as kept in meta; its label checked (else the prompt is rejected) and normalised."""
        cells, where = row.cells, f"{row.path.name}:{row.line}"
        raw = cells["Label"].strip()
        label = SPELLINGS.get(raw, raw)
        if label not in CHOICES:
            detail = f"PromptID {prompt_id}: label {raw!r} not in {CHOICES}"
            raise RecordRejected(Reason.BAD_LABEL, detail, locator=where, path=row.path)
        code = cells["Label Code"].strip()
        if CODES.get(code) != label:
            detail = f"PromptID {prompt_id}: Label Code {code!r} does not mean {label!r}"
            raise RecordRejected(Reason.BAD_LABEL, detail, locator=where, path=row.path)
        if label != raw:
            detail = f"PromptID {prompt_id}: label {raw!r} read as {label!r}"
            reason = Reason.LABEL_SPELLING_NORMALISED
            items.append(ctx.defect(row.path, row.line, reason, detail, document_id=pmcid, dropped=False))
        evidence = cells["Annotations"]
        start, end = _offset(cells.get("Evidence Start")), _offset(cells.get("Evidence End"))
        if article is not None and start is not None and end is not None and article[start:end] != evidence:
            detail = f"PromptID {prompt_id}: [{start}, {end}) of PMC{pmcid}.txt is not the evidence text"
            reason = Reason.MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS
            items.append(ctx.defect(row.path, row.line, reason, detail, document_id=pmcid, dropped=False))
        return {
            "user": cells["UserID"].strip(),
            "label": label,
            "label_code": code,
            "valid_label": cells["Valid Label"].strip(),
            "valid_reasoning": cells.get("Valid Reasoning", "").strip(),
            "in_abstract": cells.get("In Abstract", "").strip(),
            "evidence": evidence,
            "evidence_start": start,
            "evidence_end": end,
        }

    def _combine(self, annotations: list[dict[str, Any]]) -> tuple[str | None, Counter[str], list[dict[str, Any]]]:
        """The answer (None when the counted votes disagree or there are none), the votes, and the rows that count."""
        counted = [a for a in annotations if self.options.combine == "all" or a["valid_label"].lower() == "true"]
        votes = Counter(label for _, label in {(a["user"], a["label"]) for a in counted})
        return (next(iter(votes)) if len(votes) == 1 else None), votes, counted


def _sort_inputs(paths: list[Path]) -> _Inputs:
    """The split's prompts rows, annotation rows by PromptID, articles by PMCID and chosen article ids (read first,
    so that only the CSV rows of chosen articles are kept)."""
    inputs = _Inputs([], {}, {}, None)
    tables = []
    for path in paths:
        if path.is_dir():
            for article in folder_files(path, lambda p: p.name.startswith("PMC") and p.suffix == ".txt"):
                inputs.articles[article.stem.removeprefix("PMC")] = article
        elif stat.S_ISREG(check_path(path).st_mode) and path.suffix.lower() == ".csv":
            tables.append(path)
        else:
            inputs.chosen = (inputs.chosen or set()) | set(read_text(path).split())
    for path in tables:
        header, rows = _csv_rows(path, inputs.chosen)
        if set(PROMPT_COLUMNS) <= set(header):
            inputs.prompts.extend(rows)
        elif set(ANNOTATION_COLUMNS) <= set(header):
            for row in rows:
                inputs.annotations.setdefault(row.cells["PromptID"].strip(), []).append(row)
        else:
            known = f"the prompts CSV ({', '.join(PROMPT_COLUMNS)}) or the annotations CSV"
            raise ConvertError(path, f"header {header} is neither {known}")
    if not inputs.prompts:
        raise ConvertError(paths[0] if paths else ".", f"no prompts CSV (header {','.join(PROMPT_COLUMNS)}) among the inputs")
    return inputs


def _csv_rows(path: Path, chosen: set[str] | None) -> tuple[list[str], list[_Row]]:
    """The header and the rows of a CSV whose PMCID is among ``chosen`` (every row when None, or without a PMCID
    column); a row with the wrong number of cells is a :class:`ConvertError`."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    header = next(reader, [])
    wanted = chosen if "PMCID" in header else None
    column = header.index("PMCID") if wanted is not None else -1
    rows = []
    for cells in reader:
        if not cells:
            continue
        if len(cells) != len(header):
            raise ConvertError(path, f"row has {len(cells)} cells, the header {len(header)}", line=reader.line_num)
        if wanted is None or cells[column].strip() in wanted:
            rows.append(_Row(dict(zip(header, cells)), path, reader.line_num))
    return header, rows


def _offset(value: str | None) -> int | None:
    """An evidence offset, or None when absent, not a number or -1 (alignment failed upstream)."""
    try:
        number = int((value or "").strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def _distinct(texts: Any) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in texts if t.strip()))
