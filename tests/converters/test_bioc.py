"""BioC XML reader: exact records from a tiny invented collection, and every bad-input case named by file and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.bioc import BiocOptions, BiocReader
from biohub.schema import KBRecord, LabelSet, Normalization, validate
from tests.converters.conftest import read_items, write_text

TITLE = "Cocaine causes chest pain."
ABSTRACT = "Chest and abdominal pain followed cocaine use."


def annotation(ann_id: str, kind: str, mesh: str, locations: list[tuple[int, int]], text: str, extra: str = "") -> str:
    locs = "".join(f"<location offset='{o}' length='{n}'/>" for o, n in locations)
    return (
        f"<annotation id='{ann_id}'><infon key='type'>{kind}</infon>{extra}<infon key='MESH'>{mesh}</infon>{locs}"
        f"<text>{text}</text></annotation>"
    )


def passage(kind: str, offset: int, text: str, annotations: str = "") -> str:
    return f"<passage><infon key='type'>{kind}</infon><offset>{offset}</offset><text>{text}</text>{annotations}</passage>"


def collection(*documents: str) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?><!DOCTYPE collection SYSTEM 'BioC.dtd'>\n<collection><source>toy</source>\n"
        + "\n".join(documents)
        + "\n</collection>\n"
    )


COMPOSITE = "<infon key='CompositeRole'>CompositeMention</infon>"
INDIVIDUAL = "<infon key='CompositeRole'>IndividualMention</infon>"
DOC_1 = (
    "<document><id>2001</id>"
    + passage(
        "title",
        0,
        TITLE,
        annotation("0", "Chemical", "D003042", [(0, 7)], "Cocaine")
        + annotation("1", "Disease", "D002637", [(15, 10)], "chest pain"),
    )
    + passage(
        "abstract",
        27,
        ABSTRACT,
        annotation("2", "Disease", "D002637|D015746", [(27, 24)], "Chest and abdominal pain", COMPOSITE)
        + annotation("3", "Disease", "D002637", [(27, 5), (47, 4)], "Chest pain", INDIVIDUAL)
        + annotation("4", "Chemical", "-1", [(61, 7)], "cocaine"),
    )
    + "<relation id='R0'><infon key='relation'>CID</infon>"
    "<infon key='Chemical'>D003042</infon><infon key='Disease'>D015746</infon></relation>"
    + "</document>"
)
DOC_2 = (
    "<document><id>2002</id><infon key='journal'>Toy J</infon>"
    + passage(
        "title",
        0,
        "Gout.",
        annotation("a", "Disease", "OMIM:138900", [(0, 4)], "Gout") + annotation("b", "Disease", "D006073", [(0, 4)], "Gout"),
    )
    + "<relation id='R1'><infon key='type'>Equal</infon><node refid='a' role='Left'/><node refid='b' role='Right'/></relation>"
    + "</document>"
)


def write(tmp_path: Path, text: str, name: str = "train.xml", encoding: str = "utf-8") -> Path:
    return write_text(tmp_path, name, text, encoding)


def read(path: Path, **options) -> list:
    options.setdefault("concept_infons", ["Chemical", "Disease"])
    return read_items(BiocReader(BiocOptions(**options)), path)


def test_collection_becomes_records_with_passages_mentions_and_relations(tmp_path: Path) -> None:
    first, second = read(write(tmp_path, collection(DOC_1, DOC_2)))
    assert isinstance(first, KBRecord) and isinstance(second, KBRecord)
    assert (first.id, first.document_id) == ("toy.train.2001", "2001")
    assert [(p.id, p.type, p.text, p.offsets) for p in first.passages] == [
        ("toy.train.2001.p0", "title", [TITLE], [(0, 26)]),
        ("toy.train.2001.p1", "abstract", [ABSTRACT], [(27, 73)]),
    ]
    assert [(e.id, e.type, e.text, e.offsets, e.normalized) for e in first.entities] == [
        ("toy.train.2001.e0", "Chemical", ["Cocaine"], [(0, 7)], [Normalization("MESH", "D003042")]),
        ("toy.train.2001.e1", "Disease", ["chest pain"], [(15, 25)], [Normalization("MESH", "D002637")]),
        (
            "toy.train.2001.e2",
            "Disease",
            ["Chest and abdominal pain"],
            [(27, 51)],
            [Normalization("MESH", "D002637"), Normalization("MESH", "D015746")],
        ),
        ("toy.train.2001.e3", "Disease", ["Chest", "pain"], [(27, 32), (47, 51)], [Normalization("MESH", "D002637")]),
        ("toy.train.2001.e4", "Chemical", ["cocaine"], [(61, 68)], []),
    ]
    # Concept-level relation: first mention of each concept (the composite mention carries D015746).
    (relation,) = first.relations
    assert (relation.id, relation.type, relation.arg1_id, relation.arg2_id) == (
        "toy.train.2001.r0",
        "CID",
        "toy.train.2001.e0",
        "toy.train.2001.e2",
    )
    assert relation.normalized == [Normalization("MESH", "D003042"), Normalization("MESH", "D015746")]
    assert json.loads(first.meta) == {
        "source": {"path": "train.xml", "record": "2001"},
        "annotation_infons": {
            "toy.train.2001.e2": {"CompositeRole": "CompositeMention"},
            "toy.train.2001.e3": {"CompositeRole": "IndividualMention"},
        },
    }
    # Node-based relation: arguments by refid, roles in meta; prefixed ids give their database.
    assert second.entities[0].normalized == [Normalization("OMIM", "138900")]
    (relation,) = second.relations
    assert (relation.type, relation.arg1_id, relation.arg2_id) == ("Equal", "toy.train.2002.e0", "toy.train.2002.e1")
    assert json.loads(second.meta)["relation_roles"] == {"toy.train.2002.r0": ["Left", "Right"]}
    assert json.loads(second.meta)["infons"] == {"journal": "Toy J"}
    labels = LabelSet(entity_types=("Chemical", "Disease"), relation_types=("CID", "Equal"))
    assert validate(first, labels) == [] and validate(second, labels) == []


def test_sentence_level_passages(tmp_path: Path) -> None:
    doc = (
        "<document><id>9</id><passage><infon key='type'>abstract</infon><offset>0</offset>"
        "<sentence><offset>0</offset><text>Gout.</text></sentence><sentence><offset>6</offset><text>Fever.</text>"
        + annotation("0", "Disease", "D005334", [(6, 5)], "Fever")
        + "</sentence></passage></document>"
    )
    (record,) = read(write(tmp_path, collection(doc)))
    assert [(p.type, p.text, p.offsets) for p in record.passages] == [
        ("sentence", ["Gout."], [(0, 5)]),
        ("sentence", ["Fever."], [(6, 12)]),
    ]
    assert record.entities[0].text == ["Fever"] and validate(record) == []


def test_concept_relations_find_the_known_infon_pairs_without_the_option(tmp_path: Path) -> None:
    """BC5CDR's Chemical/Disease and BioRED's entity1/entity2 infons are read with the default options (the
    fuzz campaign's finding: `convert --format bioc` dropped every BC5CDR relation); other infons go to meta."""
    (record,) = read(write(tmp_path, collection(DOC_1)), concept_infons=[])
    assert [(r.type, r.arg1_id, r.arg2_id) for r in record.relations] == [("CID", "toy.train.2001.e0", "toy.train.2001.e2")]
    biored = DOC_1.replace("'Chemical'>D003042", "'entity1'>D003042").replace("'Disease'>D015746", "'entity2'>D015746")
    typed = "<infon key='type'>Association</infon><infon key='novel'>No</infon>"
    biored = biored.replace("<infon key='relation'>CID</infon>", typed)
    (record,) = read(write(tmp_path, collection(biored)), concept_infons=[])
    (relation,) = record.relations
    assert (relation.type, relation.arg1_id, relation.arg2_id) == ("Association", "toy.train.2001.e0", "toy.train.2001.e2")
    assert relation.normalized == [Normalization("MESH", "D003042"), Normalization("MESH", "D015746")]
    assert json.loads(record.meta)["relation_infons"] == {relation.id: {"novel": "No"}}


def test_concept_relations_with_unknown_infon_names_are_listed_drops(tmp_path: Path) -> None:
    doc = DOC_1.replace("'Chemical'>", "'Drug'>").replace("'Disease'>D015746", "'Effect'>D015746")
    *defects, record = read(write(tmp_path, collection(doc)), concept_infons=[])
    assert [(d.locator, d.reason, d.dropped, d.annotation) for d in defects] == [
        ("2001", "relation without arguments", True, "relations")
    ]
    assert "Chemical/Disease or entity1/entity2" in defects[0].detail and "'Drug'" in defects[0].detail
    assert record.relations == []


def test_truncated_xml_names_file_and_line(tmp_path: Path) -> None:
    text = collection(DOC_1, DOC_2)
    path = write(tmp_path, text[: text.index("<document><id>2002")])
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:4" in str(err.value) and "invalid XML: no element found" in str(err.value)


def test_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, collection(DOC_2.replace("Toy J", "J\u00e4hrlich")), encoding="latin-1")
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:3" in str(err.value) and "invalid XML" in str(err.value)


def test_missing_file_and_wrong_root(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="absent.xml: file not found"):
        read(tmp_path / "absent.xml")
    path = write(tmp_path, "<document><id>1</id></document>")
    with pytest.raises(ConvertError, match="expected <collection>"):
        read(path)


def test_duplicate_and_id_less_documents_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, collection(DOC_2, DOC_2, "<document>" + passage("title", 0, "Gout.") + "</document>"))
    record, duplicate, anonymous = read(path)
    assert isinstance(record, KBRecord)
    assert (duplicate.path, duplicate.locator, duplicate.reason) == (str(path), "2002", "duplicate document")
    assert (anonymous.locator, anonymous.reason) == ("document 3", "missing document id")


def test_overlapping_passages_and_bad_offsets_reject_the_document(tmp_path: Path) -> None:
    overlapping = "<document><id>1</id>" + passage("title", 0, "Gout.") + passage("abstract", 3, "Fever.") + "</document>"
    bad = (
        "<document><id>2</id>" + passage("title", 0, "Gout.").replace("<offset>0</offset>", "<offset>x</offset>") + "</document>"
    )
    first, second = read(write(tmp_path, collection(overlapping, bad)))
    assert isinstance(first, Rejection) and isinstance(second, Rejection)
    assert (first.locator, first.reason) == ("1", "overlapping passages")
    assert (second.locator, second.reason) == ("2", "bad offset")


def test_annotation_problems_are_counted_defects(tmp_path: Path) -> None:
    annotations = (
        annotation("0", "Disease", "D006073", [(0, 4)], "Gout")
        + annotation("1", "Disease", "D006073", [(3, 40)], "t.")
        + annotation("2", "Disease", "D006073", [(0, 4)], "Gouty")
        + annotation("3", "Disease", "D006073", [(0, 4)], " Gout ")
        + "<annotation id='4'><infon key='MESH'>D1</infon><location offset='0' length='4'/></annotation>"
    )
    relation = "<relation id='R0'><infon key='relation'>X</infon><node refid='0' role='a'/><node refid='9' role='b'/></relation>"
    path = write(
        tmp_path, collection("<document><id>7</id>" + passage("title", 0, "Gout.", annotations) + relation + "</document>")
    )
    *defects, record = read(path)
    assert all(isinstance(d, Defect) and d.path == str(path) and d.locator == "7" for d in defects)
    assert [d.reason for d in defects] == [
        "mention offsets out of range",
        "mention text disagrees with its offsets",
        "mention text padded with whitespace (trimmed)",
        "annotation without type",
        "relation argument missing",
    ]
    assert "annotation 2: 'Gouty' != document text 'Gout'" in defects[1].detail
    assert [e.text for e in record.entities] == [["Gout"], ["Gout"]] and record.relations == []


def test_relation_to_an_unmentioned_concept_is_a_defect(tmp_path: Path) -> None:
    doc = DOC_1.replace("<infon key='Disease'>D015746</infon>", "<infon key='Disease'>D999999</infon>")
    defect, record = read(write(tmp_path, collection(doc)))
    assert (defect.locator, defect.reason) == ("2001", "relation concept not mentioned") and "D999999" in defect.detail
    assert record.relations == []


def test_node_without_refid_does_not_resolve_to_an_id_less_annotation(tmp_path: Path) -> None:
    annotations = (
        "<annotation><infon key='type'>Disease</infon><location offset='0' length='4'/><text>Gout</text></annotation>"
        + annotation("g", "Disease", "D006073", [(0, 4)], "Gout")
    )
    relation = "<relation id='R0'><infon key='relation'>X</infon><node role='a'/><node refid='g' role='b'/></relation>"
    empty_ref = "<relation id='R1'><infon key='relation'>X</infon><node refid='' role='a'/><node refid='g' role='b'/></relation>"
    path = write(
        tmp_path,
        collection("<document><id>7</id>" + passage("title", 0, "Gout.", annotations) + relation + empty_ref + "</document>"),
    )
    first, second, record = read(path)
    assert isinstance(first, Defect) and (first.locator, first.reason) == ("7", "relation argument missing")
    assert "relation R0" in first.detail and (second.reason, "relation R1" in second.detail) == (
        "relation argument missing",
        True,
    )
    assert len(record.entities) == 2 and record.relations == []


def test_repeated_annotation_id_is_a_defect_and_the_first_is_kept(tmp_path: Path) -> None:
    annotations = annotation("a", "Disease", "D006073", [(0, 4)], "Gout") + annotation("a", "Chemical", "D1", [(0, 4)], "Gout")
    relation = (
        "<relation id='R0'><infon key='relation'>Same</infon><node refid='a' role='x'/><node refid='a' role='y'/></relation>"
    )
    path = write(
        tmp_path, collection("<document><id>7</id>" + passage("title", 0, "Gout.", annotations) + relation + "</document>")
    )
    defect, record = read(path)
    assert isinstance(defect, Defect) and (defect.path, defect.locator, defect.reason) == (
        str(path),
        "7",
        "duplicate annotation id",
    )
    assert "annotation a" in defect.detail
    assert [e.type for e in record.entities] == ["Disease"]
    assert [(r.arg1_id, r.arg2_id) for r in record.relations] == [("toy.train.7.e0", "toy.train.7.e0")]


def test_relation_type_fallback_infon_is_an_option(tmp_path: Path) -> None:
    path = write(tmp_path, collection(DOC_2))  # its relation has only a 'type' infon
    (record,) = read(path)
    assert [r.type for r in record.relations] == ["Equal"]
    defect, record = read(path, relation_type_fallback="")
    assert (defect.locator, defect.reason) == ("2002", "relation without type") and record.relations == []


def test_repeated_infon_keys_are_counted_not_silently_dropped(tmp_path: Path) -> None:
    extra = "<infon key='CompositeRole'>CompositeMention</infon><infon key='CompositeRole'>IndividualMention</infon>"
    doc = (
        "<document><id>7</id><infon key='journal'>A</infon><infon key='journal'>B</infon>"
        + passage("title", 0, "Gout.", annotation("a", "Disease", "D006073", [(0, 4)], "Gout", extra))
        + "</document>"
    )
    first, second, record = read(write(tmp_path, collection(doc)))
    assert [(d.locator, d.reason) for d in (first, second)] == [("7", "repeated infon key"), ("7", "repeated infon key")]
    assert "document infons: infon 'journal' repeated, kept 'A', dropped 'B'" in first.detail
    assert "annotation a: infon 'CompositeRole' repeated" in second.detail and "'IndividualMention'" in second.detail
    meta = json.loads(record.meta)
    assert meta["infons"] == {"journal": "A"} and meta["annotation_infons"] == {
        "toy.train.7.e0": {"CompositeRole": "CompositeMention"}
    }


def test_entity_declarations_are_refused(tmp_path: Path) -> None:
    text = "<?xml version='1.0'?><!DOCTYPE collection [<!ENTITY x 'boom'>]>\n<collection>&x;</collection>"
    path = write(tmp_path, text)
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:1" in str(err.value) and "entity declarations are not allowed" in str(err.value)


@pytest.mark.real_corpora
@pytest.mark.slow
def test_bc5cdr_bioc_converts_every_cid_relation_with_the_default_options(mirror: Path, tmp_path: Path) -> None:
    """`biohub convert --format bioc` on BC5CDR's BioC files, no options: SOURCE.md's 1,038 / 1,012 / 1,066 CID
    relations and 9,570 / 9,773 / 9,928 annotations are all read and accounted for (the only drops are the four
    IndividualMention annotations whose locations upstream shifted, listed; --strict therefore fails)."""
    from typer.testing import CliRunner

    from biohub.cli import app

    folder = mirror / "bc5cdr" / "original-data"
    names = ("CDR_TrainingSet.BioC.xml", "CDR_DevelopmentSet.BioC.xml", "CDR_TestSet.BioC.xml")
    args = ["convert", "--format", "bioc", "--name", "cdr", "--lang", "en", "--out", str(tmp_path)]
    args += [item for name in names for item in ("--input", str(folder / name))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    ledger = json.loads((tmp_path / "ledger.json").read_text(encoding="utf-8"))["cdr"]
    annotations = {split: ledger[split]["annotations"] for split in ("train", "validation", "test")}
    assert {split: a["relations"] for split, a in annotations.items()} == {
        split: {"read": n, "converted": n, "dropped": 0, "in_rejected_records": 0}
        for split, n in (("train", 1038), ("validation", 1012), ("test", 1066))
    }
    entities = {split: a["entities"] for split, a in annotations.items()}
    assert {split: (row["read"], row["converted"], row["dropped"]) for split, row in entities.items()} == {
        "train": (9570, 9567, 3),
        "validation": (9773, 9772, 1),
        "test": (9928, 9928, 0),
    }
    assert {split: ledger[split]["counts"]["relation_types"] for split in ledger} == {
        "train": {"CID": 1038}, "validation": {"CID": 1012}, "test": {"CID": 1066}
    }
    rows = [json.loads(line) for line in (tmp_path / "cdr" / "rejections.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4 and {row["path"] for row in rows} == {str(folder / names[0]), str(folder / names[1])}
    strict = CliRunner().invoke(app, [*args, "--strict"])
    assert strict.exit_code == 2 and "0 record(s) rejected, 4 annotation(s) dropped" in strict.output
