"""CBLUE string-level readers: CHIP-CDN normalisations (cblue-norm) and CHIP-CDEE events (cblue-events), from
inline fixtures; each dropped annotation a defect with place and reason, each bad record a rejection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import Defect, Reader, Rejection
from biohub.converters.formats.cblue_norm_events import CblueEventsOptions, CblueEventsReader, CblueNormOptions, CblueNormReader
from biohub.schema import KBRecord, Normalization, validate
from tests.converters.conftest import json_text, read_items, write_text


def read(tmp_path: Path, reader: Reader, rows: list, split: str = "train") -> list:
    path = write_text(tmp_path, f"{split}.json", json_text(rows))
    return read_items(reader, path, split, "zh")


# --------------------------------------------------------------------------------------------- cblue-norm
def norm(tmp_path: Path, rows: list, split: str = "train", **options) -> list:
    return read(tmp_path, CblueNormReader(CblueNormOptions(**options)), rows, split)


def test_terms_become_normalisations_of_the_whole_text(tmp_path: Path) -> None:
    (record,) = norm(tmp_path, [{"text": "2型糖尿病伴肾病", "normalized_result": "2型糖尿病##糖尿病肾病"}])
    assert isinstance(record, KBRecord) and record.id == "toy.train.0" and validate(record) == []
    (entity,) = record.entities
    assert (entity.type, entity.text, entity.offsets) == ("diagnosis", ["2型糖尿病伴肾病"], [(0, 8)])
    db = "ICD-10-Beijing-v601"
    assert entity.normalized == [Normalization(db, "2型糖尿病"), Normalization(db, "糖尿病肾病")]


def test_repeated_and_empty_terms_are_dropped_as_defects(tmp_path: Path) -> None:
    first, second, record = norm(tmp_path, [{"text": "胃炎", "normalized_result": "胃炎####胃炎"}])
    assert isinstance(first, Defect) and (first.reason, first.locator) == ("empty normalization term", "record 0")
    assert first.annotation == "normalizations"
    assert isinstance(second, Defect) and second.reason == "duplicate normalization" and "term 2" in second.detail
    assert [n.db_id for n in record.entities[0].normalized] == ["胃炎"]
    assert json.loads(record.meta)["dropped_annotations"] == {"normalizations": 2}


def test_test_split_text_only_is_unlabelled_without_entity(tmp_path: Path) -> None:
    (record,) = norm(tmp_path, [{"text": "右手掌挫伤"}], split="test")
    assert isinstance(record, KBRecord) and not record.labeled and record.entities == [] and validate(record) == []


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"text": "胃炎"}, "missing labels"),
        ({"text": "胃炎", "normalized_result": ["胃炎"]}, "bad field type"),
        ({"normalized_result": "胃炎"}, "missing field"),
    ],
)
def test_bad_norm_records_are_rejected(tmp_path: Path, row: dict, reason: str) -> None:
    (rejection,) = norm(tmp_path, [row])
    assert isinstance(rejection, Rejection) and (rejection.reason, rejection.locator) == (reason, "record 0")


def test_norm_options_are_checked() -> None:
    with pytest.raises(ValueError, match="separator: must not be empty"):
        CblueNormOptions(separator="")
    with pytest.raises(ValueError, match="unknown field name"):
        CblueNormReader.from_mapping({"fields": {"terms": "x"}})


# --------------------------------------------------------------------------------------------- cblue-events
TEXT = "患者右肺上叶见大叶性肺炎，无发热。"


def event(core: str, tendency: str = "", character: list | None = None, anatomy: list | None = None) -> dict:
    return {"core_name": core, "tendency": tendency, "character": character or [], "anatomy_list": anatomy or []}


def events(tmp_path: Path, rows: list, split: str = "train") -> list:
    return read(tmp_path, CblueEventsReader(CblueEventsOptions()), rows, split)


def test_events_with_trigger_arguments_and_tendency(tmp_path: Path) -> None:
    rows = [{"id": 5, "text": TEXT, "event": [event("肺炎", "", ["大叶性"], ["右肺上叶"]), event("发热", "否定")]}]
    (record,) = events(tmp_path, rows)
    assert isinstance(record, KBRecord) and record.id == "toy.train.5" and validate(record) == []
    assert [(e.id, e.type, e.text, e.offsets) for e in record.entities] == [
        ("toy.train.5.e0", "character", ["大叶性"], [(7, 10)]), ("toy.train.5.e1", "anatomy", ["右肺上叶"], [(2, 6)]),
    ]
    first, second = record.events
    assert (first.type, first.trigger.text, first.trigger.offsets) == ("clinical_finding", ["肺炎"], [(10, 12)])
    assert [(a.role, a.ref_id) for a in first.arguments] == [("character", "toy.train.5.e0"), ("anatomy", "toy.train.5.e1")]
    assert (second.trigger.offsets, second.arguments) == ([(14, 16)], [])
    assert [(m.id, m.type, m.ref_id) for m in record.modifications] == [("toy.train.5.v1.m", "否定", "toy.train.5.v1")]
    assert "tendency" not in json.loads(record.meta)


def test_unplaceable_and_repeated_events_and_arguments_are_defects(tmp_path: Path) -> None:
    rows = [{"id": 1, "text": TEXT, "event": [
        event("肺部感染"), event("肺炎", "不确定 ", ["", "重度"]), event("肺炎", "不确定 ", ["", "重度"]), "肺炎",
    ]}]
    *defects, record = events(tmp_path, rows)
    assert [(d.reason, d.dropped, d.annotation) for d in defects] == [
        ("trigger not found in text", True, "events"),
        ("empty argument", True, "arguments"),
        ("argument not found in text", True, "arguments"),
        ("value whitespace trimmed", False, ""),
        ("duplicate event", True, "events"),
        ("malformed event", True, "events"),
    ]
    assert all(d.locator == "record 0" for d in defects) and "train.json record 0 event 0" in defects[0].detail
    assert [(e.id, e.arguments) for e in record.events] == [("toy.train.1.v1", [])]
    assert [(m.type, m.ref_id) for m in record.modifications] == [("不确定", "toy.train.1.v1")]  # trimmed
    assert json.loads(record.meta)["dropped_annotations"] == {"arguments": 2, "events": 3}


def test_test_split_without_events_is_unlabelled(tmp_path: Path) -> None:
    (record,) = events(tmp_path, [{"id": 9, "text": TEXT, "event": []}], split="test")
    assert isinstance(record, KBRecord) and not record.labeled and record.events == []


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"id": 1, "text": TEXT, "event": []}, "missing labels"),
        ({"id": 1, "text": TEXT, "event": {"core_name": "肺炎"}}, "bad field type"),
        ({"id": 1, "event": [event("肺炎")]}, "missing field"),
    ],
)
def test_bad_event_records_are_rejected(tmp_path: Path, row: dict, reason: str) -> None:
    (rejection,) = events(tmp_path, [row])
    assert isinstance(rejection, Rejection) and (rejection.reason, rejection.locator) == (reason, "record 0")
