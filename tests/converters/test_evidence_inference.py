"""Evidence Inference reader: prompts, doctors' annotations and articles from tiny invented files; how annotators are
combined; and each kind of bad input rejected, counted or refused with its place and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.evidence_inference import CHOICES, EvidenceInferenceOptions, EvidenceInferenceReader
from biohub.schema import LabelSet, QARecord, validate
from tests.converters.conftest import read_items, write_text

ARTICLE = "Trial of velmora.\nItch fell more with velmora than placebo (p<0.01). Sleep did not differ (p=0.4).\n"
PROMPTS = "PromptID,PMCID,Outcome,Intervention,Comparator\r\n1,77,itch,velmora,placebo\r\n2,77,sleep,velmora,placebo\r\n"
HEADER = (
    "UserID,PromptID,PMCID,Valid Label,Valid Reasoning,Label,Annotations,Label Code,In Abstract,Evidence Start,Evidence End\n"
)


def row(user: str, prompt: str, label: str, code: str, evidence: str, valid: str = "True", pmcid: str = "77") -> str:
    start = ARTICLE.find(evidence)
    return f'{user},{prompt},{pmcid},{valid},True,{label},"{evidence}",{code},UNK,{start},{start + len(evidence)}\n'


ITCH = "Itch fell more with velmora than placebo (p<0.01)"
SLEEP = "Sleep did not differ (p=0.4)."


def read(folder: Path, annotations: str, prompts: str = PROMPTS, ids: str | None = None, **options) -> list:
    paths = [write_text(folder, "prompts.csv", prompts), write_text(folder, "annotations.csv", HEADER + annotations)]
    if ids is not None:
        paths.append(write_text(folder, "ids.txt", ids))
    write_text(folder / "txt", "PMC77.txt", ARTICLE)
    paths.append(folder / "txt")
    return read_items(EvidenceInferenceReader(EvidenceInferenceOptions(**options)), paths, split="test")


def only(items: list, kind: type) -> list:
    return [item for item in items if isinstance(item, kind)]


def test_prompts_become_multiple_choice_records_with_evidence_context(tmp_path: Path) -> None:
    annotations = row("0", "1", "significantly decreased", "-1", ITCH)
    annotations += row("1", "1", "significantly decreased", "-1", "Itch fell")
    annotations += row("0", "2", "significantly increase", "1", SLEEP)
    items = read(tmp_path, annotations)
    itch, sleep = only(items, QARecord)
    assert (itch.id, itch.document_id, itch.type, itch.choices, itch.answer) == (
        "toy.test.1",
        "77",
        "multiple_choice",
        CHOICES,
        ["significantly decreased"],
    )
    assert itch.question == "With respect to itch, characterize the reported difference between velmora and placebo."
    assert itch.context == f"{ITCH}\nItch fell"
    meta = json.loads(itch.meta)
    assert meta["votes"] == {"significantly decreased": 2} and meta["annotations"][0]["evidence_start"] == ARTICLE.find(ITCH)
    assert sleep.answer == ["significantly increased"] and validate(sleep, LabelSet(classes=tuple(CHOICES))) == []
    (repair,) = only(items, Defect)
    assert (repair.reason, repair.locator, repair.dropped) == ("label spelling normalised", "4", False)


def test_disagreeing_or_unverified_annotators_leave_the_prompt_unlabelled_and_counted(tmp_path: Path) -> None:
    annotations = row("0", "1", "significantly decreased", "-1", ITCH) + row("1", "1", "no significant difference", "0", ITCH)
    annotations += row("0", "2", "no significant difference", "0", SLEEP, valid="False")
    items = read(tmp_path, annotations)
    assert [(d.reason, d.locator, d.dropped) for d in only(items, Defect)] == [
        ("annotators disagree", "1", True),
        ("no verified label", "2", True),
    ]
    # the votes are named in label order, whatever order a set of (annotator, label) pairs iterates in (it varies
    # with the process's string hash seed, so an unsorted detail differed between runs and worker processes)
    votes = "{'no significant difference': 1, 'significantly decreased': 1}"
    assert only(items, Defect)[0].detail == f"PromptID 1: votes {votes}; kept unlabelled"
    assert [r.labeled for r in only(items, QARecord)] == [False, False]
    everyone = read(tmp_path, annotations, combine="all")
    assert [r.answer for r in only(everyone, QARecord)] == [[], ["no significant difference"]]


def test_a_prompt_without_annotations_is_kept_unlabelled_and_article_ids_choose_prompts(tmp_path: Path) -> None:
    prompts = PROMPTS + "3,88,pain,velmora,placebo\r\n"
    items = read(tmp_path, row("0", "1", "significantly decreased", "-1", ITCH), prompts=prompts, ids="77\n")
    assert [(r.id, r.labeled) for r in only(items, QARecord)] == [("toy.test.1", True), ("toy.test.2", False)]
    with_article = read(tmp_path, row("0", "1", "significantly decreased", "-1", ITCH), context="article", ids="77")
    assert only(with_article, QARecord)[0].context == ARTICLE


def test_wrong_labels_are_rejected_naming_the_annotations_line(tmp_path: Path) -> None:
    annotations = row("0", "1", "much better", "1", ITCH) + row("0", "2", "significantly decreased", "1", SLEEP)
    items = read(tmp_path, annotations)
    assert [(r.reason, r.locator, Path(r.path).name) for r in only(items, Rejection)] == [
        ("bad label", "annotations.csv:2", "annotations.csv"),
        ("bad label", "annotations.csv:3", "annotations.csv"),
    ]


def test_dangling_rows_shifted_offsets_missing_articles_and_repeated_prompts(tmp_path: Path) -> None:
    shifted = f'0,2,77,True,True,no significant difference,"{SLEEP}",0,UNK,3,20\n'
    annotations = row("0", "1", "significantly decreased", "-1", ITCH) + shifted
    annotations += row("0", "9", "significantly decreased", "-1", ITCH)
    items = read(tmp_path, annotations, prompts=PROMPTS + "1,77,itch again,velmora,placebo\r\n2,99,x,y,z\r\n")
    assert [(d.reason, d.locator, d.dropped) for d in only(items, Defect)] == [
        ("mention text disagrees with its offsets", "3", False),
        ("ground-truth row without a record", "4", True),
    ]
    assert [(r.reason, r.locator) for r in only(items, Rejection)] == [("duplicate id", "4"), ("duplicate id", "5")]
    missing = read(tmp_path, "", prompts=PROMPTS.replace(",77,sleep", ",99,sleep"), context="article")
    assert [(r.reason, r.locator) for r in only(missing, Rejection)] == [("text file missing", "3")]


def test_unreadable_tables_are_refused_with_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match=r"annotations.csv:3: row has 3 cells, the header 11"):
        read(tmp_path, row("0", "1", "significantly decreased", "-1", ITCH) + "a,b,c\n")
    with pytest.raises(ConvertError, match="is neither the prompts CSV"):
        read(tmp_path, "", prompts="id,text\n1,a\n")
    with pytest.raises(ConvertError, match="no prompts CSV"):
        read_items(EvidenceInferenceReader(), [write_text(tmp_path, "a.csv", HEADER)])


def test_a_question_with_an_unknown_placeholder_is_refused_when_the_options_are_built() -> None:
    with pytest.raises(ValueError, match=r"only \{outcome\}, \{intervention\} and \{comparator\} can be filled"):
        EvidenceInferenceOptions(question="What about {outcomes}?")
