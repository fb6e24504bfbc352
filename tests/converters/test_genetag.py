"""GENETAG reader: sentences from word/TAG lines, gold mentions from inclusive token spans, alternatives in meta, and
every bad line named by file, line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.genetag import GenetagOptions, GenetagReader
from biohub.schema import KBRecord, LabelSet, validate
from tests.converters.conftest import read_items, write_text

LABELS = LabelSet(entity_types=("gene",))
SENTENCE = "@@11 The/DT zorblin/NEWGENE kinase/NEWGENE binds/VBZ //NEWGENE Quaxin/NEWGENE ./."


def split_folder(folder: Path, corpus: str, gold: str, alternatives: str | None = "") -> Path:
    write_text(folder, "TAGGED_GENE_CORPUS", corpus)
    write_text(folder, "Gold.format", gold)
    if alternatives is not None:
        write_text(folder, "Correct.Data", alternatives)
    return folder


def read(folder: Path, **options) -> list:
    return read_items(GenetagReader(GenetagOptions(**options)), folder, labels=LABELS)


def problems(items: list, kind: type) -> list[tuple[str, str, str]]:
    return [(Path(item.path).name, item.locator, item.reason) for item in items if isinstance(item, kind)]


def test_sentence_becomes_a_record_with_gold_mentions_and_alternatives(tmp_path: Path) -> None:
    folder = split_folder(tmp_path, SENTENCE + "\n", "@@11|1 2|zorblin kinase\n@@11|4 5|/ Quaxin\n", "@@11|1 1|zorblin\n")
    (record,) = read(folder)
    assert isinstance(record, KBRecord) and record.id == "toy.train.11" and record.document_id == "11"
    assert record.passages[0].text == ["The zorblin kinase binds / Quaxin ."]
    assert [(e.type, e.text, e.offsets) for e in record.entities] == [
        ("gene", ["zorblin kinase"], [(4, 18)]),
        ("gene", ["/ Quaxin"], [(25, 33)]),
    ]
    meta = json.loads(record.meta)
    assert meta["alternatives"] == [{"offsets": [4, 11], "text": "zorblin"}]
    assert meta["source"] == {"path": "TAGGED_GENE_CORPUS", "line": 1}
    assert validate(record, LABELS) == []


def test_the_corpus_file_itself_may_be_given(tmp_path: Path) -> None:
    split_folder(tmp_path, SENTENCE + "\n", "")
    (record,) = read(tmp_path / "TAGGED_GENE_CORPUS")
    assert record.entities == []


def test_bad_mention_lines_are_dropped_with_file_line_and_reason(tmp_path: Path) -> None:
    gold = "@@11|1 2|zorblin kinase\n@@11|1 1zorblin\n@@11|2 1|kinase\n@@11|5 9|Quaxin\n@@11|1 1|Zorblin\n"
    gold += "@@11|1 2|zorblin kinase\n"
    alternatives = "@@11|5 5|Quaxin \n@@99|0 0|Nothing\n"
    items = read(split_folder(tmp_path, SENTENCE + "\n", gold, alternatives))
    assert problems(items, Defect) == [
        ("Gold.format", "2", "malformed mention"),
        ("Gold.format", "3", "malformed mention"),
        ("Gold.format", "6", "duplicate mention"),
        ("Gold.format", "4", "mention offsets out of range"),
        ("Gold.format", "5", "mention text disagrees with its offsets"),
        ("Correct.Data", "1", "mention text padded with whitespace (trimmed)"),
        ("Correct.Data", "2", "mention of an unknown sentence"),
    ]
    (record,) = [item for item in items if isinstance(item, KBRecord)]
    assert [e.text for e in record.entities] == [["zorblin kinase"]]
    assert json.loads(record.meta)["alternatives"] == [{"offsets": [27, 33], "text": "Quaxin"}]


def test_bad_sentence_lines_are_rejected_and_an_empty_tag_is_kept(tmp_path: Path) -> None:
    corpus = "@@1 Good/NN ./\n@@2 Bad token/NN\n@@1 Again/NN\n@@3\nno id here/NN\n"
    items = read(split_folder(tmp_path, corpus, ""))
    assert problems(items, Rejection) == [
        ("TAGGED_GENE_CORPUS", "2", "bad token"),
        ("TAGGED_GENE_CORPUS", "3", "duplicate id"),
        ("TAGGED_GENE_CORPUS", "4", "empty sentence"),
        ("TAGGED_GENE_CORPUS", "5", "missing document id"),
    ]
    (defect,) = [item for item in items if isinstance(item, Defect)]
    assert (defect.reason, defect.dropped) == ("token without tag (kept)", False)
    (record,) = [item for item in items if isinstance(item, KBRecord)]
    assert record.passages[0].text == ["Good ."]


def test_a_missing_alternatives_file_is_an_error_unless_switched_off(tmp_path: Path) -> None:
    folder = split_folder(tmp_path, SENTENCE + "\n", "", alternatives=None)
    with pytest.raises(ConvertError, match="Correct.Data: alternatives file missing"):
        read(folder)
    (record,) = read(folder, alternatives_file="")
    assert json.loads(record.meta)["alternatives"] == []
    (folder / "Gold.format").unlink()
    with pytest.raises(ConvertError, match="Gold.format: entities file missing beside TAGGED_GENE_CORPUS"):
        read(folder, alternatives_file="")
