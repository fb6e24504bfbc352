"""BIOSSES Word-table reader: tables built with python-docx in the test, pairing and score problems named by pair number."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.formats.biosses_docx import BiossesDocxOptions, BiossesDocxReader
from biohub.schema import PairsRecord, validate
from tests.converters.conftest import read_items

PAIRS_HEADER = ["", "Sentence 1", "Sentence 2"]
SCORES_HEADER = ["Sentence No", "Annotator A", "Annotator B", "Annotator C", "Annotator D", "Annotator E"]


def table(path: Path, rows: list[list[str]]) -> Path:
    document = docx.Document()
    grid = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
    for row, values in zip(grid.rows, rows):
        for cell, value in zip(row.cells, values):
            cell.text = value
    document.save(str(path))
    return path


def files(tmp_path: Path, pairs: list[list[str]], scores: list[list[str]]) -> list[Path]:
    return [
        table(tmp_path / "Annotation-Pairs.docx", [PAIRS_HEADER, *pairs]),
        table(tmp_path / "Annotator-Scores.docx", [SCORES_HEADER, *scores]),
    ]


def read(paths: list[Path], **options) -> list:
    return read_items(BiossesDocxReader(BiossesDocxOptions(**options)), paths, "all")


PAIR_1 = ["1 ", "Velkin binds the\xa0VK3 receptor.\n", "The VK3 receptor is bound by velkin."]
PAIR_2 = ["2", "Torvamib is cytotoxic.", "Mice were housed in cages."]


def test_pairs_get_the_mean_score_and_individual_scores(tmp_path: Path) -> None:
    paths = files(tmp_path, [PAIR_1, PAIR_2], [["1", "4", "4", "3", "4", "4"], ["2", "0", "1", "0", "0", "0"]])
    first, second = read(list(reversed(paths)))  # told apart by header, not by order or name
    assert isinstance(first, PairsRecord) and first.id == "toy.all.1" and first.document_id == "1"
    assert (first.text_1, first.text_2) == ("Velkin binds the VK3 receptor.", "The VK3 receptor is bound by velkin.")
    assert first.score == pytest.approx(3.8) and first.label == ""
    meta = json.loads(first.meta)
    assert meta["scores"] == [4, 4, 3, 4, 4] and meta["annotators"] == SCORES_HEADER[1:]
    assert meta["source"] == {"path": "Annotation-Pairs.docx", "record": "1"}
    assert second.score == pytest.approx(0.2)
    assert validate(first) == [] and validate(second) == []


def test_whitespace_is_kept_when_not_collapsing(tmp_path: Path) -> None:
    paths = files(tmp_path, [PAIR_1], [["1", "4", "4", "3", "4", "4"]])
    (record,) = read(paths, collapse_whitespace=False)
    assert record.text_1 == "Velkin binds the\xa0VK3 receptor."


def test_unpaired_numbers_are_rejected_with_their_number(tmp_path: Path) -> None:
    paths = files(tmp_path, [PAIR_1, PAIR_2], [["1", "4", "4", "3", "4", "4"], ["3", "1", "1", "1", "1", "1"]])
    record, missing_scores, missing_pair = read(paths)
    assert isinstance(record, PairsRecord)
    assert (Path(missing_scores.path).name, missing_scores.locator, missing_scores.reason) == (
        "Annotation-Pairs.docx",
        "2",
        "pair without scores",
    )
    assert (Path(missing_pair.path).name, missing_pair.locator, missing_pair.reason) == (
        "Annotator-Scores.docx",
        "3",
        "scores without pair",
    )
    assert missing_scores.detail == "row 3: pair 2 has no row in the scores table"


def test_bad_scores_and_numbers_are_rejected(tmp_path: Path) -> None:
    pairs = [PAIR_1, PAIR_2, ["x", "a", "b"], ["2", "again", "again"]]
    scores = [["1", "4", "4", "five", "4", "4"], ["2", "4", "4", "9", "4", "4"]]
    items = read(files(tmp_path, pairs, scores))
    assert all(isinstance(i, Rejection) for i in items)
    assert [(i.locator, i.reason) for i in items] == [
        ("row 4", "bad pair number"),
        ("2", "duplicate pair number"),
        ("1", "bad score"),
        ("2", "bad score"),
    ]
    assert items[2].detail == "row 2: Annotator C score 'five' not a number in [0, 4]"


def test_pair_numbers_are_compared_as_integers(tmp_path: Path) -> None:
    pairs = [PAIR_1, ["01", "A repeat.", "Of pair one."], ["02", PAIR_2[1], PAIR_2[2]], ["\u00b2", "x", "y"]]
    scores = [["1", "4", "4", "3", "4", "4"], ["2", "0", "1", "0", "0", "0"], ["001", "1", "1", "1", "1", "1"]]
    items = read(files(tmp_path, pairs, scores))
    duplicate_pair, bad, duplicate_scores, first, second = items
    assert (bad.locator, bad.reason) == ("row 5", "bad pair number")  # "²" passes str.isdigit but is no pair number
    assert (Path(duplicate_pair.path).name, duplicate_pair.locator, duplicate_pair.reason) == (
        "Annotation-Pairs.docx",
        "1",
        "duplicate pair number",
    )
    assert duplicate_pair.detail == "row 3: pair '01' already in row 2 (as '1')"
    assert (Path(duplicate_scores.path).name, duplicate_scores.locator) == ("Annotator-Scores.docx", "1")
    # "02" in the pairs table and "2" in the scores table are the same pair, keyed without leading zeros.
    assert isinstance(first, PairsRecord) and isinstance(second, PairsRecord)
    assert (first.id, second.id, second.text_1) == ("toy.all.1", "toy.all.2", PAIR_2[1])
    assert second.score == pytest.approx(0.2)


def test_empty_sentence_is_rejected(tmp_path: Path) -> None:
    (rejection,) = read(files(tmp_path, [["1", "Only one sentence.", " "]], [["1", "2", "2", "2", "2", "2"]]))
    assert (rejection.locator, rejection.reason) == ("1", "empty sentence")


def test_unreadable_or_unknown_files_are_errors(tmp_path: Path) -> None:
    pairs, scores = files(tmp_path, [PAIR_1], [["1", "4", "4", "4", "4", "4"]])
    with pytest.raises(ConvertError, match="no scores"):
        read([pairs])
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ConvertError) as err:
        read([broken, scores])
    assert str(broken) in str(err.value) and "not a readable Word document" in str(err.value)
    other = table(tmp_path / "other.docx", [["Gene", "Disease"], ["VK3", "flu"]])
    with pytest.raises(ConvertError, match="neither"):
        read([pairs, other])
    with pytest.raises(ConvertError, match="file not found"):
        read([tmp_path / "absent.docx"])
    four = table(tmp_path / "four.docx", [SCORES_HEADER[:5], ["1", "4", "4", "4", "4"]])
    with pytest.raises(ConvertError, match="4 annotator columns, expected 5"):
        read([pairs, four])
