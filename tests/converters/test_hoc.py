"""Hallmarks of Cancer reader: document and sentence records from invented files, pairing and segment-count problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.catalog import DeriveSplits, Source, SourceFile
from biohub.converters.convert import convert_source
from biohub.converters.formats.hoc import HocOptions, HocReader
from biohub.schema import LabelSet, TextRecord, validate
from tests.converters.conftest import read_items

HALLMARKS = LabelSet(
    classes=("Resisting cell death", "Sustaining proliferative signaling", "Inducing angiogenesis"), multi_label=True
)


def corpus(tmp_path: Path, docs: dict[str, tuple[str | None, str | None]]) -> Path:
    root = tmp_path / "hoc"
    for folder in ("text", "labels"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for pmid, (text, labels) in docs.items():
        if text is not None:
            (root / "text" / f"{pmid}.txt").write_text(text, encoding="utf-8")
        if labels is not None:
            (root / "labels" / f"{pmid}.txt").write_text(labels, encoding="utf-8")
    return root


def read(paths: list[Path], **options) -> list:
    return read_items(HocReader(HocOptions(**options)), paths, "all")


TEXT = "Velkin blocks apoptosis in tumour cells .\nIt also drives proliferation .\nMethods are described .\n"
LABELS = (
    "<Resisting cell death--Apoptosis AND Sustaining proliferative signaling--"
    "< Sustaining proliferative signaling--Cell cycle< NULL"
)


def test_document_record_unions_top_level_labels(tmp_path: Path) -> None:
    root = corpus(tmp_path, {"1001": (TEXT, LABELS), "1002": ("Nothing here .\n", "< ")})
    first, second = read([root])
    assert isinstance(first, TextRecord) and first.id == "toy.all.1001" and first.document_id == "1001"
    assert first.text == "Velkin blocks apoptosis in tumour cells . It also drives proliferation . Methods are described ."
    assert first.labels == ["Resisting cell death", "Sustaining proliferative signaling"]
    meta = json.loads(first.meta)
    assert meta["sentence_labels"] == [
        ["Resisting cell death--Apoptosis", "Sustaining proliferative signaling"],
        ["Sustaining proliferative signaling--Cell cycle"],
        [],
    ]
    assert meta["sentences"] == 3 and meta["source"] == {"path": "1001.txt", "record": "1001"}
    assert second.labels == [] and second.labeled is True
    assert validate(first, HALLMARKS) == [] and validate(second, HALLMARKS) == []


def test_sentence_level_records_share_the_document_id(tmp_path: Path) -> None:
    root = corpus(tmp_path, {"1001": (TEXT, LABELS)})
    records = read([root / "text", root / "labels"], level="sentence")
    assert [(r.id, r.document_id, r.labels) for r in records] == [
        ("toy.all.1001-0", "1001", ["Resisting cell death", "Sustaining proliferative signaling"]),
        ("toy.all.1001-1", "1001", ["Sustaining proliferative signaling"]),
        ("toy.all.1001-2", "1001", []),
    ]
    assert json.loads(records[1].meta)["full_labels"] == ["Sustaining proliferative signaling--Cell cycle"]
    full = read([root], level="sentence", top_level=False)
    assert full[0].labels == ["Resisting cell death--Apoptosis", "Sustaining proliferative signaling"]


def test_unpaired_files_and_count_mismatch_are_rejected(tmp_path: Path) -> None:
    root = corpus(
        tmp_path, {"1": (TEXT, None), "2": (None, "< "), "3": (TEXT, "<a< b"), "4": (TEXT, "no marker"), "5": ("\n", "")}
    )
    items = read([root])
    assert all(isinstance(i, Rejection) for i in items)
    assert [(Path(i.path).parent.name, i.locator, i.reason) for i in items] == [
        ("text", "1", "labels file missing"),
        ("labels", "2", "text file missing"),
        ("labels", "3", "sentence/label count mismatch"),
        ("labels", "4", "malformed labels"),
        ("labels", "5", "malformed labels"),
    ]
    assert items[2].detail == "3.txt: 2 '<' segments for 3 sentences in 3.txt"


def test_missing_folders_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="file not found"):
        read([tmp_path / "absent"])
    (tmp_path / "only").mkdir()
    with pytest.raises(ConvertError, match="folder not found"):
        read([tmp_path / "only"])


def test_wrong_encoding_names_the_file_and_line(tmp_path: Path) -> None:
    root = corpus(tmp_path, {"7": (None, "< <")})
    (root / "text" / "7.txt").write_bytes("ok .\n癌症 .\n".encode("gb18030"))
    with pytest.raises(ConvertError) as err:
        read([root])
    assert f"{root / 'text' / '7.txt'}:2" in str(err.value)


def test_splits_are_derived_from_the_pmid(tmp_path: Path) -> None:
    corpus(tmp_path, {str(n): (TEXT, LABELS) for n in range(1, 21)})
    derive = DeriveSplits(method="hash", ratios={"train": 0.7, "validation": 0.1, "test": 0.2})
    source = Source(format="hoc", options={"level": "sentence"}, splits={"all": (SourceFile("hoc"),)}, derive_splits=derive)
    result = convert_source("toy", source, tmp_path, language="en", labels=HALLMARKS, progress=False)
    assert sum(ledger.converted for ledger in result.ledger.values()) == 60 and result.rejected == 0
    split_of_doc: dict[str, set[str]] = {}
    for split, records in result.records.items():
        for record in records:
            split_of_doc.setdefault(record.document_id, set()).add(split)
    assert all(len(splits) == 1 for splits in split_of_doc.values())  # an abstract never straddles splits


@pytest.mark.real_corpora
def test_real_corpus_has_17464_sentences(mirror: Path) -> None:
    records = read([mirror / "hoc" / "text", mirror / "hoc" / "labels"])
    assert len(records) == 1852 and all(isinstance(r, TextRecord) for r in records)
    assert sum(json.loads(r.meta)["sentences"] for r in records) == 17464
    sentences = read([mirror / "hoc"], level="sentence")
    assert len(sentences) == 17464 and len({r.document_id for r in sentences}) == 1852
