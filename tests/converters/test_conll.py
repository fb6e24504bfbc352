"""CoNLL/BIO reader: exact records from tiny fixtures, and each bad-input case named by file:line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.formats.conll import ConllOptions, ConllReader
from biohub.schema import KBRecord, LabelSet, validate
from tests.converters.conftest import read_items, write_text


def read(path: Path, **options) -> list:
    return read_items(ConllReader(ConllOptions(**options)), path)


def write(tmp_path: Path, text: str, name: str = "train.tsv", encoding: str = "utf-8") -> Path:
    return write_text(tmp_path, name, text, encoding)


def test_typed_tags_become_entities_with_offsets(tmp_path: Path) -> None:
    path = write(tmp_path, "IL-2\tB-protein\ngene\tI-protein\nin\tO\nT\tB-cell_type\ncells\tI-cell_type\n\nNone\tO\n")
    first, second = read(path)
    assert isinstance(first, KBRecord) and isinstance(second, KBRecord)
    assert first.id == "toy.train.train-1"
    assert first.passages[0].text == ["IL-2 gene in T cells"]
    assert [(e.type, e.text, e.offsets) for e in first.entities] == [
        ("protein", ["IL-2 gene"], [(0, 9)]),
        ("cell_type", ["T cells"], [(13, 20)]),
    ]
    assert second.entities == [] and second.id == "toy.train.train-2"
    assert validate(first, LabelSet(entity_types=("protein", "cell_type"))) == []


def test_untyped_tags_get_the_default_type_and_adjacent_b_tags_split(tmp_path: Path) -> None:
    path = write(tmp_path, "BRCA1\tB\nBRCA2\tB\nmutations\tO\n")
    (record,) = read(path, default_type="gene")
    assert [(e.type, e.text) for e in record.entities] == [("gene", ["BRCA1"]), ("gene", ["BRCA2"])]


def test_wrong_column_count_rejects_the_sentence_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a\tO\n\nb\tO\tX\nc\tO\n\nd\tO\n")
    items = read(path)
    assert [type(i).__name__ for i in items] == ["KBRecord", "Rejection", "KBRecord"]
    rejection = items[1]
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "3", "wrong column count")
    assert "line 3: 3 columns" in rejection.detail


def test_i_after_o_is_rejected_not_guessed(tmp_path: Path) -> None:
    path = write(tmp_path, "the\tO\ndisease\tI-Disease\n")
    (rejection,) = read(path)
    assert isinstance(rejection, Rejection)
    assert (rejection.locator, rejection.reason) == ("2", "I- tag does not continue a chunk")
    assert "'I-Disease' follows 'O'" in rejection.detail


def test_i_of_another_type_is_rejected_and_repair_is_explicit(tmp_path: Path) -> None:
    path = write(tmp_path, "x\tB-A\ny\tI-B\n")
    assert isinstance(read(path)[0], Rejection)
    defect, record = read(path, repair_orphan_i=True)
    assert defect.reason == "orphan I- tag opened a chunk" and defect.locator == "2"
    assert [(e.type, e.text) for e in record.entities] == [("A", ["x"]), ("B", ["y"])]


def test_unknown_tag_is_rejected(tmp_path: Path) -> None:
    (rejection,) = read(write(tmp_path, "x\tS-gene\n"))
    assert rejection.reason == "unknown tag" and rejection.locator == "1"


def test_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "ok\tO\n\n病\tO\n", encoding="gb18030")
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:3" in str(err.value) and "not valid utf-8" in str(err.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "absent.tsv")


def test_document_markers_are_skipped(tmp_path: Path) -> None:
    (record,) = read(write(tmp_path, "-DOCSTART-\tO\n\nx\tB-A\n"))
    assert record.passages[0].text == ["x"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"token_column": 2}, r"token_column: 2 is outside the 2 columns; valid: -2\.\.1"),
        ({"tag_column": -4, "columns": 3}, r"tag_column: -4 is outside the 3 columns; valid: -3\.\.2"),
        ({"tag_column": 2, "columns": 0}, r"tag_column: 2 is outside the 2 columns every line has \(columns: 0\)"),
        ({"columns": 1}, r"columns: expected 0 \(any >= 2\) or a count >= 2, got 1"),
    ],
)
def test_column_indexes_outside_the_columns_are_option_errors(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConllOptions(**options)


def test_column_indexes_inside_the_columns_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "1\tIL-2\tNN\tB-protein\n2\tgene\tNN\tI-protein\n")
    (record,) = read(path, token_column=1, tag_column=-1, columns=4)
    assert [e.text for e in record.entities] == [["IL-2 gene"]]


CHAR_BIO = {"delimiter": " ", "tag_separator": "_", "token_joiner": ""}


def test_character_bio_with_underscore_tags(tmp_path: Path) -> None:
    """ChineseBLUE's ``<char> <tag>`` files: characters joined without spaces, ``B_type`` tags, U+3000 a token."""
    path = write(tmp_path, "头 B_symptom\n痛 I_symptom\n\u3000 O\n伴 O\n发 B_symptom\n热 I_symptom\n\n好 O\n", name="train.txt")
    first, second = read(path, **CHAR_BIO)
    assert isinstance(first, KBRecord) and first.passages[0].text == ["头痛\u3000伴发热"]
    assert [(e.type, e.text, e.offsets) for e in first.entities] == [
        ("symptom", ["头痛"], [(0, 2)]), ("symptom", ["发热"], [(4, 6)]),
    ]
    assert validate(first) == [] and isinstance(second, KBRecord) and second.passages[0].text == ["好"]


def test_character_bio_bad_lines_are_rejected_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, "头 B-symptom\n痛 I-symptom\n\n发 I_symptom\n\n热\tO\n", name="train.txt")
    unknown, orphan, columns = read(path, **CHAR_BIO)
    assert isinstance(unknown, Rejection) and (unknown.reason, unknown.locator) == ("unknown tag", "1")
    assert isinstance(orphan, Rejection) and (orphan.reason, orphan.locator) == ("I- tag does not continue a chunk", "4")
    assert isinstance(columns, Rejection) and (columns.reason, columns.locator) == ("wrong column count", "6")


def test_whitespace_in_a_space_joined_token_is_still_rejected(tmp_path: Path) -> None:
    (rejection,) = read(write(tmp_path, "IL 2\tB-protein\n"))
    assert isinstance(rejection, Rejection) and rejection.reason == "bad token"


@pytest.mark.parametrize("options", [{"delimiter": "  "}, {"tag_separator": ""}])
def test_separators_must_be_one_character(options: dict) -> None:
    with pytest.raises(ValueError, match="expected one character"):
        ConllOptions(**options)
