"""Delimited-text reader: each schema mapping, quoting, headers, and bad rows / files named by file:line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.catalog import Source, SourceFile
from biohub.converters.convert import convert_source
from biohub.converters.formats.csv_table import CsvOptions, CsvReader
from biohub.schema import DialogueRecord, InstructionRecord, LabelSet, PairsRecord, QARecord, TextRecord, validate
from tests.converters.conftest import read_items, write_text

TSV_NO_HEADER = {
    "delimiter": "\t", "header": False, "columns": ["sentence", "label"],
    "fields": {"text": "sentence", "label": "label"},
}


def write(tmp_path: Path, text: str, name: str = "train.tsv", encoding: str = "utf-8") -> Path:
    return write_text(tmp_path, name, text, encoding)


def read(path: Path, language: str = "en", **options) -> list:
    return read_items(CsvReader(CsvOptions(**options)), path, "train", language)


def test_text_schema_without_header(tmp_path: Path) -> None:
    path = write(tmp_path, "@GENE$ variants raise @DISEASE$ risk.\t1\nNo link of @GENE$ with @DISEASE$.\t0\n")
    first, second = read(path, **TSV_NO_HEADER)
    assert isinstance(first, TextRecord)
    assert (first.id, first.text, first.labels, first.labeled) == (
        "toy.train.train-0", "@GENE$ variants raise @DISEASE$ risk.", ["1"], True,
    )
    assert json.loads(first.meta) == {"source": {"path": "train.tsv", "line": 1}}
    assert (second.id, second.labels) == ("toy.train.train-1", ["0"])
    assert validate(first, LabelSet(classes=("0", "1"))) == []


def test_header_row_extra_columns_go_to_meta(tmp_path: Path) -> None:
    path = write(tmp_path, "index\tsentence\tlabel\n0\tA @GENE$ allele in @DISEASE$.\t1\n", "test.tsv")
    options = {**TSV_NO_HEADER, "header": True, "columns": ["index", "sentence", "label"]}
    (record,) = read(path, **options)
    assert record.id == "toy.train.test-0" and json.loads(record.meta) == {
        "index": "0",
        "source": {"path": "test.tsv", "line": 2},
    }


def test_bare_quotes_need_quoting_none(tmp_path: Path) -> None:
    path = write(tmp_path, '"Risk" alleles of @GENE$ in @DISEASE$ "cases".\t1\n')
    (record,) = read(path, quoting="none", **TSV_NO_HEADER)
    assert record.text == '"Risk" alleles of @GENE$ in @DISEASE$ "cases".'


def test_qa_schema_from_gb18030_csv_with_quoted_commas_and_newlines(tmp_path: Path) -> None:
    text = (
        'department,title,ask,answer\n消化科,胃痛怎么办,"饭后胃痛，偶尔反酸, 怎么办？","建议少食多餐。\n必要时就医。"\n'
        "内科,头晕,头晕乏力,注意休息\n"
    )
    path = write(tmp_path, text, "样例.csv", encoding="gb18030")
    options = {"encoding": "gb18030", "schema": "qa", "fields": {"question": "ask", "answer": "answer"}, "key_prefix": "neike"}
    first, second = read(path, language="zh", **options)
    assert isinstance(first, QARecord)
    assert (first.id, first.type, first.question, first.answer, first.context) == (
        "toy.train.neike-0",
        "open",
        "饭后胃痛，偶尔反酸, 怎么办？",
        ["建议少食多餐。\n必要时就医。"],
        "",
    )
    assert json.loads(first.meta) == {"department": "消化科", "title": "胃痛怎么办", "source": {"path": "样例.csv", "line": 2}}
    assert (second.id, json.loads(second.meta)["source"]["line"]) == ("toy.train.neike-1", 4)
    assert first.language == "zh" and validate(first) == []


def test_pairs_instruction_and_dialogue_schemas(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,s\nfirst sentence,second sentence,3.5\n", "p.csv")
    (pair,) = read(path, schema="pairs", fields={"text_1": "a", "text_2": "b", "score": "s"})
    assert isinstance(pair, PairsRecord) and (pair.text_1, pair.text_2, pair.score, pair.label) == (
        "first sentence", "second sentence", 3.5, "",
    )
    path = write(tmp_path, "q,i,o\nTranslate,发热,fever\n", "i.csv")
    (instruction,) = read(path, schema="instruction", fields={"instruction": "q", "input": "i", "output": "o"})
    assert isinstance(instruction, InstructionRecord) and (instruction.input, instruction.output) == ("发热", "fever")
    path = write(tmp_path, "u,d\nI cough.,Drink water.\n", "d.csv")
    (dialogue,) = read(path, schema="dialogue", fields={"user": "u", "assistant": "d"})
    assert isinstance(dialogue, DialogueRecord) and [(t.role, t.content) for t in dialogue.turns] == [
        ("user", "I cough."),
        ("assistant", "Drink water."),
    ]
    assert validate(dialogue) == [] and validate(instruction) == [] and validate(pair) == []


def test_unlabelled_file_and_label_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nfever and cough,flu|cold\n", "x.csv")
    (record,) = read(path, fields={"text": "text", "label": "label"}, label_separator="|", label_map={"flu": "influenza"})
    assert record.labels == ["influenza", "cold"]
    (unlabelled,) = read(path, fields={"text": "text"})
    assert unlabelled.labeled is False and unlabelled.labels == [] and json.loads(unlabelled.meta)["label"] == "flu|cold"


def test_wrong_column_count_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "one\t1\ntwo\t0\textra\nthree\t1\n")
    items = read(path, **TSV_NO_HEADER)
    assert [type(i).__name__ for i in items] == ["TextRecord", "Rejection", "TextRecord"]
    rejection = items[1]
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "2", "wrong column count")
    assert rejection.detail == "line 2: 3 columns, expected 2 (sentence, label)"


def test_empty_required_cell_and_bad_score_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "ok\t1\n \t0\n")
    (_, rejection) = read(path, **TSV_NO_HEADER)
    assert (rejection.locator, rejection.reason) == ("2", "empty required field") and "text (sentence)" in rejection.detail
    path = write(tmp_path, "ok\t1\n\t\n\n   \nlast\t0\n")
    items = read(path, **TSV_NO_HEADER)
    assert [(type(i).__name__, getattr(i, "locator", None)) for i in items] == [
        ("TextRecord", None),
        ("Rejection", "2"),
        ("TextRecord", None),
    ]
    assert items[2].id == "toy.train.train-2"  # blank lines 3-4 are skipped, the empty-celled row 2 is not
    path = write(tmp_path, "a,b,s\nx,y,high\n", "p.csv")
    (rejection,) = read(path, schema="pairs", fields={"text_1": "a", "text_2": "b", "score": "s"})
    assert (
        isinstance(rejection, Rejection)
        and (rejection.locator, rejection.reason) == ("2", "bad value")
        and "'high'" in rejection.detail
    )


def test_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n头晕,乏力\n", "x.csv", encoding="gb18030")
    with pytest.raises(ConvertError) as err:
        read(path, fields={"text": "a", "label": "b"})
    assert f"{path}:2" in str(err.value) and "not valid utf-8" in str(err.value)


def test_header_problems_and_malformed_quotes_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "text,tag\nx,1\n", "x.csv")
    with pytest.raises(ConvertError, match="lacks the mapped column"):
        read(path, fields={"text": "text", "label": "label"})
    with pytest.raises(ConvertError, match="differs from the configured columns"):
        read(path, columns=["text", "label"], fields={"text": "text", "label": "label"})
    path = write(tmp_path, 'text,label\n"unclosed quote,1\nx"y,0\n', "q.csv")
    with pytest.raises(ConvertError) as err:
        read(path, fields={"text": "text", "label": "label"})
    assert str(path) in str(err.value) and "malformed CSV" in str(err.value)
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "absent.csv", fields={"text": "text"})


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="needs a column for question"):
        CsvOptions(schema="qa", fields={"answer": "a"})
    with pytest.raises(ValueError, match="not fields of schema"):
        CsvOptions(fields={"text": "t", "score": "s"})
    with pytest.raises(ValueError, match="name the columns"):
        CsvOptions(header=False, fields={"text": "t"})


def test_field_mapped_to_an_unknown_column_is_an_option_error() -> None:
    with pytest.raises(ValueError, match=r"fields: label maps to column 'tag', which is not in columns \(sentence, label\)"):
        CsvOptions(header=False, columns=["sentence", "label"], fields={"text": "sentence", "label": "tag"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fields": {"text": "t", "label": "l"}, "qa_type": "factoid"}, r"qa_type: only read by schema qa; schema 'text'"),
        (
            {"schema": "qa", "fields": {"question": "q"}, "label_map": {"1": "yes"}},
            r"label_map: only read by schema text / pairs",
        ),
        (
            {"fields": {"text": "t"}, "label_map": {"1": "yes"}},
            r"label_map: applies to the label field, which fields does not map",
        ),
        ({"fields": {"text": "t"}, "label_separator": "|"}, r"label_separator: applies to the label field"),
        (
            {"schema": "pairs", "fields": {"text_1": "a", "text_2": "b", "label": "l"}, "label_separator": "|"},
            "label_separator: only",
        ),
        (
            {"schema": "qa", "fields": {"question": "q"}, "answer_separator": "|"},
            r"answer_separator: applies to the answer field",
        ),
        (
            {"schema": "qa", "fields": {"question": "q", "answer": "a"}, "choice_separator": "|"},
            r"choice_separator: applies to the choices",
        ),
    ],
)
def test_options_the_schema_would_ignore_are_errors(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CsvOptions(**options)


def test_options_the_schema_reads_are_accepted() -> None:
    CsvOptions(
        schema="qa", fields={"question": "q", "answer": "a", "choices": "c"}, answer_separator="|",
        choice_separator=";", qa_type="list",
    )
    CsvOptions(schema="pairs", fields={"text_1": "a", "text_2": "b", "label": "l"}, label_map={"0": "no"})
    CsvOptions(fields={"text": "t", "label": "l"}, label_map={"0": "no"}, label_separator="|")


def test_non_finite_scores_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,s\nx,y,nan\nx,y,inf\nx,y,-Infinity\nx,y,2.5\n", "p.csv")
    *rejections, record = read(path, schema="pairs", fields={"text_1": "a", "text_2": "b", "score": "s"})
    assert all(isinstance(r, Rejection) and r.reason == "bad value" for r in rejections)
    assert [r.locator for r in rejections] == ["2", "3", "4"]
    assert rejections[0].detail == "line 2: score 'nan' is not a finite number"
    assert isinstance(record, PairsRecord) and record.score == 2.5


def test_field_size_limit_is_set_when_reading_not_at_import(tmp_path: Path) -> None:
    import csv

    previous = csv.field_size_limit(1000)
    try:
        path = write(tmp_path, "text,label\n" + "x" * 5000 + ",1\n", "big.csv")
        (record,) = read(path, fields={"text": "text", "label": "label"})
        assert isinstance(record, TextRecord) and len(record.text) == 5000
    finally:
        csv.field_size_limit(previous)


def test_label_outside_the_declared_set_is_an_invalid_record(tmp_path: Path) -> None:
    write(tmp_path, "fine\t1\nodd\t2\n")
    source = Source(format="csv", options=TSV_NO_HEADER, splits={"train": (SourceFile("train.tsv"),)})
    result = convert_source("toy", source, tmp_path, language="en", labels=LabelSet(classes=("0", "1")), progress=False)
    (problem,) = result.problems
    assert (problem.path, problem.locator, problem.reason) == (str(tmp_path / "train.tsv"), "2", "invalid record")
    assert "label '2' not in the declared label set" in problem.detail
