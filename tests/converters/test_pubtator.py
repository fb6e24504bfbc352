"""PubTator reader: exact records from a tiny invented file, and every bad-input case named by file:line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.catalog import Source, SourceFile
from biohub.converters.convert import convert_source
from biohub.converters.formats import bioc, pubtator
from biohub.converters.formats.pubtator import PubtatorOptions, PubtatorReader
from biohub.converters.kb import MENTION_DISAGREES, MENTION_PADDED, concept_arguments, mention_problem
from biohub.schema import Entity, KBRecord, LabelSet, Normalization, validate
from tests.converters.conftest import read_items, write_text

TITLE = "Aspirin induced asthma in adults."
ABSTRACT = "Breast and ovarian cancer patients received aspirin."
GOOD = (
    f"1001|t|{TITLE}\n"
    f"1001|a|{ABSTRACT}\n"
    "1001\t0\t7\tAspirin\tChemical\tD001241\n"
    "1001\t16\t22\tasthma\tDisease\tOMIM:600807 \n"
    "1001\t34\t59\tBreast and ovarian cancer\tDisease\tD001943|D010051\tBreast cancer|ovarian cancer\n"
    "1001\t78\t85\taspirin\tChemical\t-1\n"
    "1001\tCID\tD001241\tOMIM:600807\n"
    "\n"
    "1002|t|Gout and fever.\n"
    "1002|a|\n"
    "1002\t0\t4\tGout\tDisease\tD006073+D005334\n"
)


def write(tmp_path: Path, text: str, name: str = "train.txt", encoding: str = "utf-8") -> Path:
    return write_text(tmp_path, name, text, encoding)


def read(path: Path, **options) -> list:
    return read_items(PubtatorReader(PubtatorOptions(**options)), path)


def kinds(items: list) -> list[str]:
    return [type(item).__name__ for item in items]


def test_documents_become_records_with_passages_mentions_and_relations(tmp_path: Path) -> None:
    first, second = read(write(tmp_path, GOOD))
    assert isinstance(first, KBRecord) and isinstance(second, KBRecord)
    assert (first.id, first.document_id, first.split) == ("toy.train.1001", "1001", "train")
    assert [(p.id, p.type, p.text, p.offsets) for p in first.passages] == [
        ("toy.train.1001.p0", "title", [TITLE], [(0, 33)]),
        ("toy.train.1001.p1", "abstract", [ABSTRACT], [(34, 86)]),
    ]
    assert [(e.id, e.type, e.text, e.offsets, e.normalized) for e in first.entities] == [
        ("toy.train.1001.e0", "Chemical", ["Aspirin"], [(0, 7)], [Normalization("MESH", "D001241")]),
        ("toy.train.1001.e1", "Disease", ["asthma"], [(16, 22)], [Normalization("OMIM", "600807")]),
        (
            "toy.train.1001.e2",
            "Disease",
            ["Breast and ovarian cancer"],
            [(34, 59)],
            [Normalization("MESH", "D001943"), Normalization("MESH", "D010051")],
        ),
        ("toy.train.1001.e3", "Chemical", ["aspirin"], [(78, 85)], []),
    ]
    (relation,) = first.relations
    assert (relation.id, relation.type, relation.arg1_id, relation.arg2_id) == (
        "toy.train.1001.r0",
        "CID",
        "toy.train.1001.e0",
        "toy.train.1001.e1",
    )
    assert relation.normalized == [Normalization("MESH", "D001241"), Normalization("OMIM", "600807")]
    assert json.loads(first.meta) == {
        "source": {"path": "train.txt", "line": 1},
        "individual_mentions": {"toy.train.1001.e2": ["Breast cancer", "ovarian cancer"]},
        "concept_ids": {"toy.train.1001.e2": "D001943|D010051"},
    }
    # An empty abstract still gives its passage; "+" splits combined concepts.
    assert second.passages[1].text == [""] and second.passages[1].offsets == [(16, 16)]
    assert second.entities[0].normalized == [Normalization("MESH", "D006073"), Normalization("MESH", "D005334")]
    assert json.loads(second.meta)["concept_ids"] == {"toy.train.1002.e0": "D006073+D005334"}
    labels = LabelSet(entity_types=("Chemical", "Disease"), relation_types=("CID",))
    assert validate(first, labels) == [] and validate(second, labels) == []


def test_default_db_option(tmp_path: Path) -> None:
    path = write(tmp_path, "7|t|Gout.\n7\t0\t4\tGout\tDisease\tD006073\n")
    (record,) = read(path, default_db="MeSH")
    assert record.entities[0].normalized == [Normalization("MeSH", "D006073")]


def test_a_document_without_blank_line_separator_still_splits_on_the_title(tmp_path: Path) -> None:
    path = write(tmp_path, "1|t|Gout.\n1\t0\t4\tGout\tDisease\tD006073\n2|t|Fever.\n2\t0\t5\tFever\tDisease\tD005334\n")
    assert [r.document_id for r in read(path)] == ["1", "2"]


def test_duplicate_pmid_is_rejected_naming_the_first_copy(tmp_path: Path) -> None:
    path = write(tmp_path, "5|t|Gout.\n\n5|t|Gout.\n")
    record, rejection = read(path)
    assert isinstance(record, KBRecord) and isinstance(rejection, Rejection)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "3", "duplicate document")
    assert "already read at train.txt:1" in rejection.detail


def test_wrong_column_count_rejects_the_document_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "5|t|Gout.\n5\t0\t4\tGout\tDisease\n\n6|t|Fever.\n")
    rejection, record = read(path)
    assert isinstance(rejection, Rejection) and isinstance(record, KBRecord)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "2", "wrong column count")
    assert "line 2: 5 columns" in rejection.detail


def test_non_integer_offsets_reject_the_document(tmp_path: Path) -> None:
    (rejection,) = read(write(tmp_path, "5|t|Gout.\n5\t0\tfour\tGout\tDisease\tD006073\n"))
    assert (rejection.locator, rejection.reason) == ("2", "bad offsets")


def test_annotation_of_another_pmid_rejects_the_document(tmp_path: Path) -> None:
    (rejection,) = read(write(tmp_path, "5|t|Gout.\n6\t0\t4\tGout\tDisease\tD006073\n"))
    assert (rejection.locator, rejection.reason) == ("2", "PMID mismatch")


def test_annotations_without_title_are_rejected(tmp_path: Path) -> None:
    (rejection,) = read(write(tmp_path, "5\t0\t4\tGout\tDisease\tD006073\n"))
    assert (rejection.locator, rejection.reason) == ("1", "missing title")


def test_offsets_out_of_range_drop_the_mention_as_a_defect(tmp_path: Path) -> None:
    defect, record = read(write(tmp_path, "5|t|Gout.\n5\t0\t4\tGout\tDisease\tD006073\n5\t3\t40\tt.\tDisease\tD006073\n"))
    assert isinstance(defect, Defect) and isinstance(record, KBRecord)
    assert (defect.locator, defect.reason) == ("3", "mention offsets out of range")
    assert [e.text for e in record.entities] == [["Gout"]]


def test_mention_text_disagreeing_with_offsets_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, "5|t|Gout and fever.\n5\t0\t4\tGout\tDisease\tD006073\n5\t9\t14\tfevers\tDisease\tD005334\n")
    defect, record = read(path)
    assert (defect.path, defect.locator, defect.reason) == (str(path), "3", "mention text disagrees with its offsets")
    assert "'fevers' != document text 'fever'" in defect.detail
    assert len(record.entities) == 1


def test_whitespace_padded_mention_text_is_trimmed_and_counted(tmp_path: Path) -> None:
    defect, record = read(write(tmp_path, "5|t|Gout and fever.\n5\t9\t14\tfever  \tDisease\tD005334\n"))
    assert (defect.locator, defect.reason) == ("2", "mention text padded with whitespace (trimmed)")
    assert record.entities[0].text == ["fever"]


def test_relation_to_an_unmentioned_concept_is_dropped_as_a_defect(tmp_path: Path) -> None:
    path = write(tmp_path, "5|t|Gout.\n5\t0\t4\tGout\tDisease\tD006073\n5\tCID\tD000001\tD006073\n5\tCID\tD000001\tD006073\n")
    first, second, record = read(path)
    assert (first.locator, first.reason) == ("3", "relation concept not mentioned")
    assert "no mention normalised to D000001" in first.detail
    assert (second.locator, second.reason) == ("4", "duplicate relation")
    assert record.relations == []


def test_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "5|t|Gout.\n\n6|t|Gicht \u00fcber.\n", encoding="latin-1")
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:3" in str(err.value) and "not valid utf-8" in str(err.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConvertError) as err:
        read(tmp_path / "absent.txt")
    assert "absent.txt" in str(err.value) and "file not found" in str(err.value)


def test_undeclared_type_is_rejected_by_the_converter_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "5|t|Gout.\n\n6|t|Fever.\n6\t0\t5\tFever\tSymptom\tD005334\n", name="corpus.txt")
    source = Source("pubtator", {"train": (SourceFile("corpus.txt"),)})
    result = convert_source("toy", source, tmp_path, language="en", labels=LabelSet(entity_types=("Disease",)), progress=False)
    assert result.ledger["train"].converted == 1 and dict(result.ledger["train"].reasons) == {"invalid record": 1}
    (rejection,) = result.problems
    assert (rejection.path, rejection.locator) == (str(tmp_path / "corpus.txt"), "3")
    assert "'Symptom' not in the declared" in rejection.detail


def test_shared_mention_check_and_concept_arguments() -> None:
    assert mention_problem("fever", "fever") is None
    assert mention_problem(" fever  ", "fever") == MENTION_PADDED
    assert mention_problem("fevers", "fever") == MENTION_DISAGREES
    entities = [
        Entity("e0", "Chemical", ["a"], [(0, 1)]),
        Entity("e1", "Disease", ["b"], [(2, 3)]),
        Entity("e2", "Disease", ["c"], [(4, 5)]),
    ]
    concepts_of = [["C1"], ["D1", "D2"], ["D2"]]
    assert concept_arguments(entities, concepts_of, ["C1", "D2"]) == (["e0", "e1"], [])  # the first mention of each
    assert concept_arguments(entities, concepts_of, ["C9", "D1"]) == (["e1"], ["C9"])
    # BioC uses the very same implementations (one shared copy, no drift between the two readers).
    assert bioc.mention_problem is mention_problem and bioc.concept_arguments is concept_arguments
    assert pubtator.mention_problem is mention_problem and pubtator.concept_arguments is concept_arguments


def test_no_format_module_imports_another() -> None:
    """Helpers shared by several formats live in converters/ (kb, json_items), never in one format module."""
    import ast

    folder = Path(bioc.__file__).parent
    offenders = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in getattr(node, "names", [])]
            if isinstance(node, (ast.Import, ast.ImportFrom)) and any(n.startswith("biohub.converters.formats") for n in names):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
