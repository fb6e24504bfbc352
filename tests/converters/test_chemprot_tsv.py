"""Original ChemProt TSV reader on invented abstracts, and its agreement with SciBERT's marked sentences on the real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.chemprot_tsv import ChemprotTsvOptions, ChemprotTsvReader
from biohub.schema import KBRecord, document_text, validate
from tests.converters.conftest import read_items

TITLE = "Torvamib blocks velkinase."
ABSTRACT = "Torvamib inhibited VK3 and raised VK5 in mice."
#           0         1         2         3         4
# offsets into TITLE + " " + ABSTRACT: Torvamib 27-35, VK3 46-49, VK5 61-64


def files(tmp_path: Path, abstracts: list[str], entities: list[str], relations: list[str] | None) -> list[Path]:
    paths = []
    for role, lines in (("abstracts", abstracts), ("entities", entities), ("relations", relations)):
        if lines is None:
            continue
        path = tmp_path / f"toy_{role}.tsv"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        paths.append(path)
    return paths


def read(paths: list[Path], **options) -> list:
    return read_items(ChemprotTsvReader(ChemprotTsvOptions(**options)), paths)


ENTITIES = [
    "111\tT1\tCHEMICAL\t0\t8\tTorvamib",
    "111\tT2\tCHEMICAL\t27\t35\tTorvamib",
    "111\tT3\tGENE-Y\t46\t49\tVK3",
    "111\tT4\tGENE-N\t61\t64\tVK5",
]
RELATIONS = ["111\tCPR:4\tY \tINHIBITOR\tArg1:T2\tArg2:T3", "111\tCPR:2\tN \tREGULATOR\tArg1:T2\tArg2:T4"]


def test_abstract_becomes_a_record_with_title_and_abstract_passages(tmp_path: Path) -> None:
    (record,) = read(files(tmp_path, [f"111\t{TITLE}\t{ABSTRACT}"], ENTITIES, RELATIONS))
    assert isinstance(record, KBRecord) and record.id == "toy.train.111"
    assert [(p.type, p.offsets) for p in record.passages] == [("title", [(0, 26)]), ("abstract", [(27, 73)])]
    assert document_text(record) == f"{TITLE} {ABSTRACT}"
    assert [(e.type, e.text, e.offsets) for e in record.entities] == [
        ("CHEMICAL", ["Torvamib"], [(0, 8)]),
        ("CHEMICAL", ["Torvamib"], [(27, 35)]),
        ("GENE-Y", ["VK3"], [(46, 49)]),
        ("GENE-N", ["VK5"], [(61, 64)]),
    ]
    assert [(r.type, r.arg1_id, r.arg2_id) for r in record.relations] == [("INHIBITOR", "toy.train.111.e1", "toy.train.111.e2")]
    meta = json.loads(record.meta)
    assert meta["unevaluated_relations"] == [
        {"group": "CPR:2", "label": "REGULATOR", "arg1_id": "toy.train.111.e1", "arg2_id": "toy.train.111.e3"}
    ]
    assert meta["source"] == {"path": "toy_abstracts.tsv", "line": 1}
    assert validate(record) == []


def test_relation_type_options(tmp_path: Path) -> None:
    paths = files(tmp_path, [f"111\t{TITLE}\t{ABSTRACT}"], ENTITIES, RELATIONS)
    (record,) = read(paths, evaluated_only=False, relation_type="group")
    assert [r.type for r in record.relations] == ["CPR:4", "CPR:2"]
    with pytest.raises(ValueError, match="relation_type"):
        ChemprotTsvOptions(relation_type="fine")


def test_mention_disagreeing_with_offsets_is_a_defect(tmp_path: Path) -> None:
    entities = [*ENTITIES[:2], "111\tT3\tGENE-Y\t45\t48\tVK3", "111\tT4\tGENE-N\t61\t99\tVK5"]
    items = read(files(tmp_path, [f"111\t{TITLE}\t{ABSTRACT}"], entities, RELATIONS))
    defects = [i for i in items if isinstance(i, Defect)]
    assert [(d.locator, d.reason) for d in defects] == [
        ("3", "mention text disagrees with its offsets"),
        ("4", "offsets out of range"),
        ("1", "relation argument missing"),
        ("2", "relation argument missing"),
    ]
    assert defects[0].path.endswith("toy_entities.tsv") and "'VK3' != ' VK'" in defects[0].detail
    (record,) = [i for i in items if isinstance(i, KBRecord)]
    assert len(record.entities) == 2 and record.relations == []


def test_wrong_column_counts_are_rejected_with_lines(tmp_path: Path) -> None:
    abstracts = [f"111\t{TITLE}\t{ABSTRACT}", "222\tonly a title", f"333\t{TITLE}\t{ABSTRACT}"]
    entities = [*ENTITIES, "333\tT1\tCHEMICAL\t0\t8"]
    items = read(files(tmp_path, abstracts, entities, None))
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert [(r.locator, r.reason) for r in rejections] == [("2", "wrong column count"), ("3", "wrong column count")]
    assert "toy_entities.tsv line 5: 5 columns" in rejections[1].detail


def test_annotations_without_abstract_and_duplicates_are_rejected(tmp_path: Path) -> None:
    abstracts = [f"111\t{TITLE}\t{ABSTRACT}", f"111\t{TITLE}\t{ABSTRACT}"]
    items = read(files(tmp_path, abstracts, [*ENTITIES, "999\tT1\tCHEMICAL\t0\t3\tabc"], None))
    rejections = [(i.locator, i.reason) for i in items if isinstance(i, Rejection)]
    assert rejections == [("2", "duplicate PMID"), ("5", "annotations without abstract")]


def test_truncated_files_reject_abstracts_whose_annotations_are_not_known_whole(tmp_path: Path) -> None:
    abstracts = [f"{pmid}\t{TITLE}\t{ABSTRACT}" for pmid in ("111", "222", "333", "444", "555", "666")]
    entities = [
        *ENTITIES,  # 111: complete
        "222\tT2\tCHEMICAL\t27\t35\tTorvamib",  # 222: ids do not start at T1
        "333\tT1\tCHEMICAL\t27\t35\tTorvamib",  # 333: relation names T3, not listed
        "555\tT1\tCHEMICAL\t27\t35\tTorvamib",  # 555: absent from the relation file
        "444\tT1\tCHEMICAL\t27\t35\tTorvamib",  # 444: last group of the entity file (may be cut)
    ]
    relations = [RELATIONS[0], "333\tCPR:4\tY \tINHIBITOR\tArg1:T1\tArg2:T3", "444\tCPR:4\tY \tINHIBITOR\tArg1:T1\tArg2:T1"]
    items = read(files(tmp_path, abstracts, entities, relations), truncated_files=True)
    outcome = [(i.locator, i.reason) if isinstance(i, Rejection) else i.document_id for i in items]
    assert outcome == [
        "111",
        ("2", "entity list incomplete"),
        ("3", "entity list incomplete"),
        ("4", "entities possibly truncated"),
        ("5", "relations missing (file truncated)"),
        ("6", "entities missing (file truncated)"),
    ]
    assert "T2..T2" in items[1].detail and "T3" in items[2].detail
    # without the option, the same abstracts are converted (666 with no annotations, 333's relation a defect)
    relaxed = read(files(tmp_path, abstracts, entities, relations))
    assert sum(isinstance(i, KBRecord) for i in relaxed) == 6
    assert [(d.locator, d.reason) for d in relaxed if isinstance(d, Defect)] == [("2", "relation argument missing")]


def test_missing_abstract_file_and_wrong_encoding_are_errors(tmp_path: Path) -> None:
    paths = files(tmp_path, [f"111\t{TITLE}\t{ABSTRACT}"], ENTITIES, RELATIONS)
    with pytest.raises(ConvertError, match="no \\*abstracts\\*.tsv file"):
        read(paths[1:])
    paths[0].write_bytes(f"111\t{TITLE}\t{ABSTRACT}\n222\t标题\t摘要\n".encode("gb18030"))
    with pytest.raises(ConvertError) as err:
        read(paths)
    assert f"{paths[0]}:2" in str(err.value) and "not valid utf-8" in str(err.value)


def test_unrecognised_tsv_file_is_an_error_naming_it(tmp_path: Path) -> None:
    paths = files(tmp_path, [f"111\t{TITLE}\t{ABSTRACT}"], ENTITIES, RELATIONS)
    gold = tmp_path / "toy_gold_standard.tsv"
    gold.write_text("111\tCPR:4\tArg1:T2\tArg2:T3\n", encoding="utf-8")
    with pytest.raises(ConvertError) as err:
        read([*paths, gold])
    assert str(gold) in str(err.value) and "not recognised as one of the abstracts, entities, relations files" in str(err.value)
    both = tmp_path / "toy_entities_relations.tsv"
    both.write_text("", encoding="utf-8")
    with pytest.raises(ConvertError, match="it names entities and relations"):
        read([*paths, both])
    # A folder is expanded to its .tsv files, so a stray one there is named too.
    with pytest.raises(ConvertError, match="toy_entities_relations.tsv"):
        read([tmp_path])


# --------------------------------------------------------------------------------------------- real data
@pytest.mark.real_corpora
def test_scibert_pairs_agree_with_the_original_tsvs(mirror: Path) -> None:
    """On the abstracts the partial TSVs hold whole, SciBERT's candidate pairs are exactly the evaluated relations,
    and every cleaned SciBERT train/dev sentence occurs verbatim in that split's abstracts."""
    from biohub.converters.catalog import load_catalog
    from biohub.converters.convert import convert_entry

    entry = load_catalog()["chemprot"]
    reference = convert_entry(entry, mirror, progress=False)
    original = convert_entry(entry, mirror, alternate="original_tsv", progress=False)
    prefix = {"train": "training", "validation": "development"}
    for split in ("train", "validation"):
        lines = (
            (mirror / f"chemprot/original_partial/chemprot_{prefix[split]}_abstracts.tsv")
            .read_text(encoding="utf-8")
            .splitlines()
        )
        every_abstract = "\n".join(" ".join(line.split("\t")[1:]) for line in lines)
        sentences = [r.passages[0].text[0] for r in reference.records[split]]
        assert all(sentence in every_abstract for sentence in sentences), split
        texts = {r.document_id: document_text(r) for r in original.records[split]}
        gold, found = set(), set()
        for record in original.records[split]:
            by_id = {e.id: e for e in record.entities}
            gold |= {
                (record.document_id, by_id[r.arg1_id].offsets[0], by_id[r.arg2_id].offsets[0], r.type) for r in record.relations
            }
        for record in reference.records[split]:
            sentence = record.passages[0].text[0]
            for pmid, text in texts.items():
                start = text.find(sentence)
                if start < 0:
                    continue
                types = {e.offsets[0]: e.type for e in next(r for r in original.records[split] if r.document_id == pmid).entities}
                a, b = ((start + e.offsets[0][0], start + e.offsets[0][1]) for e in record.entities)
                chemical, gene = (a, b) if types.get(a) == "CHEMICAL" else (b, a)
                found.add((pmid, chemical, gene, record.relations[0].type))
        assert found == gold and len(gold) == {"train": 104, "validation": 321}[split]
