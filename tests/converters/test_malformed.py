"""Malformed annotations are rejections or dropped-annotation defects with a reason, never kept silently (issue 25 item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from biohub.cli import app
from biohub.converters.base import Defect, Rejection
from biohub.converters.formats.cblue import CblueClsOptions, CblueClsReader
from biohub.converters.formats.chemprot_tsv import ChemprotTsvReader
from biohub.converters.formats.ddi_xml import DdiXmlReader
from biohub.converters.formats.pubmedqa import PubMedQAReader
from biohub.converters.formats.pubtator import PubtatorReader
from biohub.schema import KBRecord, QARecord, TextRecord
from tests.converters.conftest import read_items, write_text


def _problems(items: list) -> list[tuple[str, str, str]]:
    return [(type(i).__name__, i.locator, i.reason) for i in items if isinstance(i, (Rejection, Defect))]


def test_a_repeated_pubmedqa_pmid_is_rejected_not_lost(tmp_path: Path) -> None:
    entry = {"QUESTION": "Does it?", "CONTEXTS": ["Yes."], "LABELS": ["RESULTS"], "final_decision": "yes"}
    other = {**entry, "QUESTION": "Does it again?"}
    text = '{"1": ' + json.dumps(entry) + ', "2": ' + json.dumps(entry) + ', "1": ' + json.dumps(other) + "}"
    items = read_items(PubMedQAReader(), write_text(tmp_path, "ori_pqal.json", text))
    assert [i.document_id for i in items if isinstance(i, QARecord)] == ["1", "2"]
    assert [i.question for i in items if isinstance(i, QARecord)][0] == "Does it?"
    assert _problems(items) == [("Rejection", "1", "duplicate PMID")]


PUBTATOR = "7|t|Gout.\n7|a|Fever and gout.\n7\t0\t4\tGout\tDisease\tD1\n7\t6\t11\tFever\t\tD2\n\n"


def test_a_pubtator_mention_without_type_is_dropped(tmp_path: Path) -> None:
    items = read_items(PubtatorReader(), write_text(tmp_path, "train.txt", PUBTATOR))
    (record,) = [i for i in items if isinstance(i, KBRecord)]
    assert [e.text for e in record.entities] == [["Gout"]]
    assert _problems(items) == [("Defect", "4", "annotation without type")]
    assert json.loads(record.meta)["dropped_annotations"] == {"entities": 1}


def test_a_pubtator_file_cut_mid_abstract_rejects_its_last_document(tmp_path: Path) -> None:
    text = "7|t|Gout.\n7|a|Fever and gout.\n7\t0\t4\tGout\tDisease\tD1\n\n8|t|Gout again.\n8|a|Fever and"
    items = read_items(PubtatorReader(), write_text(tmp_path, "train.txt", text))
    assert [i.document_id for i in items if isinstance(i, KBRecord)] == ["7"]
    assert _problems(items) == [("Rejection", "5", "entities missing (file truncated)")]


def test_a_list_label_is_rejected_for_single_label_classification(tmp_path: Path) -> None:
    path = write_text(tmp_path, "train.json", json.dumps([{"id": "s1", "text": "甲", "label": ["Age"]}]))
    items = read_items(CblueClsReader(), path)
    assert _problems(items) == [("Rejection", "record 0", "bad label")] and "multi_label" in items[0].detail
    (record,) = read_items(CblueClsReader(CblueClsOptions(multi_label=True)), path)
    assert isinstance(record, TextRecord) and record.labels == ["Age"]


def test_a_repeated_ddi_sentence_id_rejects_the_document(tmp_path: Path) -> None:
    sentence = '<sentence id="D.s0" text="Aspirin."><entity id="D.s0.e0" charOffset="0-6" type="drug" text="Aspirin"/></sentence>'
    path = write_text(tmp_path, "D.xml", f'<document id="D">{sentence}{sentence}</document>')
    items = read_items(DdiXmlReader(), path)
    assert _problems(items) == [("Rejection", "D", "duplicate id")] and "D.s0" in items[0].detail


def test_a_repeated_chemprot_entity_id_is_dropped(tmp_path: Path) -> None:
    abstracts = write_text(tmp_path, "toy_abstracts.tsv", "111\tAspirin works.\tAspirin helps.\n")
    entities = write_text(
        tmp_path, "toy_entities.tsv", "111\tT1\tCHEMICAL\t0\t7\tAspirin\n111\tT1\tCHEMICAL\t15\t22\tAspirin\n"
    )
    items = read_items(ChemprotTsvReader(), [abstracts, entities])
    (record,) = [i for i in items if isinstance(i, KBRecord)]
    assert [e.offsets for e in record.entities] == [[(0, 7)]]
    assert _problems(items) == [("Defect", "2", "duplicate annotation id")]


def test_inputs_with_the_same_file_name_keep_distinct_ids(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        write_text(tmp_path / folder, "train.tsv", f"{folder}\tO\nGout\tB-Disease\n\n")
    args = ["convert", "--format", "conll", "--name", "toy", "--lang", "en", "--out", str(tmp_path / "out"), "--strict"]
    result = CliRunner().invoke(app, [*args, "--input", str(tmp_path / "a/train.tsv"), "--input", str(tmp_path / "b/train.tsv")])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(tmp_path / "out" / "toy" / "train.parquet").to_pylist()
    assert [row["id"] for row in rows] == ["toy.train.a/train-1", "toy.train.b/train-1"]
