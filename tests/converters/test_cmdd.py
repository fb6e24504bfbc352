"""CMDD reader: one dialogue record per file whose turns carry normalised symptom mentions; repairs, dropped turns
and names as defects with place and reason; broken dialogues rejected; the schema round trip keeps turn entities."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.cmdd import CmddOptions, CmddReader, chunks
from biohub.schema import DialogueRecord, LabelSet, from_row, to_row, validate
from tests.converters.conftest import json_text, read_items, write_text


def utterance(speaker: str, sentence: str, label: str, normalized: list | None = None, status: list | None = None) -> dict:
    return {"speaker": speaker, "sentence": sentence, "label": label, "normalized": normalized or [], "type": status or []}


DIALOGUE: dict[str, Any] = {"data-split": "dev", "example-id": "42", "dialogue-content": [
    utterance("患者", "孩子咳嗽流鼻涕，不发烧", "OOBIBIIOOBI", ["咳嗽", "流涕", "发热"], ["1", "1", "2"]),
    utterance("医生", "", ""),
    utterance("医生", "有没有拉肚子", "OOOBII", ["腹泻"], ["3"]),
]}


def read(tmp_path: Path, *dialogues: Any, **options: Any) -> list:
    paths = [write_text(tmp_path, f"dev_{n}.json", json_text(d)) for n, d in enumerate(dialogues)]
    return read_items(CmddReader(CmddOptions(**options)), paths, "validation", "zh")


def test_turns_carry_normalised_mentions_and_statuses(tmp_path: Path) -> None:
    empty, record = read(tmp_path, DIALOGUE)
    assert isinstance(empty, Defect) and (empty.reason, empty.locator) == ("empty turn dropped", "utterance 1")
    assert empty.annotation == "turns"
    assert isinstance(record, DialogueRecord) and record.id == "toy.validation.42" and record.labeled
    assert [(t.role, t.content) for t in record.turns] == [("user", "孩子咳嗽流鼻涕，不发烧"), ("assistant", "有没有拉肚子")]
    first = record.turns[0].entities
    assert [(e.id, e.text, e.offsets, e.normalized[0].db_id) for e in first] == [
        ("toy.validation.42.t0.e0", ["咳嗽"], [(2, 4)], "咳嗽"),
        ("toy.validation.42.t0.e1", ["流鼻涕"], [(4, 7)], "流涕"),
        ("toy.validation.42.t0.e2", ["发烧"], [(9, 11)], "发热"),
    ]
    assert json.loads(record.meta)["symptom_status"] == {
        "toy.validation.42.t0.e0": "true", "toy.validation.42.t0.e1": "true", "toy.validation.42.t0.e2": "false",
        "toy.validation.42.t1.e0": "uncertain",
    }
    assert validate(record, LabelSet(entity_types=("symptom",))) == []
    assert from_row("dialogue", to_row(record)) == record


def test_orphan_i_is_repaired_and_unaligned_names_dropped(tmp_path: Path) -> None:
    dialogue = copy.deepcopy(DIALOGUE)
    dialogue["dialogue-content"][0].update(label="OOIIBIIOOBI", type=["1", "1"])
    dialogue["dialogue-content"][2].update(type=["9"])
    items = read(tmp_path, dialogue)
    defects, record = items[:-1], items[-1]
    assert [(d.reason, d.dropped) for d in defects] == [
        ("orphan I- tag opened a chunk", False),
        *[("normalizations do not align with mentions", True)] * 3,
        ("empty turn dropped", True),
        ("bad value", True),
    ]
    assert [e.normalized for e in record.turns[0].entities] == [[], [], []]
    assert json.loads(record.meta)["dropped_annotations"] == {"annotations": 1, "normalizations": 3, "turns": 1}


def test_a_dialogue_ending_with_the_patient_is_unlabelled(tmp_path: Path) -> None:
    dialogue = copy.deepcopy(DIALOGUE)
    dialogue["dialogue-content"].pop()
    _, record = read(tmp_path, dialogue)
    assert isinstance(record, DialogueRecord) and not record.labeled and validate(record) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda u: u.update(speaker="护士"), "unknown role"),
        (lambda u: u.update(label="OOB"), "malformed labels"),
        (lambda u: u.update(label="OOBXBIIOOBI"), "unknown tag"),
        (lambda u: u.pop("type"), "bad turn"),
        (lambda u: u.update(normalized="咳嗽"), "bad turn"),
    ],
)
def test_broken_utterance_rejects_the_dialogue(tmp_path: Path, change: Any, reason: str) -> None:
    dialogue = copy.deepcopy(DIALOGUE)
    change(dialogue["dialogue-content"][0])
    (rejection,) = read(tmp_path, dialogue)
    assert isinstance(rejection, Rejection) and (rejection.reason, rejection.locator) == (reason, "dev_0.json")
    assert "dev_0.json utterance 0" in rejection.detail


def test_missing_id_duplicate_id_and_empty_dialogue_are_rejected(tmp_path: Path) -> None:
    no_id = {k: v for k, v in DIALOGUE.items() if k != "example-id"}
    empty = {**DIALOGUE, "example-id": "43", "dialogue-content": [utterance("医生", " ", "O")]}
    items = read(tmp_path, DIALOGUE, DIALOGUE, no_id, empty)
    assert [(i.reason, i.locator) for i in items if isinstance(i, Rejection)] == [
        ("duplicate id", "dev_1.json"), ("missing field", "dev_2.json"), ("bad conversation", "dev_3.json"),
    ]
    with pytest.raises(ConvertError, match=r"dev_0\.json:1"):
        read(tmp_path, '{"example-id": ')


def test_chunks_of_a_tag_string() -> None:
    assert chunks("BIOBBI") == ([(0, 2), (3, 4), (4, 6)], 0)
    assert chunks("IIOI") == ([(0, 2), (3, 4)], 2)
    with pytest.raises(ValueError, match="not O, B or I"):
        chunks("OBX")
