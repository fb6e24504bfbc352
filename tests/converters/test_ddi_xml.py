"""DDI corpus XML reader: exact records from tiny invented documents, and each bad-input case named by file and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.catalog import Source, SourceFile
from biohub.converters.convert import convert_source
from biohub.converters.formats.ddi_xml import DdiXmlOptions, DdiXmlReader
from biohub.schema import KBRecord, LabelSet, document_text, validate
from tests.converters.conftest import read_items, write_text

LABELS = LabelSet(entity_types=("drug", "drug_n", "brand", "group"), relation_types=("mechanism", "effect", "advise", "int"))

DOC = """<?xml version="1.0" encoding="UTF-8"?>
<document id="DDI-Toy.d1">
    <sentence id="DDI-Toy.d1.s0" text="Zorbafen raises plasma levels of quilotide.">
        <entity id="DDI-Toy.d1.s0.e0" charOffset="0-7" type="drug" text="Zorbafen"/>
        <entity id="DDI-Toy.d1.s0.e1" charOffset="33-41" type="brand" text="quilotide"/>
        <pair id="DDI-Toy.d1.s0.p0" e1="DDI-Toy.d1.s0.e0" e2="DDI-Toy.d1.s0.e1" ddi="true" type="mechanism"/>
    </sentence>
    <sentence id="DDI-Toy.d1.s1" text="Avoid alpha- and beta-blocking agents with antacids. "/>
    <sentence id="DDI-Toy.d1.s2" text="No effect of antacids on Zorbafen.">
        <entity id="DDI-Toy.d1.s2.e0" charOffset="13-20" type="group" text="antacids"/>
        <entity id="DDI-Toy.d1.s2.e1" charOffset="25-32" type="drug" text="Zorbafen"/>
        <pair id="DDI-Toy.d1.s2.p0" e1="DDI-Toy.d1.s2.e0" e2="DDI-Toy.d1.s2.e1" ddi="false"/>
    </sentence>
</document>
"""


def write(folder: Path, text: str, name: str = "toy.xml") -> Path:
    return write_text(folder, name, text)


def read(path: Path, **options) -> list:
    return read_items(DdiXmlReader(DdiXmlOptions(**options)), path, labels=LABELS)


def with_sentence(entities: str, text: str = "Avoid alpha- and beta-blocking agents with antacids.") -> str:
    return f'<document id="DDI-Toy.d2"><sentence id="DDI-Toy.d2.s0" text="{text}">{entities}</sentence></document>'


def test_document_becomes_one_record_with_sentence_passages(tmp_path: Path) -> None:
    (record,) = read(write(tmp_path, DOC))
    assert isinstance(record, KBRecord)
    assert record.id == "toy.train.DDI-Toy.d1" and record.document_id == "DDI-Toy.d1"
    s0, s1 = "Zorbafen raises plasma levels of quilotide.", "Avoid alpha- and beta-blocking agents with antacids. "
    s2 = "No effect of antacids on Zorbafen."
    assert [(p.id, p.type, p.text, p.offsets) for p in record.passages] == [
        ("toy.train.DDI-Toy.d1.p0", "sentence", [s0], [(0, 43)]),
        ("toy.train.DDI-Toy.d1.p1", "sentence", [s1], [(44, 97)]),
        ("toy.train.DDI-Toy.d1.p2", "sentence", [s2], [(98, 132)]),
    ]
    assert document_text(record) == f"{s0} {s1} {s2}"
    assert [(e.id, e.type, e.text, e.offsets) for e in record.entities] == [
        ("toy.train.DDI-Toy.d1.e0", "drug", ["Zorbafen"], [(0, 8)]),
        ("toy.train.DDI-Toy.d1.e1", "brand", ["quilotide"], [(33, 42)]),
        ("toy.train.DDI-Toy.d1.e2", "group", ["antacids"], [(111, 119)]),
        ("toy.train.DDI-Toy.d1.e3", "drug", ["Zorbafen"], [(123, 131)]),
    ]
    assert [(r.id, r.type, r.arg1_id, r.arg2_id) for r in record.relations] == [
        ("toy.train.DDI-Toy.d1.r0", "mechanism", "toy.train.DDI-Toy.d1.e0", "toy.train.DDI-Toy.d1.e1")
    ]
    meta = json.loads(record.meta)
    assert meta["negative_pairs"] == [["toy.train.DDI-Toy.d1.e2", "toy.train.DDI-Toy.d1.e3"]]
    assert meta["source"] == {"path": "toy.xml", "record": "DDI-Toy.d1"}
    assert meta["source_entity_ids"][2] == "DDI-Toy.d1.s2.e0"
    assert meta["sentence_ids"] == ["DDI-Toy.d1.s0", "DDI-Toy.d1.s1", "DDI-Toy.d1.s2"]
    assert validate(record, LABELS) == []


def test_discontinuous_mention_keeps_one_piece_per_span(tmp_path: Path) -> None:
    entity = '<entity id="x.e0" charOffset="6-11;22-36" type="group" text="alpha-blocking agents"/>'
    (record,) = read(write(tmp_path, with_sentence(entity)))
    (mention,) = record.entities
    assert mention.text == ["alpha-", "blocking agents"] and mention.offsets == [(6, 12), (22, 37)]
    assert [document_text(record)[s:e] for s, e in mention.offsets] == mention.text
    assert validate(record, LABELS) == []


def test_shifted_offsets_are_repaired_with_a_defect(tmp_path: Path) -> None:
    entity = '<entity id="x.e0" charOffset="42-49" type="group" text="antacids"/>'  # one character too early
    defect, record = read(write(tmp_path, with_sentence(entity)))
    assert isinstance(defect, Defect) and (defect.locator, defect.reason) == ("x.e0", "entity offsets shifted (repaired)")
    assert record.entities[0].text == ["antacids"] and record.entities[0].offsets == [(43, 51)]
    defect, record = read(write(tmp_path, with_sentence(entity)), max_shift=0)
    assert defect.reason == "mention text disagrees with its offsets" and record.entities == []


def test_mention_text_disagreeing_with_offsets_is_dropped_with_its_pairs(tmp_path: Path) -> None:
    entities = (
        '<entity id="x.e0" charOffset="0-4" type="drug" text="antacids"/>'
        '<entity id="x.e1" charOffset="43-50" type="group" text="antacids"/>'
        '<pair id="x.p0" e1="x.e0" e2="x.e1" ddi="true" type="effect"/>'
    )
    path = write(tmp_path, with_sentence(entities))
    items = read(path)
    assert [type(i).__name__ for i in items] == ["Defect", "Defect", "KBRecord"]
    assert (items[0].path, items[0].locator, items[0].reason) == (str(path), "x.e0", "mention text disagrees with its offsets")
    assert "'Avoid'" in items[0].detail
    assert (items[1].locator, items[1].reason) == ("x.p0", "pair argument missing")
    assert len(items[2].entities) == 1 and items[2].relations == []


def test_offsets_out_of_range_and_malformed_offsets_are_defects(tmp_path: Path) -> None:
    entities = (
        '<entity id="x.e0" charOffset="40-90" type="drug" text="antacids"/>'
        '<entity id="x.e1" charOffset="4/9" type="drug" text="alpha"/>'
    )
    first, second, record = read(write(tmp_path, with_sentence(entities)))
    assert (first.locator, first.reason) == ("x.e0", "mention text disagrees with its offsets")
    assert (second.locator, second.reason) == ("x.e1", "bad charOffset")
    assert record.entities == []


def test_untyped_true_pair_gets_the_default_type_or_is_dropped(tmp_path: Path) -> None:
    entities = (
        '<entity id="x.e0" charOffset="6-10" type="drug" text="alpha"/>'
        '<entity id="x.e1" charOffset="43-50" type="group" text="antacids"/>'
        '<pair id="x.p0" e1="x.e0" e2="x.e1" ddi="true"/>'
    )
    path = write(tmp_path, with_sentence(entities))
    defect, record = read(path)
    assert (defect.locator, defect.reason) == ("x.p0", "ddi pair without type (typed as default)")
    assert [r.type for r in record.relations] == ["int"]
    defect, record = read(path, untyped_ddi_type="")
    assert defect.reason == "ddi pair without type (dropped)" and record.relations == []


def test_truncated_xml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, DOC[: DOC.index("<sentence id=\"DDI-Toy.d1.s2\"")])
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:" in str(err.value) and "invalid XML" in str(err.value)
    assert err.value.line is not None and err.value.line >= 9


def test_document_without_sentences_or_text_is_rejected(tmp_path: Path) -> None:
    (rejection,) = read(write(tmp_path, '<document id="DDI-Toy.d3"></document>'))
    assert isinstance(rejection, Rejection) and (rejection.locator, rejection.reason) == ("DDI-Toy.d3", "no sentences")
    (rejection,) = read(write(tmp_path, '<document id="DDI-Toy.d4"><sentence id="s0"/></document>'))
    assert rejection.reason == "missing attribute" and "s0" in rejection.detail


def test_folder_is_expanded_sorted_and_missing_folder_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "set", DOC.replace("DDI-Toy.d1", "DDI-Toy.b"), "b.xml")
    write(tmp_path / "set", DOC.replace("DDI-Toy.d1", "DDI-Toy.a"), "a.xml")
    assert [r.document_id for r in read(tmp_path / "set")] == ["DDI-Toy.a", "DDI-Toy.b"]
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "absent")


def test_undeclared_entity_type_is_an_invalid_record(tmp_path: Path) -> None:
    write(tmp_path, with_sentence('<entity id="x.e0" charOffset="6-10" type="herb" text="alpha"/>'))
    source = Source(format="ddi-xml", splits={"train": (SourceFile("toy.xml"),)})
    result = convert_source("toy", source, tmp_path, language="en", labels=LABELS, progress=False)
    (problem,) = result.problems
    assert (problem.path, problem.locator, problem.reason) == (str(tmp_path / "toy.xml"), "DDI-Toy.d2", "invalid record")
    assert "'herb' not in the declared entity types" in problem.detail


def test_whitespace_is_ignored_only_for_discontinuous_mentions(tmp_path: Path) -> None:
    # Continuous: the text must be spelled exactly ("alpha -" equals the piece "alpha-" only ignoring whitespace).
    continuous = '<entity id="x.e0" charOffset="6-11" type="group" text="alpha -"/>'
    defect, record = read(write(tmp_path, with_sentence(continuous)), max_shift=0)
    assert isinstance(defect, Defect) and (defect.locator, defect.reason) == ("x.e0", "mention text disagrees with its offsets")
    assert record.entities == []
    # Discontinuous: pieces "alpha-" + "blocking agents" spell "alpha- blocking agents" ignoring whitespace.
    discontinuous = '<entity id="x.e1" charOffset="6-11;22-36" type="group" text="alpha- blocking agents"/>'
    (record,) = read(write(tmp_path, with_sentence(discontinuous)), max_shift=0)
    assert record.entities[0].text == ["alpha-", "blocking agents"]


def test_entity_declarations_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '<?xml version="1.0"?>\n<!DOCTYPE document [<!ENTITY x "boom">]>\n<document id="d">&x;</document>')
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:2" in str(err.value) and "entity declarations are not allowed" in str(err.value)
