"""BRAT standoff reader: exact records from a tiny invented folder, and every bad-input case named by file and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.brat import BratOptions, BratReader
from biohub.schema import (
    Coreference,
    Event,
    EventArgument,
    KBRecord,
    LabelSet,
    Normalization,
    Relation,
    Trigger,
    validate,
)
from tests.converters.conftest import read_items, write_text

TEXT = "Aspirin relieves gout and acute pain.\nAspirin binds COX1.\n"
ANN_LINES = (
    "T1\tChemical 0 7\tAspirin",
    "T2\tDisease 17 21\tgout",
    "T3\tDisease 26 31;32 36\tacute pain",
    "T4\tTreat 8 16\trelieves",
    "T5\tChemical 38 45\tAspirin",
    "T6\tGene 52 56\tCOX1",
    "R1\tBinds Arg1:T5 Arg2:T6",
    "E1\tTreat:T4 Agent:T1 Theme:T2",
    "E2\tTreat:T4 Theme:E1",
    "N1\tReference T2 MeSH:D006073\tGout",
    "N2\tReference T6 HGNC:9604",
    "*\tEquiv T1 T5",
    "A1\tNegated E1",
    "M2\tConfidence T2 High",
    "#1\tAnnotatorNotes T3\tcheck the span",
)
ANN = "\n".join(ANN_LINES)


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    return write_text(folder, name, text, encoding)


def read(*paths: Path, **options) -> list:
    return read_items(BratReader(BratOptions(**options)), paths, "test")


def test_pair_becomes_a_record_with_every_annotation_kind(tmp_path: Path) -> None:
    write(tmp_path, "doc1.txt", TEXT)
    write(tmp_path, "doc1.ann", ANN + "\n")
    (record,) = read(tmp_path, db_names={"MeSH": "MESH"})
    assert isinstance(record, KBRecord)
    rid = "toy.test.doc1"
    assert (record.id, record.document_id) == (rid, "doc1")
    assert [(p.id, p.type, p.text, p.offsets) for p in record.passages] == [(f"{rid}.p0", "document", [TEXT], [(0, 58)])]
    # T4 is an event trigger, not an entity.
    assert [(e.id, e.type, e.text, e.offsets, e.normalized) for e in record.entities] == [
        (f"{rid}.T1", "Chemical", ["Aspirin"], [(0, 7)], []),
        (f"{rid}.T2", "Disease", ["gout"], [(17, 21)], [Normalization("MESH", "D006073")]),
        (f"{rid}.T3", "Disease", ["acute", "pain"], [(26, 31), (32, 36)], []),
        (f"{rid}.T5", "Chemical", ["Aspirin"], [(38, 45)], []),
        (f"{rid}.T6", "Gene", ["COX1"], [(52, 56)], [Normalization("HGNC", "9604")]),
    ]
    assert record.relations == [Relation(f"{rid}.R1", "Binds", f"{rid}.T5", f"{rid}.T6")]
    trigger = Trigger(["relieves"], [(8, 16)])
    assert record.events == [
        Event(f"{rid}.E1", "Treat", trigger, [EventArgument("Agent", f"{rid}.T1"), EventArgument("Theme", f"{rid}.T2")]),
        Event(f"{rid}.E2", "Treat", trigger, [EventArgument("Theme", f"{rid}.E1")]),
    ]
    assert record.coreferences == [Coreference(f"{rid}.c0", [f"{rid}.T1", f"{rid}.T5"])]
    assert json.loads(record.meta) == {
        "source": {"path": "doc1.ann", "record": "doc1"},
        "attributes": [
            {"id": "A1", "name": "Negated", "target": "E1"},
            {"id": "M2", "name": "Confidence", "target": "T2", "value": "High"},
        ],
        "notes": [{"id": "#1", "type": "AnnotatorNotes", "target": "T3", "text": "check the span"}],
    }
    assert validate(record, LabelSet(entity_types=("Chemical", "Disease", "Gene"), relation_types=("Binds",))) == []


def test_missing_partner_files_are_rejected_naming_the_file(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "Gout.")
    write(tmp_path, "b.ann", "T1\tDisease 0 4\tGout\n")
    no_ann, no_txt = read(tmp_path)
    assert isinstance(no_ann, Rejection) and isinstance(no_txt, Rejection)
    assert (no_ann.path, no_ann.locator, no_ann.reason) == (str(tmp_path / "a.txt"), "a", "missing partner file")
    assert "a.txt has no .ann file" in no_ann.detail
    assert (no_txt.path, no_txt.locator, no_txt.reason) == (str(tmp_path / "b.ann"), "b", "missing partner file")
    assert "b.ann has no .txt file" in no_txt.detail


def test_single_file_path_reads_its_pair_and_nested_folders_keep_their_path(tmp_path: Path) -> None:
    write(tmp_path / "sub", "x.txt", "Gout.")
    write(tmp_path / "sub", "x.ann", "T1\tDisease 0 4\tGout\n")
    (record,) = read(tmp_path / "sub" / "x.ann")
    assert record.id == "toy.test.x" and len(record.entities) == 1
    (record,) = read(tmp_path)
    assert record.id == "toy.test.sub/x"


def test_malformed_lines_reject_the_document_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "d.txt", "Gout.")
    ann = write(tmp_path, "d.ann", "T1\tDisease 0 4\tGout\nT2\tDisease zero 4\tGout\n")
    (rejection,) = read(tmp_path)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(ann), "2", "bad offsets")
    write(tmp_path, "d.ann", "T1\tDisease 0 4\tGout\nR1\tCauses Arg1:T1\n")
    (rejection,) = read(tmp_path)
    assert (rejection.locator, rejection.reason) == ("2", "malformed annotation line")
    write(tmp_path, "d.ann", "T1\tDisease 0 4\n")
    (rejection,) = read(tmp_path)
    assert (rejection.locator, rejection.reason) == ("1", "malformed annotation line")


def test_annotation_problems_are_counted_defects(tmp_path: Path) -> None:
    write(tmp_path, "d.txt", "Gout and fever.")
    ann = write(
        tmp_path,
        "d.ann",
        "T1\tDisease 0 4\tGout\nT2\tDisease 9 40\tfever.\nT3\tDisease 9 14\tfevers\n"
        "R1\tX Arg1:T1 Arg2:T3\nN1\tReference T9 MeSH:D1\nX1\tfoo\n",
    )
    *defects, record = read(tmp_path)
    assert all(isinstance(d, Defect) and d.path == str(ann) for d in defects)
    assert [(d.locator, d.reason) for d in defects] == [
        ("2", "mention offsets out of range"),
        ("3", "mention text disagrees with its offsets"),
        ("6", "unknown annotation line"),
        ("5", "annotation refers to a missing annotation"),
        ("4", "annotation refers to a missing annotation"),
    ]
    assert "'fevers' != document text 'fever'" in defects[1].detail
    assert [e.text for e in record.entities] == [["Gout"]] and record.relations == []


def test_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    txt = write(tmp_path, "d.txt", "Gout.\nGicht \u00fcber.\n", encoding="latin-1")
    write(tmp_path, "d.ann", "T1\tDisease 0 4\tGout\n")
    with pytest.raises(ConvertError) as err:
        read(tmp_path)
    assert f"{txt}:2" in str(err.value) and "not valid utf-8" in str(err.value)


def test_missing_or_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConvertError, match="holds no .txt/.ann files"):
        read(tmp_path / "empty")
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "absent.ann")


def test_relation_arguments_are_taken_by_role_not_position(tmp_path: Path) -> None:
    write(tmp_path, "d.txt", "Aspirin inhibits COX1.")
    write(tmp_path, "d.ann", "T1\tChemical 0 7\tAspirin\nT2\tGene 17 21\tCOX1\nR1\tInhibits Arg2:T2 Arg1:T1\n")
    (record,) = read(tmp_path)
    assert record.relations == [Relation("toy.test.d.R1", "Inhibits", "toy.test.d.T1", "toy.test.d.T2")]


@pytest.mark.parametrize("arguments", ["Arg1:T1 Arg1:T2", "Arg1:T1 Other:T2", "Arg1:T1 Arg2:", "Arg1:T1 Arg2:T2 Arg3:T1"])
def test_relation_without_both_roles_rejects_the_document_with_its_line(tmp_path: Path, arguments: str) -> None:
    write(tmp_path, "d.txt", "Aspirin inhibits COX1.")
    ann = write(tmp_path, "d.ann", f"T1\tChemical 0 7\tAspirin\nT2\tGene 17 21\tCOX1\nR1\tInhibits {arguments}\n")
    (rejection,) = read(tmp_path)
    assert isinstance(rejection, Rejection)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(ann), "3", "malformed annotation line")
    assert "line 3: relation needs Type Arg1:X Arg2:Y" in rejection.detail


def test_repeated_annotation_id_is_a_defect_not_an_overwrite(tmp_path: Path) -> None:
    write(tmp_path, "d.txt", "Gout and fever.")
    ann = write(
        tmp_path, "d.ann", "T1\tDisease 0 4\tGout\nT1\tDisease 9 14\tfever\nR1\tX Arg1:T1 Arg2:T1\nR1\tY Arg1:T1 Arg2:T1\n"
    )
    first, second, record = read(tmp_path)
    assert isinstance(first, Defect) and (first.path, first.locator, first.reason) == (str(ann), "2", "duplicate annotation id")
    assert "line 2: T1 already defined at line 1" in first.detail
    assert (second.locator, second.reason) == ("4", "duplicate annotation id")
    assert [(e.id, e.text) for e in record.entities] == [("toy.test.d.T1", ["Gout"])]
    assert [r.type for r in record.relations] == ["X"]


def test_same_file_name_in_two_folders_is_a_duplicate_document_not_a_merge(tmp_path: Path) -> None:
    write(tmp_path / "a", "x.txt", "Gout.")
    write(tmp_path / "a", "x.ann", "T1\tDisease 0 4\tGout\n")
    write(tmp_path / "b", "x.txt", "Fever.")
    write(tmp_path / "b", "x.ann", "T1\tDisease 0 5\tFever\n")
    write(tmp_path / "b", "y.txt", "Cough.")
    write(tmp_path / "b", "y.ann", "T1\tDisease 0 5\tCough\n")
    first, second, duplicate = read(tmp_path / "a", tmp_path / "b")
    assert [(r.id, r.entities[0].text) for r in (first, second)] == [("toy.test.x", ["Gout"]), ("toy.test.y", ["Cough"])]
    assert isinstance(duplicate, Rejection)
    assert (duplicate.path, duplicate.locator, duplicate.reason) == (str(tmp_path / "b" / "x.ann"), "x", "duplicate document")
    assert str(tmp_path / "a") in duplicate.detail
    # The same file given twice (as a folder and as a file) is one document, not a duplicate.
    (record,) = read(tmp_path / "a", tmp_path / "a" / "x.ann")
    assert record.id == "toy.test.x"
