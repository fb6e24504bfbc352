"""Catalogued vocabularies (the standard terms a corpus' normalisations choose from): read by the table reader beside
the records, every row accounted for, written to ``OUT/<dataset>/vocabularies/<name>.parquet`` and ``info.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from openpyxl import Workbook
from typer.testing import CliRunner

from biohub.cli import app
from biohub.converters.api import StrictError, convert_catalogued
from biohub.converters.base import ConvertError
from biohub.converters.catalog import CatalogError, catalog_dir, file_sha256, load_catalog, load_entry
from biohub.converters.convert import convert_entry, write_result
from biohub.schema import KBRecord
from tests.converters.conftest import write_text

BIO = "Aspirin\tB-Chemical\ncauses\tO\nasthma\tB-Disease\n\n"
TERMS = "code\tterm\nC01\tAspirin\nD01\tasthma\nD02\t\nD03\tasthma\textra\nD04\tbronchial asthma\n"


def _catalog(folder: Path, vocabulary: dict[str, Any]) -> Path:
    """A one-entry catalog ``toy`` (a BIO train file) with one vocabulary."""
    data = yaml.safe_load((catalog_dir() / "bc2gm.yaml").read_text(encoding="utf-8"))
    data.update(
        name="toy",
        labels={"entity_types": ["Chemical", "Disease"]},
        source={"format": "conll", "options": {}, "splits": {"train": ["toy/train.tsv"]}},
        expected={"train": {"records": 1}},
        vocabularies=[vocabulary],
    )
    data.pop("known_rejections", None), data.pop("known_defects", None), data.pop("alternates", None)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toy.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def _mirror(tmp_path: Path) -> Path:
    mirror = tmp_path / "mirror"
    write_text(mirror / "toy", "train.tsv", BIO)
    write_text(mirror / "toy", "terms.tsv", TERMS)
    return mirror


TSV = {"name": "Toy-DB", "file": "toy/terms.tsv", "code": "code", "term": "term", "options": {"delimiter": "\t"}}


def test_a_vocabulary_is_written_beside_the_splits_with_every_row_accounted_for(tmp_path: Path) -> None:
    mirror, out = _mirror(tmp_path), tmp_path / "out"
    (result,) = convert_catalogued(mirror, out, ["toy"], catalog=_catalog(tmp_path / "catalog", TSV), progress=False)
    rows = pq.read_table(out / "toy" / "vocabularies" / "Toy-DB.parquet").to_pylist()
    assert rows == [{"code": "C01", "term": "Aspirin"}, {"code": "D01", "term": "asthma"},
                    {"code": "D04", "term": "bronchial asthma"}]
    assert sorted(p.name for p in (out / "toy").glob("*.parquet")) == ["train.parquet"]  # splits only: instruct's glob
    info = json.loads((out / "toy" / "info.json").read_text(encoding="utf-8"))["vocabularies"]["Toy-DB"]
    assert info["path"] == "toy/terms.tsv" and info["sha256"] == file_sha256(mirror / "toy" / "terms.tsv")
    assert (info["read"], info["converted"], info["rejected"]) == (5, 3, 2)
    assert info["reasons"] == {"empty required field": 1, "wrong column count": 1}
    assert info["counts"] == {"terms": 3, "codes": 3}
    problems = [json.loads(line) for line in (out / "toy" / "rejections.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(p["path"], p["locator"], p["reason"], p["split"]) for p in problems] == [
        ("toy/terms.tsv", "4", "empty required field", "vocabulary:Toy-DB"),
        ("toy/terms.tsv", "5", "wrong column count", "vocabulary:Toy-DB"),
    ]
    assert result.ledger["train"].converted == 1 and "vocabulary:Toy-DB" not in result.ledger  # not a split


def test_strict_fails_on_a_rejected_vocabulary_row_and_writes_nothing(tmp_path: Path) -> None:
    mirror, out = _mirror(tmp_path), tmp_path / "out"
    catalog = _catalog(tmp_path / "catalog", TSV)
    with pytest.raises(StrictError, match=r"2 record\(s\) rejected.*terms\.tsv:4: empty required field"):
        convert_catalogued(mirror, out, ["toy"], catalog=catalog, progress=False, strict=True)
    assert not out.exists()


def test_convert_reports_the_vocabulary_rows_beside_the_splits(tmp_path: Path) -> None:
    mirror, catalog = _mirror(tmp_path), _catalog(tmp_path / "catalog", TSV)
    args = ["convert", "--mirror", str(mirror), "--datasets", "toy", "--catalog", str(catalog), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.output.splitlines() if line.count("│") > 3]
    assert rows == [["toy", "train", "1", "1", "0", "0", "0", "0"], ["toy", "vocabulary:Toy-DB", "5", "3", "2", "0", "0", "0"]]


def test_an_xlsx_vocabulary_without_header_is_read_values_only_and_checked_by_sha256(tmp_path: Path) -> None:
    mirror = _mirror(tmp_path)
    book = Workbook()
    for row in [("A1", "first term"), ("A1.1", 12), ("B2", "=A1")]:
        book.active.append(row)
    book.save(mirror / "toy" / "terms.xlsx")
    spec = {"name": "Toy", "file": {"path": "toy/terms.xlsx", "sha256": "0" * 64}, "code": "code", "term": "term",
            "options": {"header": False, "columns": ["code", "term"]}}
    entry = load_entry(_catalog(tmp_path / "catalog", spec) / "toy.yaml")
    with pytest.raises(ConvertError, match="sha256 mismatch"):
        convert_entry(entry, mirror, progress=False)
    result = convert_entry(entry, mirror, verify=False, progress=False)
    (table,) = result.vocabularies
    # a number cell is its digits; a formula cell gives the value Excel stored (none here: openpyxl never computes)
    assert table.terms == [("A1", "first term"), ("A1.1", "12")]
    assert table.ledger.reasons == {"empty required field": 1}
    write_result(result, tmp_path / "out", mirror)
    assert pq.read_table(tmp_path / "out" / "toy" / "vocabularies" / "Toy.parquet").num_rows == 2


def test_a_vocabulary_without_a_term_is_an_error(tmp_path: Path) -> None:
    mirror = _mirror(tmp_path)
    write_text(mirror / "toy", "terms.tsv", "code\tterm\nC01\t\n")
    entry = load_entry(_catalog(tmp_path / "catalog", TSV) / "toy.yaml")
    with pytest.raises(ConvertError, match=r"terms\.tsv: vocabulary Toy-DB: no term read \(1 row\(s\) rejected\)"):
        convert_entry(entry, mirror, progress=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"options": {"schema": "text"}}, r"options: schema not table options"),
        ({"name": "a/b"}, r"name: 'a/b' is not a name"),
        ({"options": {"header": False, "columns": ["id", "name"]}}, r"maps to column 'code', which is not in columns"),
        ({"options": {"header": "no"}}, r"option 'header': expected true or false"),
        ({"term": None}, r"vocabularies\[0\]\.term: expected a string, got None"),
    ],
)
def test_a_malformed_vocabulary_fails_when_the_catalog_loads(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        load_entry(_catalog(tmp_path, {**TSV, **change}) / "toy.yaml")


def test_a_vocabulary_name_given_twice_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load((_catalog(tmp_path, TSV) / "toy.yaml").read_text(encoding="utf-8"))
    data["vocabularies"] = [TSV, TSV]
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CatalogError, match="a name given twice"):
        load_entry(tmp_path / "toy.yaml")


def test_every_catalogued_vocabulary_names_its_sha256_and_counts() -> None:
    vocabularies = [(name, v) for name, entry in load_catalog().items() for v in entry.vocabularies]
    assert vocabularies, "the catalog declares no vocabulary"
    for name, vocabulary in vocabularies:
        assert vocabulary.file.sha256 and len(vocabulary.file.sha256) == 64, name
        assert vocabulary.expected.get("read"), name


@pytest.mark.real_corpora
def test_chip_cdn_vocabulary_lists_the_icd_terms_its_normalisations_name(mirror: Path, tmp_path: Path) -> None:
    result = convert_entry(load_catalog()["chip_cdn"], mirror, progress=False)
    write_result(result, tmp_path, mirror)
    rows = pq.read_table(tmp_path / "chip_cdn" / "vocabularies" / "ICD-10-Beijing-v601.parquet").to_pylist()
    assert len(rows) == 40474 and rows[0] == {"code": "A00", "term": "霍乱"}
    terms = {row["term"] for row in rows}
    found = {}
    for split in ("train", "validation"):
        kb = [record for record in result.records[split] if isinstance(record, KBRecord)]
        names = [n.db_id for record in kb for e in record.entities for n in e.normalized]
        found[split] = (len(names), sum(name in terms for name in names), len(set(names)), len(set(names) & terms))
    assert found == {"train": (10915, 10295, 3503, 3249), "validation": (3529, 3314, 1688, 1546)}
