"""CBLUE readers (cblue-ner, cblue-re, cblue-cls, cblue-pairs): exact records from tiny invented fixtures, each
bad-input case named by file, record/line and reason, the field-mapping CLI path, and checks on the real files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.catalog import Source, SourceFile, load_catalog
from biohub.converters.convert import convert_entry, convert_source
from biohub.converters.formats.cblue import (
    CblueClsOptions,
    CblueClsReader,
    CblueNerOptions,
    CblueNerReader,
    CbluePairsOptions,
    CbluePairsReader,
    CblueReOptions,
    CblueReReader,
)
from biohub.schema import KBRecord, LabelSet, PairsRecord, TextRecord, validate
from tests.converters.conftest import json_text, read_items, write_text


def write(tmp_path: Path, name: str, data: Any, *, lines: bool = False, encoding: str = "utf-8") -> Path:
    """Write ``data`` as a JSON array (default), JSON Lines (``lines``) or as given text (a str)."""
    return write_text(tmp_path, name, json_text(data, lines=lines, indent=2), encoding)


def read(reader, paths: list[Path], split: str = "validation") -> list:
    return read_items(reader, paths, split, "zh")


def kinds(items: list) -> list[str]:
    return [type(i).__name__ for i in items]


# --------------------------------------------------------------------------------------------- cblue-ner
NER = [
    {
        "text": "患儿发热三天伴咳嗽。",
        "entities": [
            {"start_idx": 2, "end_idx": 3, "type": "sym", "entity": "发热"},
            {"start_idx": 7, "end_idx": 8, "type": "sym", "entity": "咳嗽"},
        ],
    },
    {
        "text": "行肺部CT检查。",
        "entities": [
            {"start_idx": 1, "end_idx": 2, "type": "bod", "entity": "肺部"},
            {"start_idx": 1, "end_idx": 4, "type": "pro", "entity": "肺部CT"},
        ],
    },
]


def ner(tmp_path: Path, data: Any, split: str = "validation", name: str = "CMeEE_dev.json", **options) -> list:
    return read(CblueNerReader(CblueNerOptions(**options)), [write(tmp_path, name, data)], split)


def test_ner_inclusive_end_idx_and_nested_mentions(tmp_path: Path) -> None:
    first, second = ner(tmp_path, NER, passage_type="sentence")
    assert isinstance(first, KBRecord) and isinstance(second, KBRecord)
    assert (first.id, first.document_id, first.split, first.labeled) == ("toy.validation.0", "0", "validation", True)
    assert [(p.id, p.type, p.text, p.offsets) for p in first.passages] == [
        ("toy.validation.0.p0", "sentence", ["患儿发热三天伴咳嗽。"], [(0, 10)])
    ]
    assert [(e.id, e.type, e.text, e.offsets) for e in first.entities] == [
        ("toy.validation.0.e0", "sym", ["发热"], [(2, 4)]),
        ("toy.validation.0.e1", "sym", ["咳嗽"], [(7, 9)]),
    ]
    assert [(e.type, e.text, e.offsets) for e in second.entities] == [("bod", ["肺部"], [(1, 3)]), ("pro", ["肺部CT"], [(1, 5)])]
    assert json.loads(second.meta) == {"source": {"path": "CMeEE_dev.json", "record": 1}}
    assert validate(second, LabelSet(entity_types=("sym", "bod", "pro"))) == []


def test_ner_json_lines_with_ids_also_work(tmp_path: Path) -> None:
    data = [{"id": "a7", **NER[0]}, {**NER[1], "source_note": "x"}]
    first, second = read(CblueNerReader(), [write(tmp_path, "CMeEE_dev.json", data, lines=True)])
    assert (first.id, first.document_id) == ("toy.validation.a7", "a7")
    assert second.id == "toy.validation.2"  # no id: the JSON Lines line number
    assert json.loads(second.meta) == {"source": {"path": "CMeEE_dev.json", "line": 2}, "source_note": "x"}
    assert first.passages[0].type == "text"


def test_ner_unlabelled_test_records_are_kept_without_labels(tmp_path: Path) -> None:
    (record,) = ner(tmp_path, [{"text": "小儿腹泻。"}], split="test", name="CMeEE_test.json")
    assert isinstance(record, KBRecord) and record.labeled is False and record.entities == []
    assert validate(record) == []


def test_ner_record_without_entities_outside_the_test_split_is_rejected(tmp_path: Path) -> None:
    (rejection,) = ner(tmp_path, [{"text": "小儿腹泻。"}])
    assert isinstance(rejection, Rejection)
    assert (Path(rejection.path).name, rejection.locator, rejection.reason) == ("CMeEE_dev.json", "record 0", "missing labels")
    assert "no 'entities' field in split 'validation'" in rejection.detail


def test_ner_end_idx_out_of_range_drops_the_mention(tmp_path: Path) -> None:
    data = [
        {
            "text": "发热。",
            "entities": [
                {"start_idx": 0, "end_idx": 1, "type": "sym", "entity": "发热"},
                {"start_idx": 1, "end_idx": 3, "type": "sym", "entity": "热。x"},
            ],
        }
    ]
    defect, record = ner(tmp_path, data)
    assert isinstance(defect, Defect) and isinstance(record, KBRecord)
    assert (Path(defect.path).name, defect.locator, defect.reason, defect.split) == (
        "CMeEE_dev.json", "record 0", "offsets out of range", "validation",
    )
    assert "mention 1: [1, 3] (inclusive) outside the 3-character text" in defect.detail
    assert [e.id for e in record.entities] == ["toy.validation.0.e0"]


def test_ner_entity_text_disagreeing_with_offsets_drops_the_mention(tmp_path: Path) -> None:
    data = [{"text": "患儿发热。", "entities": [{"start_idx": 2, "end_idx": 3, "type": "sym", "entity": "咳嗽"}]}]
    defect, record = ner(tmp_path, data)
    assert (defect.locator, defect.reason) == ("record 0", "mention text disagrees with its offsets")
    assert "entity '咳嗽' but the text at [2, 3] is '发热'" in defect.detail
    assert record.entities == [] and record.labeled


def test_ner_malformed_and_duplicate_mentions_are_defects(tmp_path: Path) -> None:
    mention = {"start_idx": 0, "end_idx": 1, "type": "sym", "entity": "发热"}
    data = [{"text": "发热。", "entities": [mention, {"start_idx": "0", "end_idx": 1, "type": "sym"}, dict(mention), "x"]}]
    items = ner(tmp_path, data)
    assert [i.reason for i in items if isinstance(i, Defect)] == ["malformed mention", "duplicate mention", "malformed mention"]
    assert len(items[-1].entities) == 1


def test_ner_missing_text_field_is_rejected(tmp_path: Path) -> None:
    _record, rejection = ner(tmp_path, [NER[0], {"entities": []}])
    assert isinstance(rejection, Rejection)
    assert (rejection.locator, rejection.reason) == ("record 1", "missing field")
    assert "CMeEE_dev.json record 1: no 'text' field" in rejection.detail


def test_ner_bad_record_shapes_are_rejected(tmp_path: Path) -> None:
    items = ner(tmp_path, [["not", "an", "object"], {"text": "  "}, {"text": 3}, {"text": "发热", "entities": {}}])
    assert [i.reason for i in items] == ["not a JSON object", "empty text", "bad field type", "bad entities field"]
    assert [i.locator for i in items] == ["record 0", "record 1", "record 2", "record 3"]


def test_ner_truncated_json_names_file_and_line(tmp_path: Path) -> None:
    text = json.dumps(NER, ensure_ascii=False, indent=2)
    path = write(tmp_path, "CMeEE_dev.json", text[: len(text) // 2])
    with pytest.raises(ConvertError) as err:
        read(CblueNerReader(), [path])
    assert f"{path}:" in str(err.value) and "invalid JSON" in str(err.value)
    assert err.value.line == text[: len(text) // 2].count("\n") + 1


def test_ner_truncated_json_lines_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "CMeEE_dev.json", json.dumps(NER[0], ensure_ascii=False) + "\n" + '{"text": "发')
    with pytest.raises(ConvertError) as err:
        read(CblueNerReader(), [path])
    assert f"{path}:2" in str(err.value) and "invalid JSON Lines record" in str(err.value)


def test_ner_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "CMeEE_dev.json", NER, encoding="gb18030")
    with pytest.raises(ConvertError) as err:
        read(CblueNerReader(), [path])
    assert f"{path}:3" in str(err.value) and "not valid utf-8" in str(err.value)


def test_ner_missing_file_and_missing_split_file(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="file not found"):
        read(CblueNerReader(), [tmp_path / "CMeEE_dev.json"])
    source = Source("cblue-ner", {"test": (SourceFile("cmeee/CMeEE_test.json"),)})
    with pytest.raises(ConvertError) as err:
        convert_source("toy", source, tmp_path, language="zh", labels=LabelSet(), progress=False)
    assert "cmeee/CMeEE_test.json" in str(err.value) and "missing source file" in str(err.value)


def test_ner_type_not_in_the_declared_set_is_rejected_by_validation(tmp_path: Path) -> None:
    write(tmp_path, "CMeEE_dev.json", NER)
    source = Source("cblue-ner", {"validation": (SourceFile("CMeEE_dev.json"),)})
    result = convert_source("toy", source, tmp_path, language="zh", labels=LabelSet(entity_types=("sym", "bod")), progress=False)
    (rejection,) = result.problems
    assert (rejection.path, rejection.locator, rejection.reason) == (str(tmp_path / "CMeEE_dev.json"), "1", "invalid record")
    assert "type 'pro' not in the declared entity types" in rejection.detail
    assert result.ledger["validation"].converted == 1


def test_ner_several_files_in_one_split_keep_keys_unique(tmp_path: Path) -> None:
    one, two = write(tmp_path, "a.json", NER[:1]), write(tmp_path, "b.json", NER[:1])
    records = read(CblueNerReader(), [one, two])
    assert [r.id for r in records] == ["toy.validation.a-0", "toy.validation.b-0"]


def test_ner_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    data = [{"id": "s1", **NER[0]}, {"id": "s1", **NER[1]}]
    _record, rejection = ner(tmp_path, data)
    assert (rejection.locator, rejection.reason) == ("record 1", "duplicate id")


# --------------------------------------------------------------------------------------------- cblue-re
SCHEMAS = [
    {"subject_type": "疾病", "predicate": "临床表现", "object_type": "症状"},
    {"subject_type": "疾病", "predicate": "药物治疗", "object_type": "药物"},
    {"subject_type": "疾病", "predicate": "同义词", "object_type": "疾病"},
]


def spo(
    subject: str, predicate: str, obj: str, subject_type: str = "疾病", object_type: str = "症状", combined: bool = False
) -> dict:
    return {
        "Combined": combined,
        "predicate": predicate,
        "subject": subject,
        "subject_type": subject_type,
        "object": {"@value": obj},
        "object_type": {"@value": object_type},
    }


RE = [
    {
        "text": "肺炎@肺炎患儿常见发热，可用阿莫西林治疗。",
        "spo_list": [
            spo("肺炎", "临床表现", "发热", combined=True),
            spo("肺炎", "药物治疗", "阿莫西林", object_type="药物"),
        ],
    },
]


def re_read(tmp_path: Path, data: Any, split: str = "validation", listed: bool = True, **options) -> list:
    data_path = write(tmp_path, "CMeIE_dev.json", data, lines=True)
    schema_path = write(tmp_path, "53_schemas.json", SCHEMAS, lines=True)
    options.setdefault("schemas", "53_schemas.json")
    return read(CblueReReader(CblueReOptions(**options)), [data_path, schema_path] if listed else [data_path], split)


def test_re_places_arguments_at_their_first_occurrence(tmp_path: Path) -> None:
    (record,) = re_read(tmp_path, RE)
    assert isinstance(record, KBRecord) and record.id == "toy.validation.1"
    assert [(e.id, e.type, e.text, e.offsets) for e in record.entities] == [
        ("toy.validation.1.e0", "疾病", ["肺炎"], [(0, 2)]),  # the first of the two occurrences
        ("toy.validation.1.e1", "症状", ["发热"], [(9, 11)]),
        ("toy.validation.1.e2", "药物", ["阿莫西林"], [(14, 18)]),
    ]
    assert [(r.id, r.type, r.arg1_id, r.arg2_id) for r in record.relations] == [
        ("toy.validation.1.r0", "临床表现", "toy.validation.1.e0", "toy.validation.1.e1"),
        ("toy.validation.1.r1", "药物治疗", "toy.validation.1.e0", "toy.validation.1.e2"),
    ]
    assert json.loads(record.meta) == {
        "combined": {"toy.validation.1.r0": True, "toy.validation.1.r1": False},
        "source": {"path": "CMeIE_dev.json", "line": 1},
    }
    assert validate(record, LabelSet(entity_types=("疾病", "症状", "药物"), relation_types=("临床表现", "药物治疗"))) == []


def test_re_one_entity_per_span_and_type(tmp_path: Path) -> None:
    data = [{"text": "川崎病又称皮肤黏膜淋巴结综合征。", "spo_list": [
        spo("川崎病", "同义词", "皮肤黏膜淋巴结综合征", object_type="疾病"),
        spo("川崎病", "同义词", "川崎病", object_type="疾病"),
    ]}]
    (record,) = re_read(tmp_path, data)
    assert [(e.type, e.offsets) for e in record.entities] == [("疾病", [(0, 3)]), ("疾病", [(5, 15)])]
    assert [(r.arg1_id, r.arg2_id) for r in record.relations] == [
        ("toy.validation.1.e0", "toy.validation.1.e1"),
        ("toy.validation.1.e0", "toy.validation.1.e0"),
    ]


def test_re_schema_file_is_found_beside_the_data(tmp_path: Path) -> None:
    (record,) = re_read(tmp_path, RE, listed=False)
    assert len(record.relations) == 2


def test_re_folder_input_does_not_read_the_schema_table_as_records(tmp_path: Path) -> None:
    re_read(tmp_path, RE)
    (record,) = read(CblueReReader(CblueReOptions(schemas="53_schemas.json")), [tmp_path])
    assert len(record.relations) == 2


def test_re_missing_schema_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConvertError) as err:
        re_read(tmp_path, RE, listed=False, schemas="absent_schemas.json")
    assert "absent_schemas.json" in str(err.value) and "schema file not found" in str(err.value)


def test_re_argument_not_in_text_drops_the_relation(tmp_path: Path) -> None:
    data = [{"text": "肺炎患儿常见发热。", "spo_list": [spo("肺炎", "临床表现", "咳嗽"), spo("肺炎", "临床表现", "发热")]}]
    defect, record = re_read(tmp_path, data)
    assert isinstance(defect, Defect)
    assert (Path(defect.path).name, defect.locator, defect.reason) == ("CMeIE_dev.json", "1", "argument not found in text")
    assert "CMeIE_dev.json:1 triple 0: object '咳嗽' does not occur verbatim" in defect.detail
    assert [r.id for r in record.relations] == ["toy.validation.1.r1"]


def test_re_triple_outside_the_schemas_is_a_defect(tmp_path: Path) -> None:
    data = [{"text": "肺炎患儿常见发热。", "spo_list": [spo("肺炎", "病因", "发热")]}]
    defect, record = re_read(tmp_path, data)
    assert (defect.reason, defect.locator) == ("triple not in the schemas", "1")
    assert "(疾病, 病因, 症状)" in defect.detail and record.relations == []


def test_re_malformed_triple_is_a_defect(tmp_path: Path) -> None:
    data = [{"text": "肺炎患儿常见发热。", "spo_list": [{"predicate": "临床表现", "subject": "肺炎"}]}]
    defect, record = re_read(tmp_path, data)
    assert defect.reason == "malformed triple" and record.relations == [] and record.entities == []


def test_re_unlabelled_test_records_and_missing_text(tmp_path: Path) -> None:
    record, rejection = re_read(tmp_path, [{"text": "痔@肛镜检查简便。"}, {"spo_list": []}], split="test")
    assert isinstance(record, KBRecord) and not record.labeled and record.relations == []
    assert (rejection.locator, rejection.reason) == ("2", "missing field")


def test_re_bad_schema_entry_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "53_schemas.json", SCHEMAS + [{"predicate": "病因"}], lines=True)
    with pytest.raises(ConvertError) as err:
        read(CblueReReader(CblueReOptions(schemas="53_schemas.json")), [write(tmp_path, "CMeIE_dev.json", RE, lines=True), path])
    assert f"{path}:4" in str(err.value)


def test_re_predicate_not_declared_is_rejected_by_validation(tmp_path: Path) -> None:
    write(tmp_path, "CMeIE_dev.json", RE, lines=True)
    source = Source("cblue-re", {"validation": (SourceFile("CMeIE_dev.json"),)})
    labels = LabelSet(entity_types=("疾病", "症状", "药物"), relation_types=("临床表现",))
    result = convert_source("toy", source, tmp_path, language="zh", labels=labels, progress=False)
    (rejection,) = result.problems
    assert (rejection.path, rejection.locator, rejection.reason) == (str(tmp_path / "CMeIE_dev.json"), "1", "invalid record")
    assert "type '药物治疗' not in the declared relation types" in rejection.detail


# --------------------------------------------------------------------------------------------- cblue-cls
CLS = [
    {"id": "s1", "label": "Age", "text": " 年龄18~65岁；"},
    {"id": "s2", "label": "Consent", "text": "签署知情同意书。", "note": "x"},
]


def cls(tmp_path: Path, data: Any, split: str = "train", name: str = "CHIP-CTC_train.json", **options) -> list:
    return read(CblueClsReader(CblueClsOptions(**options)), [write(tmp_path, name, data)], split)


def test_cls_records_keep_text_label_and_extras(tmp_path: Path) -> None:
    first, second = cls(tmp_path, CLS)
    assert isinstance(first, TextRecord)
    assert (first.id, first.document_id, first.text, first.labels, first.labeled) == (
        "toy.train.s1", "s1", " 年龄18~65岁；", ["Age"], True,
    )
    assert json.loads(second.meta) == {"note": "x", "source": {"path": "CHIP-CTC_train.json", "record": 1}}
    assert validate(first, LabelSet(classes=("Age", "Consent"))) == []


def test_cls_field_mapping_for_kuake_qic(tmp_path: Path) -> None:
    data = [{"id": "s1", "query": "感冒吃什么药", "label": "治疗方案"}]
    (record,) = cls(tmp_path, data, fields={"text": "query"})
    assert (record.text, record.labels) == ("感冒吃什么药", ["治疗方案"])
    assert json.loads(record.meta) == {"source": {"path": "CHIP-CTC_train.json", "record": 0}}


def test_cls_unknown_field_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown field name"):
        CblueClsReader.from_mapping({"fields": {"query": "text"}})


def test_cls_unlabelled_test_split(tmp_path: Path) -> None:
    (record,) = cls(tmp_path, [{"id": "s1", "query": "头疼怎么办"}], split="test", fields={"text": "query"})
    assert record.labeled is False and record.labels == [] and validate(record) == []


def test_cls_bad_labels_are_rejected(tmp_path: Path) -> None:
    data = [
        {"id": "s1", "text": "甲"}, {"id": "s2", "text": "乙", "label": ""}, {"id": "s3", "text": "丙", "label": {"x": 1}},
        {"id": "s4", "text": "丁", "label": 3},
    ]
    items = cls(tmp_path, data)
    assert kinds(items) == ["Rejection", "Rejection", "Rejection", "TextRecord"]
    assert [(i.locator, i.reason) for i in items[:3]] == [
        ("record 0", "missing labels"),
        ("record 1", "empty label"),
        ("record 2", "bad label"),
    ]
    assert items[3].labels == ["3"]


def test_cls_list_label_is_multi_label(tmp_path: Path) -> None:
    (record,) = cls(tmp_path, [{"id": "s1", "text": "甲", "label": ["Age", "Gender"]}], multi_label=True)
    assert record.labels == ["Age", "Gender"] and validate(record, LabelSet(multi_label=True)) == []


def test_cls_missing_text_is_rejected(tmp_path: Path) -> None:
    (rejection,) = cls(tmp_path, [{"id": "s9", "query": "头疼", "label": "其他"}])
    assert (Path(rejection.path).name, rejection.locator, rejection.reason) == (
        "CHIP-CTC_train.json",
        "record 0",
        "missing field",
    )
    assert "no 'text' field" in rejection.detail


def test_cls_label_not_in_the_declared_set_is_rejected_by_validation(tmp_path: Path) -> None:
    write(tmp_path, "CHIP-CTC_train.json", CLS)
    source = Source("cblue-cls", {"train": (SourceFile("CHIP-CTC_train.json"),)})
    result = convert_source("toy", source, tmp_path, language="zh", labels=LabelSet(classes=("Age",)), progress=False)
    (rejection,) = result.problems
    assert (rejection.path, rejection.locator, rejection.reason) == (str(tmp_path / "CHIP-CTC_train.json"), "1", "invalid record")
    assert "label 'Consent' not in the declared label set" in rejection.detail


def test_cls_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "CHIP-CTC_train.json", CLS, encoding="utf-16")
    with pytest.raises(ConvertError) as err:
        read(CblueClsReader(), [path])
    assert str(path) in str(err.value) and "not valid utf-8" in str(err.value)


# --------------------------------------------------------------------------------------------- cblue-pairs
PAIRS = [
    {"id": "1", "text1": "糖尿病能吃西瓜吗", "text2": "糖尿病人可以吃西瓜吗", "label": "1", "category": "diabetes"},
    {"id": "2", "text1": "糖尿病能吃西瓜吗", "text2": "糖尿病足怎么护理", "label": "0", "category": "diabetes"},
]


def test_pairs_records_with_category_in_meta(tmp_path: Path) -> None:
    first, second = read(CbluePairsReader(), [write(tmp_path, "CHIP-STS_train.json", PAIRS)], "train")
    assert isinstance(first, PairsRecord)
    assert (first.id, first.text_1, first.text_2, first.label, first.score, first.labeled) == (
        "toy.train.1", "糖尿病能吃西瓜吗", "糖尿病人可以吃西瓜吗", "1", None, True,
    )
    assert json.loads(second.meta) == {"category": "diabetes", "source": {"path": "CHIP-STS_train.json", "record": 1}}
    assert validate(second, LabelSet(classes=("0", "1"))) == []


def test_pairs_field_mapping_and_unlabelled_test(tmp_path: Path) -> None:
    data = [{"id": "s1", "query1": "头疼", "query2": "头痛"}]
    options = CbluePairsOptions(fields={"text_1": "query1", "text_2": "query2"})
    assert options.fields == {"text_1": "query1", "text_2": "query2", "label": "label", "id": "id"}
    (record,) = read(CbluePairsReader(options), [write(tmp_path, "KUAKE-QQR_test.json", data)], "test")
    assert (record.text_1, record.text_2, record.label, record.labeled) == ("头疼", "头痛", "", False)
    assert validate(record) == []


def test_pairs_missing_second_text_and_odd_labels(tmp_path: Path) -> None:
    data = [
        {"id": "1", "text1": "甲"},
        {"id": "2", "text1": "甲", "text2": "乙", "label": None},
        {"id": "3", "text1": "甲", "text2": "乙", "label": "NA"},
    ]
    items = read(CbluePairsReader(), [write(tmp_path, "CHIP-STS_dev.json", data)])
    assert [(i.locator, i.reason) for i in items[:2]] == [("record 0", "missing field"), ("record 1", "missing labels")]
    assert "no 'text2' field" in items[0].detail
    assert items[2].label == "NA"  # kept by the reader; the declared label set rejects it:
    assert validate(items[2], LabelSet(classes=("0", "1", "2"))) == ["label 'NA' not in the declared label set"]


def test_pairs_truncated_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "CHIP-STS_train.json", '[\n  {"id": "1", "text1": "甲",\n')
    with pytest.raises(ConvertError) as err:
        read(CbluePairsReader(), [path])
    assert f"{path}:" in str(err.value) and "invalid JSON" in str(err.value) and err.value.line == 3


def test_pairs_cli_with_field_mapping_infers_labels(tmp_path: Path) -> None:
    data = [
        {"id": "q1", "query": "小孩发烧怎么办", "title": "儿童发热的处理方法", "label": "relevant"},
        {"id": "q2", "query": "小孩发烧怎么办", "title": "成人高血压用药", "label": "irrelevant"},
        {"id": "q3", "query": "胃痛吃什么药", "title": "胃痛常用药物", "label": "relevant"},
    ]
    path = write(tmp_path, "toy_train.json", data)
    out = tmp_path / "out"
    args = ["convert", "--format", "cblue-pairs", "--input", str(path), "--name", "toyqq", "--lang", "zh",
            "--field", "text_1=query", "--field", "text_2=title", "--out", str(out), "--strict"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out / "toyqq" / "train.parquet").to_pylist()
    assert [(r["id"], r["text_1"], r["text_2"], r["label"]) for r in rows] == [
        ("toyqq.train.q1", "小孩发烧怎么办", "儿童发热的处理方法", "relevant"),
        ("toyqq.train.q2", "小孩发烧怎么办", "成人高血压用药", "irrelevant"),
        ("toyqq.train.q3", "胃痛吃什么药", "胃痛常用药物", "relevant"),
    ]
    ledger = json.loads((out / "ledger.json").read_text(encoding="utf-8"))
    train = ledger["toyqq"]["train"]
    assert (train["read"], train["converted"], train["rejected"]) == (3, 3, 0)
    assert train["counts"]["labels"] == {"irrelevant": 1, "relevant": 2}
    info = json.loads((out / "toyqq" / "info.json").read_text(encoding="utf-8"))
    assert info["labels"]["classes"] == ["irrelevant", "relevant"]
    assert info["options"]["fields"] == {"text_1": "query", "text_2": "title"}


# --------------------------------------------------------------------------------------------- real corpora
@pytest.mark.real_corpora
def test_cmeie_relations_agree_with_the_source_triples(mirror: Path) -> None:
    """Every dev triple becomes one relation whose argument texts, types and predicate are the triple's."""
    result = convert_entry(load_catalog()["cmeie"], mirror, progress=False)
    records = result.records["validation"]
    converted: Counter[tuple] = Counter()
    duplicates = self_relations = 0
    for record in records:
        entities = {e.id: e for e in record.entities}
        seen: set[tuple] = set()
        for relation in record.relations:
            subject, obj = entities[relation.arg1_id], entities[relation.arg2_id]
            key = (record.document_id, subject.text[0], subject.type, relation.type, obj.text[0], obj.type)
            duplicates += key in seen
            seen.add(key)
            self_relations += relation.arg1_id == relation.arg2_id
            converted[key] += 1
    source: Counter[tuple] = Counter()
    lines = (mirror / "cmeie" / "CMeIE_dev.json").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        for t in json.loads(line)["spo_list"]:
            triple = (t["subject"], t["subject_type"], t["predicate"], t["object"]["@value"], t["object_type"]["@value"])
            source[(str(number), *triple)] += 1
    dropped = sum(result.ledger["validation"].defects.values())
    assert sum(converted.values()) + dropped == 10626 and dropped == 0
    assert converted == source
    assert (duplicates, self_relations) == (13, 4)  # upstream quirks kept as given (see the catalog notes)


@pytest.mark.real_corpora
def test_cmeee_mentions_agree_with_the_source(mirror: Path) -> None:
    result = convert_entry(load_catalog()["cmeee"], mirror, progress=False)
    data = json.loads((mirror / "cmeee" / "CMeEE_dev.json").read_text(encoding="utf-8"))
    got = Counter(
        (r.document_id, e.offsets[0][0], e.offsets[0][1] - 1, e.type, e.text[0])
        for r in result.records["validation"]
        for e in r.entities
    )
    want = Counter(
        (str(i), m["start_idx"], m["end_idx"], m["type"], m["entity"]) for i, d in enumerate(data) for m in d["entities"]
    )
    assert got == want and sum(got.values()) == 20300
    assert not any(r.labeled for r in result.records["test"])


@pytest.mark.real_corpora
@pytest.mark.parametrize("name", ["chip_sts", "kuake_qqr"])
def test_pair_labels_are_exactly_the_declared_ones(mirror: Path, name: str) -> None:
    entry = load_catalog()[name]
    result = convert_entry(entry, mirror, progress=False)
    for split in ("train", "validation"):
        assert set(result.ledger[split].counts["labels"]) == set(entry.labels.classes)
    assert result.rejected == 0


# --------------------------------------------------------------------------------------------- demo files
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mirror"


@pytest.mark.parametrize("name", ["cmeee", "cmeie", "chip_ctc", "chip_sts", "kuake_qqr", "kuake_qic"])
def test_demo_example_files_convert_cleanly(name: str) -> None:
    result = convert_entry(load_catalog()[name], EXAMPLES, verify=False, progress=False)
    assert result.problems == [] and all(ledger.converted for ledger in result.ledger.values())
