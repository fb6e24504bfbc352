"""BRAT reader, issue 20 additions: texts apart from the annotations or in a KEY<TAB>text table, ``.list`` files,
events without arguments, attributes that must resolve, and the annotation counts the ledger checks.

Every fixture is a tiny invented document; every bad input becomes a rejection or a defect naming its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from biohub.converters.base import Defect, ReadContext, Rejection
from biohub.converters.formats.brat import BratOptions, BratReader
from biohub.errors import ConfigError
from biohub.schema import KBRecord, LabelSet, Relation, validate
from tests.converters.conftest import write_text

TEXT = "Gout needs rest.\nFever follows gout.\n"  # invented; Gout 0-4, rest 11-15, Fever 17-22, gout 31-35
ANN = "T1\tDisease 0 4\tGout\nT2\tTherapy 11 15\trest\nR1\tTreats Arg1:T2 Arg2:T1\n"


def read(paths: list[Path], **options: object) -> tuple[list, ReadContext]:
    """The items the reader yields for ``paths`` and the context it counted into."""
    ctx = ReadContext("toy", "train", "en", LabelSet())
    return list(BratReader(BratOptions(**options)).read(paths, ctx)), ctx


def test_texts_apart_pair_each_ann_with_the_txt_of_the_same_key(tmp_path: Path) -> None:
    write_text(tmp_path / "annotations", "a.ann", ANN)
    write_text(tmp_path / "annotations", "b.ann", "T1\tDisease 0 5\tFever\n")
    write_text(tmp_path / "corpus", "a.txt", TEXT)
    items, _ = read([tmp_path / "annotations", tmp_path / "corpus"], texts="apart")
    record, missing = items
    assert isinstance(record, KBRecord) and record.id == "toy.train.a"
    assert record.passages[0].text == [TEXT]
    assert record.relations == [Relation("toy.train.a.R1", "Treats", "toy.train.a.T2", "toy.train.a.T1")]
    assert isinstance(missing, Rejection)
    ann = tmp_path / "annotations" / "b.ann"
    assert (missing.path, missing.locator, missing.reason) == (str(ann), "b", "missing partner file")
    assert "b.ann has no .txt file for 'b'" in missing.detail


def test_a_second_txt_of_one_key_apart_is_a_duplicate_document(tmp_path: Path) -> None:
    write_text(tmp_path / "ann", "a.ann", ANN)
    write_text(tmp_path / "one", "a.txt", TEXT)
    write_text(tmp_path / "two", "a.txt", TEXT)
    (record, duplicate), _ = read([tmp_path / "ann", tmp_path / "one", tmp_path / "two"], texts="apart")
    assert isinstance(record, KBRecord)
    assert (duplicate.path, duplicate.reason) == (str(tmp_path / "two" / "a.txt"), "duplicate document")


def test_texts_in_a_table_one_document_a_line(tmp_path: Path) -> None:
    line = TEXT.replace("\n", " ").strip()
    table = write_text(tmp_path, "corpus.txt", f"11\t{line}\nno tab on this line\n11\tagain\n12\tCough.\n")
    write_text(tmp_path / "annotations", "11.ann", "T1\tDisease 17 22\tFever\n")
    write_text(tmp_path / "annotations", "13.ann", "T1\tDisease 0 5\tCough\n")
    items, _ = read([table, tmp_path / "annotations"], texts="table")
    bad_line, repeated, record, no_ann, no_text = items
    assert (bad_line.path, bad_line.locator, bad_line.reason) == (str(table), "2", "wrong column count")
    assert (repeated.path, repeated.locator, repeated.reason) == (str(table), "3", "duplicate document")
    assert "key '11' already given at corpus.txt:1" in repeated.detail
    assert isinstance(record, KBRecord) and record.passages[0].text == [line]
    assert [(e.text, e.offsets) for e in record.entities] == [(["Fever"], [(17, 22)])]
    assert '"text": "corpus.txt:1"' in record.meta
    assert (no_ann.path, no_ann.locator, no_ann.reason) == (str(table), "4", "missing partner file")
    ann = tmp_path / "annotations" / "13.ann"
    assert (no_text.path, no_text.locator, no_text.reason) == (str(ann), "13", "missing partner file")


def test_a_list_file_restricts_the_read_and_names_a_listed_key_it_cannot_find(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_text(tmp_path / "standoff", f"{name}.txt", TEXT)
        write_text(tmp_path / "standoff", f"{name}.ann", ANN)
    listing = write_text(tmp_path, "train-files.list", "b\n\nzz\n")
    (record, missing), _ = read([tmp_path / "standoff", listing])
    assert isinstance(record, KBRecord) and record.document_id == "b"
    assert isinstance(missing, Rejection)
    assert (missing.path, missing.locator, missing.reason) == (str(listing), "3", "missing partner file")
    assert "train-files.list:3 lists 'zz'" in missing.detail


def test_events_without_arguments_kept_or_dropped_as_a_defect_with_their_trigger_an_entity(tmp_path: Path) -> None:
    write_text(tmp_path, "d.txt", TEXT)
    ann = write_text(tmp_path, "d.ann", "T1\tDisease 0 4\tGout\nE1\tDisease:T1 \n")
    (record,), _ = read([tmp_path])
    assert [e.id for e in record.events] == ["toy.train.d.E1"] and record.entities == []
    (defect, record), ctx = read([tmp_path], empty_events="drop")
    assert isinstance(defect, Defect)
    assert (defect.path, defect.locator, defect.reason) == (str(ann), "2", "event without arguments")
    assert defect.dropped and defect.annotation == ""  # with empty_events: drop, such a line is no event
    assert record.events == [] and [e.text for e in record.entities] == [["Gout"]]
    assert ctx.annotations_read == {"train": {"entities": 1}}


def test_attributes_must_point_at_a_kept_annotation(tmp_path: Path) -> None:
    write_text(tmp_path, "d.txt", TEXT)
    ann = write_text(tmp_path, "d.ann", ANN + "A1\tNegated T1\nA2\tNegated T9\nM3\tConfidence R1 High\n")
    defect, record = read([tmp_path])[0]
    assert (defect.path, defect.locator, defect.reason) == (str(ann), "5", "annotation refers to a missing annotation")
    assert "attribute A2 Negated of T9" in defect.detail
    assert '"target": "T1"' in record.meta and '"value": "High"' in record.meta and "T9" not in record.meta


def test_bad_annotations_are_named_by_file_and_line_and_counted(tmp_path: Path) -> None:
    """A dangling relation argument, an unknown line kind and a span out of the text are dropped, each a defect with
    the .ann file and line (``--strict`` fails on them); the ledger counts read = converted + dropped per unit."""
    write_text(tmp_path, "d.txt", TEXT)
    ann = write_text(
        tmp_path, "d.ann", ANN + "R2\tTreats Arg1:T2 Arg2:T7\nQ1\tsomething new\nT3\tDisease 30 99\tgout\n*\tEquiv T1 T3\n"
    )
    items, ctx = read([tmp_path])
    *defects, record = items
    assert [(d.path, d.locator, d.reason, d.annotation) for d in defects] == [
        (str(ann), "5", "unknown annotation line", ""),
        (str(ann), "6", "mention offsets out of range", "entities"),
        (str(ann), "4", "annotation refers to a missing annotation", "relations"),
        (str(ann), "7", "annotation refers to a missing annotation", "coreferences"),
    ]
    assert all(d.dropped and d.detail.startswith("d.ann:") for d in defects)
    assert ctx.annotations_read == {"train": {"entities": 3, "relations": 2, "coreferences": 1}}
    assert (len(record.entities), len(record.relations), len(record.coreferences)) == (2, 1, 0)
    assert validate(record) == []


def test_a_span_that_is_not_start_end_rejects_the_document_with_its_line(tmp_path: Path) -> None:
    write_text(tmp_path, "d.txt", TEXT)
    ann = write_text(tmp_path, "d.ann", "T1\tDisease 0 4\tGout\nT2\tDisease 4 x\tx\n")
    (rejection,), ctx = read([tmp_path])
    assert (rejection.path, rejection.locator, rejection.reason) == (str(ann), "2", "bad offsets")
    assert ctx.annotations_read == {}


def test_document_pattern_groups_records_into_documents_and_rejects_a_key_it_does_not_match(tmp_path: Path) -> None:
    for name in ("123-01-Intro-p01", "123-02-Methods-p01", "notes"):
        write_text(tmp_path, f"{name}.txt", TEXT)
        write_text(tmp_path, f"{name}.ann", ANN)
    items, _ = read([tmp_path], document_pattern=r"^(\d+)-")
    first, second, rejection = items
    assert [(r.id, r.document_id) for r in (first, second)] == [
        ("toy.train.123-01-Intro-p01", "123"),
        ("toy.train.123-02-Methods-p01", "123"),
    ]
    assert (rejection.path, rejection.locator, rejection.reason) == (str(tmp_path / "notes.ann"), "notes", "missing document id")


def test_document_pattern_must_be_a_regular_expression_with_one_group() -> None:
    with pytest.raises(ConfigError, match="needs exactly one group"):
        BratReader.from_mapping({"document_pattern": r"^\d+-"})
    with pytest.raises(ConfigError, match="is not a regular expression"):
        BratReader.from_mapping({"document_pattern": "(("})
