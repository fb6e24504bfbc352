"""Taiyi conversation reader: exact dialogue records from tiny invented JSON Lines, bad input named by file:line."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.catalog import load_catalog
from biohub.converters.convert import convert_entry
from biohub.converters.formats.taiyi_jsonl import TaiyiJsonlReader
from biohub.schema import DialogueRecord, Turn, validate
from tests.converters.conftest import json_text, read_items, write_text

ROWS = [
    {
        "conversation_id": 7, "dataset": "toy_mt", "category": "MT-en2zh", "language": "en-zh",
        "conversation": [{"human": "Translate into Chinese: The patient has a fever.", "assistant": "患者发热。"}],
    },
    {
        "conversation_id": 8, "dataset": "toy_ner", "category": "NER", "language": "zh",
        "conversation": [
            {"human": "识别实体：患儿咳嗽三天。", "assistant": "症状：咳嗽"},
            {"human": "还有别的吗？", "assistant": "没有了。"},
        ],
    },
    {
        "conversation_id": 9, "dataset": "toy_mt", "category": "MT-zh2en", "language": "zh-en",
        "conversation": [{"human": "翻译成英文：头痛。", "assistant": "Headache."}],
    },
]


def write(tmp_path: Path, rows: list | str, name: str = "examples.jsonl", encoding: str = "utf-8") -> Path:
    return write_text(tmp_path, name, json_text(rows, lines=True), encoding)


def read(path: Path) -> list:
    return read_items(TaiyiJsonlReader(), path, "train", "zh")


def test_conversations_become_ordered_turns_with_the_human_language(tmp_path: Path) -> None:
    first, second, third = read(write(tmp_path, ROWS))
    assert isinstance(first, DialogueRecord)
    assert (first.id, first.document_id, first.language, first.labeled) == ("toy.train.7", "7", "en", True)
    assert first.turns == [Turn("user", "Translate into Chinese: The patient has a fever."), Turn("assistant", "患者发热。")]
    assert json.loads(first.meta) == {
        "category": "MT-en2zh", "conversation_id": 7, "dataset": "toy_mt", "language": "en-zh",
        "source": {"path": "examples.jsonl", "line": 1},
    }
    assert [t.role for t in second.turns] == ["user", "assistant", "user", "assistant"]
    assert second.turns[2].content == "还有别的吗？" and second.language == "zh"
    assert third.language == "zh" and json.loads(third.meta)["language"] == "zh-en"
    assert all(validate(r) == [] for r in (first, second, third))


def test_missing_language_takes_the_dataset_language(tmp_path: Path) -> None:
    row = {k: v for k, v in ROWS[0].items() if k != "language"}
    (record,) = read(write(tmp_path, [row]))
    assert record.language == "zh" and "language" not in json.loads(record.meta)


def test_bad_records_are_rejected_with_line_and_reason(tmp_path: Path) -> None:
    rows = [
        {**ROWS[0], "language": "fr"},
        {k: v for k, v in ROWS[1].items() if k != "conversation"},
        {**ROWS[2], "conversation": []},
        {**ROWS[2], "conversation_id": 10, "conversation": [{"human": "你好", "assistant": " "}]},
        {**ROWS[2], "conversation_id": 11, "conversation": [{"human": "你好"}]},
    ]
    items = read(write(tmp_path, rows))
    assert all(isinstance(i, Rejection) for i in items)
    assert [(i.locator, i.reason) for i in items] == [
        ("1", "unknown language"), ("2", "missing field"), ("3", "bad conversation"), ("4", "empty turn"), ("5", "bad turn"),
    ]
    assert "examples.jsonl:4: exchange 0: 'assistant' is blank" in items[3].detail


def test_duplicate_conversation_ids_are_rejected(tmp_path: Path) -> None:
    _record, rejection = read(write(tmp_path, [ROWS[0], ROWS[0]]))
    assert (rejection.locator, rejection.reason) == ("2", "duplicate id")


def test_truncated_line_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(ROWS[0]) + "\n" + json.dumps(ROWS[1])[:40] + "\n")
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:2" in str(err.value) and "invalid JSON Lines record" in str(err.value)


def test_wrong_encoding_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, ROWS, encoding="gb18030")
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:1" in str(err.value) and "not valid utf-8" in str(err.value)
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "absent.jsonl")


@pytest.mark.real_corpora
def test_real_examples_languages_follow_the_human_turn(mirror: Path) -> None:
    result = convert_entry(load_catalog()["taiyi_examples"], mirror, progress=False)
    records = result.records["train"]
    pairs = Counter((r.language, json.loads(r.meta)["language"]) for r in records)
    assert pairs == Counter({("zh", "zh"): 8, ("en", "en"): 7, ("en", "en-zh"): 4, ("zh", "zh-en"): 2})
    assert all(len(r.turns) == 2 for r in records)


def test_demo_example_files_convert_cleanly() -> None:
    from biohub.converters.catalog import load_catalog
    from biohub.converters.convert import convert_entry

    examples = Path(__file__).resolve().parents[2] / "examples" / "mirror"
    result = convert_entry(load_catalog()["taiyi_examples"], examples, verify=False, progress=False)
    assert result.problems == [] and all(ledger.converted for ledger in result.ledger.values())
