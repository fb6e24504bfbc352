"""PubTator and BioC readers, issue 20 additions: relation lines between concept ids with extra columns (BioRED's
novelty), extra mention columns holding more ids (tmVar's RSID), and how id columns read (separators, databases by
pattern, by mention type, by renamed prefix). Tiny invented fixtures; bad input becomes a rejection with its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import Rejection
from biohub.converters.formats.bioc import BiocOptions, BiocReader
from biohub.converters.formats.pubtator import PubtatorOptions, PubtatorReader
from biohub.converters.kb import ConceptIds, split_concepts
from biohub.errors import ConfigError
from biohub.schema import KBRecord, Normalization, Relation, validate
from tests.converters.conftest import read_items, write_text

BIORED_LIKE = {
    "id_separators": ",",
    "type_dbs": {"Gene": "NCBIGene"},
    "db_patterns": {r"rs\d+": "dbSNP"},
    "relation_columns": ["novel"],
}
TITLE = "Invented: drug X lowers gene Y."  # drug X 10-16, gene Y 24-30
ABSTRACT = "Variant c|DEL||9 and rs123 of genes A,B."  # offsets from 32


def pubtator(tmp_path: Path, lines: list[str], **options: object) -> list:
    text = f"7|t|{TITLE}\n7|a|{ABSTRACT}\n" + "".join(line + "\n" for line in lines)
    return read_items(PubtatorReader(PubtatorOptions(**options)), write_text(tmp_path, "t.txt", text))


MENTIONS = [
    "7\t10\t16\tdrug X\tChemical\tD001",
    "7\t24\t30\tgene Y\tGene\t42",
    "7\t40\t48\tc|DEL||9\tVariant\tc|DEL||9",
    "7\t53\t58\trs123\tVariant\trs123",
    "7\t62\t69\tgenes A\tGene\t1,2",
]


def test_relation_lines_between_concepts_keep_their_novelty_column(tmp_path: Path) -> None:
    relations = ["7\tNegative_Correlation\tD001\t42\tNovel", "7\tAssociation\trs123\t2\tNo"]
    record, = pubtator(tmp_path, [*MENTIONS, *relations], **BIORED_LIKE)
    assert isinstance(record, KBRecord)
    assert [(e.text, e.normalized) for e in record.entities] == [
        (["drug X"], [Normalization("MESH", "D001")]),
        (["gene Y"], [Normalization("NCBIGene", "42")]),
        (["c|DEL||9"], [Normalization("MESH", "c|DEL||9")]),  # no type_dbs entry for Variant: the default db
        (["rs123"], [Normalization("dbSNP", "rs123")]),
        (["genes A"], [Normalization("NCBIGene", "1"), Normalization("NCBIGene", "2")]),
    ]
    rid = "toy.train.7"
    assert record.relations == [
        Relation(f"{rid}.r0", "Negative_Correlation", f"{rid}.e0", f"{rid}.e1",
                 [Normalization("MESH", "D001"), Normalization("NCBIGene", "42")]),
        Relation(f"{rid}.r1", "Association", f"{rid}.e3", f"{rid}.e4",
                 [Normalization("dbSNP", "rs123"), Normalization("NCBIGene", "2")]),
    ]
    meta = json.loads(record.meta)
    assert meta["relation_infons"] == {f"{rid}.r0": {"novel": "Novel"}, f"{rid}.r1": {"novel": "No"}}
    assert meta["concept_ids"] == {f"{rid}.e4": "1,2"}  # only the column with two ids
    assert validate(record) == []


def test_a_relation_line_without_its_extra_column_or_a_line_of_unknown_shape_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    rejection, = pubtator(tmp_path, [*MENTIONS, "7\tBind\tD001\t42"], **BIORED_LIKE)
    assert isinstance(rejection, Rejection)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "8", "wrong column count")
    assert "4 columns, expected 6-7 (mention) or 5 (relation)" in rejection.detail
    rejection, = pubtator(tmp_path, [MENTIONS[0], "7\tTranslation 7488T/C\tsome words"])
    assert (rejection.locator, rejection.reason) == ("4", "wrong column count")


def test_a_seventh_column_of_ids_adds_normalisations_and_a_whole_column_can_be_one_id(tmp_path: Path) -> None:
    options = {"default_db": "tmVar", "id_separators": "", "db_patterns": {r"rs\d+": "dbSNP"}, "db_names": {"RSID": "dbSNP"},
               "mention_columns": ["concept_ids"]}
    lines = ["7\t40\t48\tc|DEL||9\tDNAMutation\tc|DEL||9\tRSID:555", "7\t53\t58\trs123\tSNP\trs123",
             "7\t62\t69\tgenes A\tGene\t1,2"]
    record, = pubtator(tmp_path, lines, **options)
    assert [e.normalized for e in record.entities] == [
        [Normalization("tmVar", "c|DEL||9"), Normalization("dbSNP", "555")],
        [Normalization("dbSNP", "rs123")],
        [Normalization("tmVar", "1,2")],
    ]
    assert "individual_mentions" not in record.meta and "concept_ids" not in record.meta


def test_unknown_mention_columns_and_bad_patterns_are_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="mention_columns: \\['rsid'\\] unknown"):
        PubtatorReader.from_mapping({"mention_columns": ["rsid"]})
    with pytest.raises(ConfigError, match="db_patterns: '\\(' is not a regular expression"):
        PubtatorReader.from_mapping({"db_patterns": {"(": "x"}})


def test_concept_ids_default_reading_is_the_one_of_ncbi_disease_and_bc5cdr() -> None:
    rules = ConceptIds("MESH")
    for raw in ("D1|D2", "D1+OMIM:3", "-1", " D5 ", "-", ""):
        assert rules.split(raw) == split_concepts(raw, "MESH"), raw
    assert ConceptIds("MESH", ",", db_names={"RSID": "dbSNP"}).split("RSID:9,-,D1") == (
        ["RSID:9", "D1"], [Normalization("dbSNP", "9"), Normalization("MESH", "D1")]
    )


BIOC = """<?xml version="1.0" encoding="UTF-8"?>
<collection><source>invented</source><document><id>9</id>
<passage><infon key="type">title</infon><offset>0</offset><text>Drug X binds gene Y.</text>
<annotation id="0"><infon key="identifier">D001</infon><infon key="type">Chemical</infon>
<location offset="0" length="6"/><text>Drug X</text></annotation>
<annotation id="1"><infon key="identifier">42,43</infon><infon key="type">Gene</infon>
<location offset="13" length="6"/><text>gene Y</text></annotation></passage>
<relation id="R0"><infon key="entity1">D001</infon><infon key="entity2">43</infon><infon key="type">Bind</infon>
<infon key="novel">Novel</infon></relation>
</document></collection>
"""


def test_bioc_reads_ids_with_the_same_rules_and_keeps_the_novelty_infon(tmp_path: Path) -> None:
    options = BiocOptions(id_infons=["identifier"], id_separators=",", type_dbs={"Gene": "NCBIGene"})
    record, = read_items(BiocReader(options), write_text(tmp_path, "c.xml", BIOC))
    assert isinstance(record, KBRecord)
    assert [e.normalized for e in record.entities] == [
        [Normalization("MESH", "D001")], [Normalization("NCBIGene", "42"), Normalization("NCBIGene", "43")]
    ]
    (relation,) = record.relations
    assert (relation.type, relation.normalized) == ("Bind", [Normalization("MESH", "D001"), Normalization("NCBIGene", "43")])
    assert json.loads(record.meta)["relation_infons"] == {relation.id: {"novel": "Novel"}}
