"""Dialogue JSON reader: role -> field and turns-list shapes on tiny invented files; bad records named by file,
record and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.formats.dialogue_json import DialogueJsonReader, DialogueOptions
from biohub.schema import DialogueRecord, Turn, validate
from tests.converters.conftest import json_text, read_items, write_text

FIELDS = {"user": "medical_case", "assistant": "doctor_diagnosis"}


def case(id_: int = 5, **overrides) -> dict:
    base = {
        "id": id_,
        "medical_case": "病情描述：\n咳嗽三天，无发热。",
        "doctor_diagnosis": "考虑上呼吸道感染，多饮水。 ",
        "Department": "内科",
    }
    base.update(overrides)
    return base


def write(tmp_path: Path, data, name: str = "dialogues.json") -> Path:
    return write_text(tmp_path, name, json_text(data))


def read(path: Path, **options) -> list:
    return read_items(DialogueJsonReader(DialogueOptions(**options)), path, "test", "zh")


def test_fields_become_a_user_assistant_exchange(tmp_path: Path) -> None:
    (record,) = read(write(tmp_path, [case()]), fields=FIELDS)
    assert isinstance(record, DialogueRecord)
    assert (record.id, record.document_id, record.labeled) == ("toy.test.5", "5", True)
    assert record.turns == [Turn("user", "病情描述：\n咳嗽三天，无发热。"), Turn("assistant", "考虑上呼吸道感染，多饮水。")]
    assert json.loads(record.meta) == {"fields": {"Department": "内科"}, "source": {"path": "dialogues.json", "record": "5"}}
    assert validate(record) == []


def test_turns_list_with_role_mapping(tmp_path: Path) -> None:
    data = [
        {
            "dialogue": [
                {"speaker": "patient", "text": "头痛。"},
                {"speaker": "doctor", "text": "量血压。"},
                {"speaker": "patient", "text": "160/95。"},
            ]
        }
    ]
    path = write(tmp_path, "\n".join(json.dumps(d, ensure_ascii=False) for d in data), name="d.jsonl")
    (record,) = read(
        path,
        turns_field="dialogue",
        role_key="speaker",
        content_key="text",
        roles={"patient": "user", "doctor": "assistant"},
        id_field="",
    )
    assert record.id == "toy.test.d-1" and [t.role for t in record.turns] == ["user", "assistant", "user"]
    assert record.labeled is False and validate(record) == []


def test_unmapped_role_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, [{"id": "a", "dialogue": [{"role": "nurse", "content": "x"}]}])
    (rejection,) = read(path, turns_field="dialogue")
    assert (rejection.locator, rejection.reason) == ("a", "unknown role") and "'nurse'" in rejection.detail


def test_missing_field_empty_turn_and_duplicate_id_are_rejected(tmp_path: Path) -> None:
    no_reply = {k: v for k, v in case(1).items() if k != "doctor_diagnosis"}
    path = write(tmp_path, [no_reply, case(2, medical_case="  "), case(3), case(3)])
    missing, empty, record, duplicate = read(path, fields=FIELDS)
    assert isinstance(missing, Rejection) and (missing.path, missing.locator, missing.reason) == (str(path), "1", "missing field")
    assert "[0]" in missing.detail and "doctor_diagnosis" in missing.detail
    assert (empty.locator, empty.reason) == ("2", "empty turn")
    assert isinstance(record, DialogueRecord)
    assert (duplicate.locator, duplicate.reason) == ("3", "duplicate id") and "[2]" in duplicate.detail


def test_options_must_choose_one_shape() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        DialogueOptions()
    with pytest.raises(ValueError, match="not one of"):
        DialogueOptions(fields={"doctor": "x"})


@pytest.mark.parametrize("option", [{"role_key": "speaker"}, {"content_key": "text"}, {"roles": {"doctor": "assistant"}}])
def test_turns_options_in_fields_mode_are_errors(option: dict) -> None:
    with pytest.raises(ValueError, match=f"{next(iter(option))}: only read with turns_field; fields mode would ignore them"):
        DialogueOptions(fields=FIELDS, **option)


@pytest.mark.parametrize("prefix", ["\ufeff\n", "\ufeff" + " " * 100 + "\n", "\n" * 70])
def test_array_detection_survives_bom_newlines_and_long_blank_prefixes(tmp_path: Path, prefix: str) -> None:
    path = write(tmp_path, prefix + json.dumps([case(1), case(1)], ensure_ascii=False))
    record, duplicate = read(path, fields=FIELDS)
    assert isinstance(record, DialogueRecord) and isinstance(duplicate, Rejection)
    # An array element is located by its index ("[1]"), not as a JSON Lines line.
    assert (duplicate.locator, duplicate.reason) == ("1", "duplicate id")
    assert duplicate.detail.startswith("[1]: id 1 already read at dialogues.json [0]")


def test_truncated_json_and_bad_jsonl_line_name_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[\n {"id": 1,\n')
    with pytest.raises(ConvertError) as err:
        read(path, fields=FIELDS)
    assert f"{path}:3" in str(err.value)
    path = write(tmp_path, json.dumps(case()) + "\nnot json\n", name="d.jsonl")
    with pytest.raises(ConvertError) as err:
        read(path, fields=FIELDS)
    assert f"{path}:2" in str(err.value) and "invalid JSON Lines record" in str(err.value)


def test_wrong_encoding_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "dialogues.json"
    path.write_bytes(json.dumps([case()], ensure_ascii=False, indent=1).encode("gb18030"))
    with pytest.raises(ConvertError) as err:
        read(path, fields=FIELDS)
    assert f"{path}:4" in str(err.value) and "not valid utf-8" in str(err.value)
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "absent.json", fields=FIELDS)


INLINE = {
    "inline_field": "instruction", "markers": {"<user>:": "user", "<bot>:": "assistant"}, "reply_field": "output", "id_field": "",
}


def test_inline_history_with_markers_and_reply_field(tmp_path: Path) -> None:
    rows = [
        {"instruction": " <user>: 乙肝会传染吗？ <bot>: 主要经血液和母婴传播。 <user>: 日常吃饭会传染吗？", "input": "",
         "output": "一般共餐不会传染。", "id": 7},
        {"instruction": " <user>: 肝功能检查要空腹吗？", "input": "", "output": "需要空腹八小时以上。"},
    ]
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    first, second = read_items(DialogueJsonReader(DialogueOptions(**INLINE)), path, "train", "zh")
    assert isinstance(first, DialogueRecord) and first.id == "toy.train.chat-0" and first.labeled
    assert [(t.role, t.content) for t in first.turns] == [
        ("user", "乙肝会传染吗？"), ("assistant", "主要经血液和母婴传播。"),
        ("user", "日常吃饭会传染吗？"), ("assistant", "一般共餐不会传染。"),
    ]
    assert json.loads(first.meta)["fields"] == {"input": "", "id": 7}
    assert isinstance(second, DialogueRecord) and [t.role for t in second.turns] == ["user", "assistant"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"instruction": "前言 <user>: 你好", "output": "你好"}, "bad conversation"),
        ({"instruction": " <user>:  <bot>: 好的", "output": "嗯"}, "empty turn"),
        ({"instruction": " <user>: 你好"}, "missing field"),
        ({"instruction": ["<user>: 你好"], "output": "嗯"}, "bad field type"),
    ],
)
def test_inline_history_problems_are_rejected(tmp_path: Path, row: dict, reason: str) -> None:
    path = tmp_path / "chat.json"
    path.write_text(json.dumps([row], ensure_ascii=False), encoding="utf-8")
    (rejection,) = read_items(DialogueJsonReader(DialogueOptions(**INLINE)), path, "train", "zh")
    assert isinstance(rejection, Rejection) and rejection.reason == reason and rejection.locator == "chat-0"


def test_inline_options_are_checked() -> None:
    with pytest.raises(ValueError, match="markers: inline_field needs"):
        DialogueOptions(inline_field="instruction")
    with pytest.raises(ValueError, match="markers, reply_field: only read with inline_field; fields mode"):
        DialogueOptions(fields=FIELDS, markers={"<user>:": "user"}, reply_field="output")
    with pytest.raises(ValueError, match="not one of"):
        DialogueOptions(inline_field="instruction", markers={"<doc>:": "doctor"})
