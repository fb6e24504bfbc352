"""The table reader's issue-20 variants: CRLF files without a header, a column as document id, term-pair score files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ReadContext, Rejection
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
