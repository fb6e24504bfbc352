"""DiaKG reader: one kb record per sentence from a tiny nested document; bad entities and relations dropped as
defects with place and reason; bad sentences and paragraphs rejected; broken JSON names the file and line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.diakg import DiakgReader
from biohub.schema import KBRecord, validate
from tests.converters.conftest import json_text, read_items, write_text

PARAGRAPH = "二甲双胍是2型糖尿病的一线用药。常见不良反应为腹泻。"


def sentence(sid: str, text: str, start: int, entities: list, relations: list) -> dict:
    return {"sentence_id": sid, "sentence": text, "start_idx": start, "end_idx": start + len(text),
            "entities": entities, "relations": relations}


def entity(eid: str, text: str, label: str, start: int) -> dict:
    return {"entity_id": eid, "entity": text, "entity_type": label, "start_idx": start, "end_idx": start + len(text)}


def relation(rid: str, label: str, head: str, tail: str) -> dict:
    return {"relation_id": rid, "relation_type": label, "head_entity_id": head, "tail_entity_id": tail}


DOC: dict[str, Any] = {"doc_id": "7", "paragraphs": [{"paragraph_id": "0", "paragraph": PARAGRAPH, "sentences": [
    sentence("0", "二甲双胍是2型糖尿病的一线用药。", 0,
             [entity("T0", "二甲双胍", "Drug", 0), entity("T1", "2型糖尿病", "Disease", 5), entity("T2", "2型", "Class", 5)],
             [relation("R0", "Drug_Disease", "T0", "T1"), relation("R1", "Class_Disease", "T2", "T1")]),
    sentence("1", "常见不良反应为腹泻。", 16, [entity("T3", "腹泻", "ADE", 7)], []),
]}]}


def read(tmp_path: Path, doc: Any) -> list:
    return read_items(DiakgReader(), write_text(tmp_path, "sample.json", json_text(doc)), "train", "zh")


def test_each_sentence_is_a_record_with_entities_and_relations(tmp_path: Path) -> None:
    first, second = read(tmp_path, DOC)
    assert isinstance(first, KBRecord) and isinstance(second, KBRecord)
    assert (first.id, first.document_id, second.id) == ("toy.train.7-0-0", "7", "toy.train.7-0-1")
    assert [(e.id, e.type, e.text, e.offsets) for e in first.entities] == [
        ("toy.train.7-0-0.T0", "Drug", ["二甲双胍"], [(0, 4)]),
        ("toy.train.7-0-0.T1", "Disease", ["2型糖尿病"], [(5, 10)]),
        ("toy.train.7-0-0.T2", "Class", ["2型"], [(5, 7)]),
    ]
    assert [(r.type, r.arg1_id, r.arg2_id) for r in first.relations] == [
        ("Drug_Disease", "toy.train.7-0-0.T0", "toy.train.7-0-0.T1"),
        ("Class_Disease", "toy.train.7-0-0.T2", "toy.train.7-0-0.T1"),
    ]
    assert json.loads(second.meta)["paragraph_offsets"] == [16, 26]
    assert validate(first) == [] and validate(second) == []


@pytest.mark.parametrize(
    ("change", "reason", "unit"),
    [
        (lambda s: s["entities"][0].update(end_idx=40), "offsets out of range", "entities"),
        (lambda s: s["entities"][0].update(entity="格列美脲"), "mention text disagrees with its offsets", "entities"),
        (lambda s: s["entities"][0].pop("entity_type"), "malformed mention", "entities"),
        (lambda s: s["entities"].append(entity("T1", "糖尿病", "Disease", 7)), "duplicate annotation id", "entities"),
        (lambda s: s["relations"][0].update(tail_entity_id="T9"), "relation argument missing", "relations"),
        (lambda s: s["relations"][0].update(relation_type=""), "relation without type", "relations"),
        (lambda s: s["relations"].append("R2"), "malformed relation", "relations"),
        (lambda s: s["relations"].append(relation("R1", "Drug_Disease", "T0", "T1")), "duplicate annotation id", "relations"),
    ],
)
def test_bad_annotations_are_dropped_with_place_and_reason(tmp_path: Path, change: Any, reason: str, unit: str) -> None:
    doc = copy.deepcopy(DOC)
    change(doc["paragraphs"][0]["sentences"][0])
    items = read(tmp_path, doc)
    defect, *cascade = [item for item in items if isinstance(item, Defect)]
    assert (defect.reason, defect.locator, defect.annotation) == (reason, "doc 7 paragraph 0 sentence 0", unit)
    # dropping entity T0 also drops relation R0, which names it (a repeated T1 keeps the first T1)
    names_a_dropped_entity = unit == "entities" and reason != "duplicate annotation id"
    assert [d.reason for d in cascade] == (["relation argument missing"] if names_a_dropped_entity else [])
    assert sum(isinstance(item, KBRecord) for item in items) == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: s.update(start_idx=1, end_idx=17), "bad offsets"),
        (lambda s: s.pop("sentence"), "missing field"),
        (lambda s: s.update(entities={"T0": {}}), "bad field type"),
        (lambda s: s.update(DOC["paragraphs"][0]["sentences"][1]), "duplicate id"),
    ],
)
def test_bad_sentence_is_rejected(tmp_path: Path, change: Any, reason: str) -> None:
    doc = copy.deepcopy(DOC)
    doc["paragraphs"][0]["sentences"].reverse()
    change(doc["paragraphs"][0]["sentences"][1])
    first, rejection = read(tmp_path, doc)
    assert isinstance(first, KBRecord) and isinstance(rejection, Rejection)
    assert (rejection.reason, rejection.locator) == (reason, "doc 7 paragraph 0 sentence 1")


def test_bad_document_and_paragraph_are_rejected_and_json_errors_named(tmp_path: Path) -> None:
    bad_paragraph = {"doc_id": "8", "paragraphs": [{"paragraph": PARAGRAPH, "sentences": []}]}
    items = read(tmp_path, [DOC, {"paragraphs": []}, bad_paragraph, "文本"])
    rejections = [item for item in items if isinstance(item, Rejection)]
    assert [(r.reason, r.locator) for r in rejections] == [
        ("invalid record", "document 1"), ("invalid record", "8 paragraph 0"), ("invalid record", "document 3"),
    ]
    with pytest.raises(ConvertError, match=r"sample\.json:3"):
        read(tmp_path, '{"doc_id": "1",\n "paragraphs": [\n')
