"""The table reader's issue-20 variants: CRLF files without a header, a column as document id, term-pair score files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, ReadContext, Rejection
from biohub.converters.formats.csv_table import CsvOptions, CsvReader
from biohub.schema import LabelSet, PairsRecord
from tests.converters.conftest import read_items, write_text

PAIRS_NO_HEADER = {
    "header": False, "columns": ["dr_id", "question_1", "question_2", "label"], "schema": "pairs",
    "fields": {"text_1": "question_1", "text_2": "question_2", "label": "label", "document_id": "question_1"},
}
TERM_SCORES = {
    "delimiter": "\t", "quoting": "none", "header": False, "columns": ["term_1", "term_2", "score"], "schema": "pairs",
    "fields": {"text_1": "term_1", "text_2": "term_2", "score": "score"},
}


def read(path: Path, **options) -> list:
    return read_items(CsvReader(CsvOptions(**options)), path)


def test_crlf_csv_without_header_keys_rows_and_groups_them_by_document(tmp_path: Path) -> None:
    text = '1,Is a rash normal?,"Should I worry, doc, about a rash?",1\r\n1,Is a rash normal?,Is a cough normal?,0\r\n'
    first, second = read(write_text(tmp_path, "mqp.csv", text), **PAIRS_NO_HEADER)
    assert isinstance(first, PairsRecord) and isinstance(second, PairsRecord)
    assert (first.id, first.text_2, first.label) == ("toy.train.mqp-0", "Should I worry, doc, about a rash?", "1")
    assert first.document_id == second.document_id == "Is a rash normal?"
    assert json.loads(second.meta) == {"dr_id": "1", "source": {"path": "mqp.csv", "line": 2}}


def test_rows_sharing_a_document_share_a_derived_split(tmp_path: Path) -> None:
    rows = "".join(f"1,question {n // 2},rewrite {n},{n % 2}\r\n" for n in range(40))
    reader = CsvReader(CsvOptions(**PAIRS_NO_HEADER))
    ctx = ReadContext("toy", "all", "en", LabelSet(), split_of=lambda doc: "test" if doc.endswith(("1", "3")) else "train")
    records = list(reader.read([write_text(tmp_path, "mqp.csv", rows)], ctx))
    by_document: dict[str, set[str]] = {}
    for record in records:
        by_document.setdefault(record.document_id, set()).add(record.split)
    assert all(len(splits) == 1 for splits in by_document.values()) and len(by_document) == 20


def test_empty_document_column_is_rejected_with_its_line(tmp_path: Path) -> None:
    options = {**PAIRS_NO_HEADER, "fields": {**PAIRS_NO_HEADER["fields"], "document_id": "dr_id"}}
    (rejection,) = read(write_text(tmp_path, "mqp.csv", " ,a,b,1\r\n"), **options)
    assert isinstance(rejection, Rejection)
    assert (rejection.locator, rejection.reason) == ("1", "empty required field") and "dr_id" in rejection.detail


def test_term_pair_scores_and_bad_rows(tmp_path: Path) -> None:
    text = 'bind\tattach\t7.25\n"quoted" term\tother\t1\nshort\trow\ninhibit\tblock\tabout 8\nx\ty\tnan\n'
    good, quoted, short, wordy, nan = read(write_text(tmp_path, "Bio-SimVerb.txt", text), **TERM_SCORES)
    assert isinstance(good, PairsRecord) and (good.text_1, good.text_2, good.score, good.label) == ("bind", "attach", 7.25, "")
    assert isinstance(quoted, PairsRecord) and quoted.text_1 == '"quoted" term'
    assert [(r.locator, r.reason) for r in (short, wordy, nan)] == [
        ("3", "wrong column count"), ("4", "bad value"), ("5", "bad value"),
    ]


def test_document_id_must_name_a_listed_column() -> None:
    with pytest.raises(ValueError, match="not in columns"):
        CsvOptions(**{**PAIRS_NO_HEADER, "fields": {**PAIRS_NO_HEADER["fields"], "document_id": "doc"}})


# ------------------------------------------------------------------------------------------ .xlsx worksheets
def write_workbook(path: Path, rows: list[list[object]], sheet: str = "Sheet1", gap_before: int = 0) -> Path:
    """A small workbook of invented rows; ``gap_before``: leave sheet row ``gap_before`` empty."""
    from openpyxl import Workbook

    book = Workbook()
    worksheet = book.active
    worksheet.title = sheet
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            worksheet.cell(row=number + (1 if gap_before and number >= gap_before else 0), column=column, value=value)
    book.save(path)
    return path


QA_SHEET = {"sheet": "QA", "schema": "qa", "fields": {"question": "Question", "answer": "Answer"}}


def test_xlsx_rows_keep_sheet_row_numbers_and_pad_short_rows(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["Question", "Answer", "Section"], ["dose of exampletol?", "one tablet", "Dose"], ["and with food?", "yes", None], [],
        ["how long?", 7.0, None, None],
    ]
    path = write_workbook(tmp_path / "qa.xlsx", rows, "QA", gap_before=4)
    first, second, third = read(path, **QA_SHEET)
    assert (first.question, first.answer, json.loads(first.meta)) == (
        "dose of exampletol?", ["one tablet"], {"Section": "Dose", "source": {"path": "qa.xlsx", "line": 2}},
    )
    assert json.loads(second.meta)["Section"] == ""  # a row ends at its last filled cell; the rest are empty
    assert (third.answer, json.loads(third.meta)["source"]["line"]) == (["7"], 6)  # empty rows 4 and 5 skipped, numbered


def test_xlsx_summaries_as_t2t_and_an_empty_target_rejected(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["File", "CHQ", "Summary"], ["f1", "long question about a rash", "rash treatment?"], ["f2", "q", None],
    ]
    path = write_workbook(tmp_path / "sum.xlsx", rows)
    options = {"schema": "t2t", "fields": {"text_1": "CHQ", "text_2": "Summary", "document_id": "File"},
               "text_1_name": "question", "text_2_name": "summary"}
    record, rejection = read(path, **options)
    assert (record.text_1, record.text_2, record.text_1_name, record.text_2_name, record.document_id) == (
        "long question about a rash", "rash treatment?", "question", "summary", "f1",
    )
    assert isinstance(rejection, Rejection) and (rejection.locator, rejection.reason) == ("3", "bad value")


def test_xlsx_unknown_sheet_wide_row_and_broken_workbook(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "qa.xlsx", [["Question", "Answer"], ["q?", "a", "stray"]], "QA")
    (rejection,) = read(path, **QA_SHEET)
    assert isinstance(rejection, Rejection) and rejection.reason == "wrong column count"
    with pytest.raises(ConvertError, match="no sheet 'Other'; the workbook has QA"):
        read(path, **{**QA_SHEET, "sheet": "Other"})
    broken = write_text(tmp_path, "broken.xlsx", "not a workbook")
    with pytest.raises(ConvertError, match="broken.xlsx: not an .xlsx workbook"):
        read(broken, **QA_SHEET)


def test_text_1_name_outside_t2t_is_an_option_error() -> None:
    with pytest.raises(ValueError, match="text_1_name: only read by schema t2t"):
        CsvOptions(schema="text", fields={"text": "t"}, text_1_name="question")


# ------------------------------------------------------------------------------------------ JSON objects as rows
def test_json_lines_objects_are_rows_and_combine_joins_sections(tmp_path: Path) -> None:
    lines = [
        {"example_id": "1", "complaint": "咳嗽三天。", "history": "受凉后咳嗽。", "exam": "", "label": "风寒袭肺证",
         "options": ["a", "b"]},
        {"example_id": "2", "complaint": "胃痛。", "history": None, "exam": "舌淡。", "label": "脾胃虚寒证", "options": []},
        ["not", "an", "object"],
        {"example_id": "4", "complaint": "头晕。", "exam": "", "label": "x"},
    ]
    path = write_text(tmp_path, "sample.json", "".join(json.dumps(line, ensure_ascii=False) + "\r\n" for line in lines))
    options = {"combine": {"record": ["complaint", "history", "exam"]},
               "fields": {"text": "record", "label": "label", "document_id": "example_id"}}
    first, second, not_object, missing = read(path, **options)
    assert (first.text, first.labels, first.document_id) == ("咳嗽三天。\n受凉后咳嗽。", ["风寒袭肺证"], "1")
    meta = json.loads(first.meta)
    assert meta["options"] == '["a", "b"]' and meta["source"] == {"path": "sample.json", "line": 1}
    assert second.text == "胃痛。\n舌淡。"  # null and empty sections are left out
    assert [(r.locator, r.reason) for r in (not_object, missing)] == [("3", "not a JSON object"), ("4", "missing field")]
    assert "no history" in missing.detail


def test_combine_must_name_listed_columns() -> None:
    with pytest.raises(ValueError, match="combine: record needs columns from columns"):
        CsvOptions(header=False, columns=["a", "b"], combine={"record": ["a", "c"]}, fields={"text": "record"})


def test_score_decimals_rounds_means_written_to_full_precision(tmp_path: Path) -> None:
    path = write_text(tmp_path, "rel.txt", "a\tb\t1.6666666666666667\nc\td\t2\n")
    first, second = read(path, **TERM_SCORES, score_decimals=4)
    assert (first.score, second.score) == (1.6667, 2.0)
    with pytest.raises(ValueError, match="score_decimals: applies to the score field"):
        CsvOptions(**{**TERM_SCORES, "fields": {"text_1": "term_1", "text_2": "term_2"}}, score_decimals=2)


def test_a_workbook_that_is_a_zip_bomb_is_refused_before_openpyxl_reads_it(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("xl/worksheets/sheet1.xml", b"<row/>" * (4 << 20))
    with pytest.raises(ConvertError, match=r"bomb.xlsx: workbook refused: .* \(a zip bomb\?\); refused"):
        read(path, **QA_SHEET)
