"""PubMedQA reader: exact records from a tiny invented ori_pqal.json, bad input named by file/record and reason,
and the real test_ground_truth.json agreeing with final_decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.catalog import DeriveSplits, Source, SourceFile
from biohub.converters.convert import convert_source
from biohub.converters.formats.pubmedqa import PubMedQAOptions, PubMedQAReader
from biohub.schema import LabelSet, QARecord, validate
from tests.converters.conftest import json_text, read_items, write_text


def entry(**overrides) -> dict:
    base = {
        "QUESTION": "Does daily walking lower resting heart rate in older adults? ",
        "CONTEXTS": ["Walking is a common exercise.", "Heart rate fell by 4 beats per minute."],
        "LABELS": ["BACKGROUND", "RESULTS"],
        "MESHES": ["Walking", "Heart Rate"],
        "YEAR": "2015",
        "reasoning_required_pred": "yes",
        "reasoning_free_pred": "yes",
        "final_decision": "yes",
        "LONG_ANSWER": "Daily walking modestly lowers resting heart rate.",
    }
    base.update(overrides)
    return base


def write(tmp_path: Path, data, name: str = "ori_pqal.json") -> Path:
    return write_text(tmp_path, name, json_text(data, ascii_only=True))


def read(path: Path, **options) -> list:
    return read_items(PubMedQAReader(PubMedQAOptions(**options)), path)


def test_entry_becomes_a_yesno_record(tmp_path: Path) -> None:
    path = write(tmp_path, {"111": entry(), "222": entry(final_decision="maybe", YEAR=None)})
    first, second = read(path)
    assert isinstance(first, QARecord) and isinstance(second, QARecord)
    assert (first.id, first.document_id, first.type) == ("toy.train.111", "111", "yesno")
    assert first.question == "Does daily walking lower resting heart rate in older adults?"
    assert first.choices == ["yes", "no", "maybe"] and first.answer == ["yes"]
    assert first.context == "Walking is a common exercise.\nHeart rate fell by 4 beats per minute."
    meta = json.loads(first.meta)
    assert meta == {
        "context_labels": ["BACKGROUND", "RESULTS"],
        "long_answer": "Daily walking modestly lowers resting heart rate.",
        "meshes": ["Walking", "Heart Rate"],
        "year": "2015",
        "reasoning_required_pred": "yes",
        "reasoning_free_pred": "yes",
        "source": {"path": "ori_pqal.json", "record": "111"},
    }
    assert second.answer == ["maybe"] and json.loads(second.meta)["year"] is None
    assert validate(first, LabelSet(classes=("yes", "no", "maybe"))) == []


def test_label_prefixes_option(tmp_path: Path) -> None:
    (record,) = read(write(tmp_path, {"111": entry()}), label_prefixes=True, context_separator=" ")
    assert record.context == "BACKGROUND: Walking is a common exercise. RESULTS: Heart rate fell by 4 beats per minute."


def test_derived_split_from_an_id_file(tmp_path: Path) -> None:
    write(tmp_path, {"111": entry(), "222": entry(final_decision="no")})
    write(tmp_path, {"222": "no"}, name="test_ground_truth.json")
    source = Source(
        format="pubmedqa",
        splits={"all": (SourceFile("ori_pqal.json"),)},
        derive_splits=DeriveSplits(method="id_file", file=SourceFile("test_ground_truth.json"), in_split="test", rest="train"),
    )
    result = convert_source("toy", source, tmp_path, language="en", labels=LabelSet(), progress=False)
    assert [r.id for r in result.records["train"]] == ["toy.train.111"]
    assert [r.id for r in result.records["test"]] == ["toy.test.222"]


def test_answer_outside_the_choices_is_rejected_with_its_pmid(tmp_path: Path) -> None:
    path = write(tmp_path, {"111": entry(final_decision="probably"), "222": entry()})
    rejection, record = read(path)
    assert isinstance(rejection, Rejection) and isinstance(record, QARecord)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "111", "answer not among choices")
    assert "'probably'" in rejection.detail


def test_missing_required_field_is_rejected(tmp_path: Path) -> None:
    bad = entry()
    del bad["final_decision"]
    (rejection,) = read(write(tmp_path, {"333": bad}))
    assert (rejection.locator, rejection.reason) == ("333", "missing field") and "final_decision" in rejection.detail


def test_labels_not_parallel_to_contexts_are_rejected(tmp_path: Path) -> None:
    (rejection,) = read(write(tmp_path, {"444": entry(LABELS=["BACKGROUND"])}))
    assert (rejection.locator, rejection.reason) == ("444", "contexts and labels disagree")


def test_truncated_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n "111": {\n  "QUESTION": "Is it?",\n')
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:4" in str(err.value) and "invalid JSON" in str(err.value)


def test_a_json_array_is_not_the_format(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="keyed by PMID"):
        read(write(tmp_path, [entry()]))


def test_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "ori_pqal.json"
    path.write_bytes('{\n"1": {"QUESTION": "\u75c5?"}}'.encode("utf-16"))
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:1" in str(err.value) and "not valid utf-8" in str(err.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "absent.json")


def test_missing_split_id_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"111": entry()})
    source = Source(
        format="pubmedqa",
        splits={"all": (SourceFile("ori_pqal.json"),)},
        derive_splits=DeriveSplits(method="id_file", file=SourceFile("test_ground_truth.json")),
    )
    with pytest.raises(ConvertError) as err:
        convert_source("toy", source, tmp_path, language="en", labels=LabelSet(), progress=False)
    assert "test_ground_truth.json" in str(err.value) and "missing source file" in str(err.value)


@pytest.mark.real_corpora
def test_real_test_ground_truth_equals_final_decision(mirror: Path) -> None:
    data = json.loads((mirror / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    truth = json.loads((mirror / "pubmedqa" / "test_ground_truth.json").read_text(encoding="utf-8"))
    assert len(truth) == 500 and set(truth) <= set(data)
    assert {pmid: data[pmid]["final_decision"] for pmid in truth} == truth
