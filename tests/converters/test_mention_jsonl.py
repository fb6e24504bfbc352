"""Mention JSON Lines reader (cMedQANER / cEHRNER): string or integer start offsets, nested mentions kept,
letter-case repairs counted, bad mentions dropped as defects with place and reason, bad records rejected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.mention_jsonl import MentionJsonlOptions, MentionJsonlReader
from biohub.schema import KBRecord, validate
from tests.converters.conftest import json_text, read_items, write_text

TEXT = "头痛伴发热三天，查CT未见异常。"


def read(tmp_path: Path, rows: list | str, **options) -> list:
    path = write_text(tmp_path, "train.json", json_text(rows, lines=True))
    return read_items(MentionJsonlReader(MentionJsonlOptions(**options)), path, "train", "zh")


def mention(string: str, label: str, offset: object, **extra: object) -> dict:
    return {"mention": string, "type": label, "offset": offset, **extra}


def test_mentions_become_entities_nested_kept(tmp_path: Path) -> None:
    rows = [{"text": TEXT, "mention_data": [mention("头痛", "symptom", "0"), mention("发热", "symptom", 3, guid="g1"),
                                            mention("头", "body", "0")], "segment": "s1"}]
    (record,) = read(tmp_path, rows)
    assert isinstance(record, KBRecord) and record.id == "toy.train.1" and validate(record) == []
    assert [(e.type, e.text, e.offsets) for e in record.entities] == [
        ("symptom", ["头痛"], [(0, 2)]), ("symptom", ["发热"], [(3, 5)]), ("body", ["头"], [(0, 1)]),
    ]
    assert json.loads(record.meta) == {"source": {"path": "train.json", "line": 1}, "segment": "s1"}


def test_field_mapping_for_label_key(tmp_path: Path) -> None:
    rows = [{"text": TEXT, "mention_data": [{"mention": "发热", "label": "症状", "offset": "3"}]}]
    (record,) = read(tmp_path, rows, fields={"type": "label"})
    assert [(e.type, e.text) for e in record.entities] == [("症状", ["发热"])]
    with pytest.raises(ValueError, match="unknown field name"):
        MentionJsonlReader.from_mapping({"fields": {"label": "type"}})


def test_letter_case_difference_is_a_counted_repair(tmp_path: Path) -> None:
    (repair, record) = read(tmp_path, [{"text": TEXT.replace("CT", "ct"), "mention_data": [mention("CT", "test", "9")]}])
    assert isinstance(repair, Defect) and not repair.dropped
    assert repair.reason == "mention letter case differs from the text (kept)"
    assert (repair.path.endswith("train.json"), repair.locator, repair.annotation) == (True, "1", "entities")
    assert [e.text for e in record.entities] == [["ct"]]
    assert "dropped_annotations" not in json.loads(record.meta)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (mention("发热", "symptom", "4"), "mention text disagrees with its offsets"),
        (mention("发热", "symptom", "40"), "offsets out of range"),
        (mention("发热", "symptom", "-3"), "malformed mention"),
        (mention("发热", "symptom", True), "malformed mention"),
        (mention("", "symptom", "3"), "malformed mention"),
        ({"mention": "发热", "offset": "3"}, "malformed mention"),
        ("发热", "malformed mention"),
        (mention("头痛", "symptom", "0"), "duplicate mention"),
    ],
)
def test_bad_mention_is_dropped_with_place_and_reason(tmp_path: Path, bad: object, reason: str) -> None:
    (defect, record) = read(tmp_path, [{"text": TEXT, "mention_data": [mention("头痛", "symptom", "0"), bad]}])
    assert isinstance(defect, Defect) and defect.dropped and defect.reason == reason
    assert defect.locator == "1" and "train.json:1 mention 1" in defect.detail
    assert len(record.entities) == 1 and json.loads(record.meta)["dropped_annotations"] == {"entities": 1}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"mention_data": []}, "missing field"),
        ({"text": "  ", "mention_data": []}, "empty text"),
        ({"text": TEXT}, "missing field"),
        ({"text": TEXT, "mention_data": {"mention": "头痛"}}, "bad entities field"),
        (["not", "an", "object"], "not a JSON object"),
    ],
)
def test_bad_record_is_rejected_with_its_line(tmp_path: Path, row: object, reason: str) -> None:
    good = {"text": TEXT, "mention_data": []}
    items = read(tmp_path, [good, row])
    assert isinstance(items[0], KBRecord)
    (rejection,) = items[1:]
    assert isinstance(rejection, Rejection) and rejection.reason == reason and rejection.locator == "2"


def test_broken_json_line_is_an_error_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match=r"train\.json:2"):
        read(tmp_path, json.dumps({"text": TEXT, "mention_data": []}) + "\n{\"text\": \n")
