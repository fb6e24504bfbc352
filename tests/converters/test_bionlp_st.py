"""BioNLP ST standoff reader: exact records from tiny invented documents (events, nested events, modifications, Equiv,
relations, the .rel variant, unlabelled test documents), and every bad input rejected with file:line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.converters.base import ConvertError, ReadContext, Rejection
from biohub.converters.formats.bionlp_st import BionlpStOptions, BionlpStReader
from biohub.errors import ConfigError
from biohub.schema import (
    Coreference,
    Entity,
    EventArgument,
    KBRecord,
    Modification,
    Normalization,
    Relation,
    Trigger,
    from_row,
    to_row,
    validate,
)
from tests.converters.conftest import read_items, write_text

TEXT = "Zorbin was not induced by quellase. Zorbin (ZRB) binds tarnin at serine 5.\n"
A1 = (
    "T1\tProtein 0 6\tZorbin\nT2\tProtein 26 34\tquellase\nT3\tProtein 36 42\tZorbin\n"
    "T4\tProtein 44 47\tZRB\nT5\tProtein 55 61\ttarnin\n"
)
A2_LINES = (
    "T6\tPositive_regulation 15 22\tinduced",
    "T7\tBinding 49 54\tbinds",
    "T8\tEntity 65 73\tserine 5",
    "E1\tBinding:T7 Theme:T3 Theme2:T5 Site2:T8",
    "E2\tPositive_regulation:T6 Theme:E1 Cause:T2",
    "M1\tNegation E2",
    "*\tEquiv T3 T4",
    "R1\tCoreference Subject:T4 Object:T3",
    "N1\tReference T5 UniProt:P00001",
    "A1\tConfidence E1 High",
    "#1\tAnnotatorNotes T8\tcheck the site",
)
A2 = "\n".join(A2_LINES)  # no final newline, as in some upstream files


def read(*paths: Path, split: str = "train", **options: object) -> list:
    return read_items(BionlpStReader(BionlpStOptions(**options)), list(paths), split)


def document(
    folder: Path, name: str = "D1", text: str = TEXT, a1: str | None = A1, a2: str | None = A2, suffix: str = ".a2"
) -> Path:
    write_text(folder, f"{name}.txt", text)
    if a1 is not None:
        write_text(folder, f"{name}.a1", a1)
    if a2 is not None:
        write_text(folder, f"{name}{suffix}", a2)
    return folder


def rejection(items: list) -> Rejection:
    (item,) = items
    assert isinstance(item, Rejection), item
    return item


def test_a_document_becomes_one_record_with_nested_events_modifications_equiv_and_relations(tmp_path: Path) -> None:
    (record,) = read(document(tmp_path))
    assert isinstance(record, KBRecord) and record.labeled
    rid = "toy.train.D1"
    assert [e.id.removeprefix(rid + ".") for e in record.entities] == ["T1", "T2", "T3", "T4", "T5", "T8"]
    assert record.entities[4] == Entity(f"{rid}.T5", "Protein", ["tarnin"], [(55, 61)], [Normalization("UniProt", "P00001")])
    binding, regulation = record.events
    assert (binding.id, binding.type, binding.trigger) == (f"{rid}.E1", "Binding", Trigger(["binds"], [(49, 54)]))
    assert binding.arguments == [
        EventArgument("Theme", f"{rid}.T3"),
        EventArgument("Theme2", f"{rid}.T5"),
        EventArgument("Site2", f"{rid}.T8"),
    ]
    assert regulation.arguments == [EventArgument("Theme", f"{rid}.E1"), EventArgument("Cause", f"{rid}.T2")]  # nested
    assert record.modifications == [Modification(f"{rid}.M1", "Negation", f"{rid}.E2")]
    assert record.coreferences == [Coreference(f"{rid}.Equiv1", [f"{rid}.T3", f"{rid}.T4"])]
    assert record.relations == [Relation(f"{rid}.R1", "Coreference", f"{rid}.T4", f"{rid}.T3")]
    assert '"relation_roles": {"R1": ["Subject", "Object"]}' in record.meta
    assert '"attributes": [{"id": "A1", "name": "Confidence", "target": "E1", "value": "High"}]' in record.meta
    assert '"notes": [{"id": "#1", "target": "T8", "text": "check the site", "type": "AnnotatorNotes"}]' in record.meta
    assert validate(record) == []
    assert from_row("kb", to_row(record)) == record


def test_a_document_without_its_task_file_is_unlabelled_and_keeps_its_given_entities(tmp_path: Path) -> None:
    (record,) = read(document(tmp_path, a2=None), split="test")
    assert isinstance(record, KBRecord) and not record.labeled
    assert len(record.entities) == 5 and not record.events and not record.modifications
    assert validate(record) == []


def test_the_rel_variant_reads_relations_between_given_and_task_entities(tmp_path: Path) -> None:
    rel = "T6\tEntity 49 54\tbinds\nR1\tProtein-Component Arg1:T5 Arg2:T6\n*\tEquiv T3 T4\n"
    (record,) = read(document(tmp_path, a2=rel, suffix=".rel"), task=[".rel"])
    assert isinstance(record, KBRecord)
    assert [(r.type, r.arg1_id, r.arg2_id) for r in record.relations] == [
        ("Protein-Component", "toy.train.D1.T5", "toy.train.D1.T6")
    ]
    assert "relation_roles" not in record.meta


def test_a_trigger_that_something_else_points_at_is_also_an_entity(tmp_path: Path) -> None:
    a2 = "T6\tBinding 49 54\tbinds\nE1\tBinding:T6 Theme:T5\nR1\tCoreference Subject:T6 Object:T5\n"
    (record,) = read(document(tmp_path, a2=a2))
    assert isinstance(record, KBRecord)
    assert "toy.train.D1.T6" in {e.id for e in record.entities}
    assert record.events[0].trigger == Trigger(["binds"], [(49, 54)])


def test_a_labelled_folder_with_one_document_missing_its_task_file_rejects_it(tmp_path: Path) -> None:
    document(tmp_path, "D1")
    document(tmp_path, "D2", a2=None)
    first, second = read(tmp_path)
    assert isinstance(first, KBRecord)
    assert isinstance(second, Rejection) and second.reason == "missing partner file" and "D2.txt has no .a2" in second.detail


def test_a_missing_given_file_is_a_rejection(tmp_path: Path) -> None:
    problem = rejection(read(document(tmp_path, a1=None)))
    assert problem.reason == "missing partner file" and "no .a1 file" in problem.detail


@pytest.mark.parametrize(
    ("line", "reason", "detail"),
    [
        ("X1\tWhatever T1", "unknown annotation line", "D1.a2:2: unknown annotation line type 'X1'"),
        ("E1\tBinding:T1 Theme:T9", "annotation refers to a missing annotation", "D1.a2:2: Theme argument T9 does not exist"),
        ("E1\tBinding:T9 Theme:T1", "annotation refers to a missing annotation", "D1.a2:2: trigger T9 of E1"),
        ("M1\tNegation E7", "annotation refers to a missing annotation", "D1.a2:2: modified annotation E7 does not exist"),
        ("*\tEquiv T1 T9", "annotation refers to a missing annotation", "D1.a2:2: Equiv member T9 does not exist"),
        ("R1\tPart Arg1:T1 Arg2:E5", "annotation refers to a missing annotation", "D1.a2:2: argument E5 does not exist"),
        ("T9\tEntity 70 99\tfar", "mention offsets out of range", "D1.a2:2: [70, 99) outside the text 0..75"),
        ("T9\tEntity 0 6\tZorbon", "mention text disagrees with its offsets", "D1.a2:2: 'Zorbon' != document text 'Zorbin'"),
        ("T9\tEntity 0 x\tZorbin", "bad offsets", "D1.a2:2: fragment '0 x' is not 'start end'"),
        ("T1\tEntity 0 6\tZorbin", "duplicate annotation id", "D1.a2:2: T1 already defined at D1.a1:1"),
        ("E1\tBinding", "malformed annotation line", "D1.a2:2: event needs Type:T Role:ID"),
        ("R1\tPart Arg1:T1", "malformed annotation line", "D1.a2:2: relation needs Type Role:ID Role:ID"),
        ("M1\tNegation", "malformed annotation line", "D1.a2:2: modification needs Type ID"),
        ("*\tEquiv T1", "malformed annotation line", "D1.a2:2: expected '*<TAB>Equiv T1 T2 ...'"),
        ("T9 Entity 0 6 Zorbin", "malformed annotation line", "D1.a2:2: 'T9 Entity 0 6 Zorbin'"),
    ],
)
def test_each_bad_line_rejects_its_document_naming_file_line_and_reason(
    tmp_path: Path, line: str, reason: str, detail: str
) -> None:
    problem = rejection(read(document(tmp_path, a2="T6\tBinding 49 54\tbinds\n" + line + "\n")))
    assert (problem.reason, problem.locator, problem.path) == (reason, "D1.a2:2", str(tmp_path / "D1.a2"))
    assert detail in problem.detail, problem.detail


def test_nested_events_that_form_a_cycle_are_rejected(tmp_path: Path) -> None:
    a2 = (
        "T6\tBinding 49 54\tbinds\nT7\tPositive_regulation 15 22\tinduced\n"
        "E1\tBinding:T6 Theme:E2\nE2\tPositive_regulation:T7 Theme:E1\n"
    )
    problem = rejection(read(document(tmp_path, a2=a2)))
    assert problem.reason == "nested event cycle" and problem.detail.startswith("D1.a2:")


def test_a_file_in_the_wrong_encoding_is_a_rejection_with_its_line(tmp_path: Path) -> None:
    document(tmp_path)
    (tmp_path / "D1.a2").write_bytes(A2.encode() + "\nT9\tEntity 0 6\tZörbin\n".encode("latin-1"))
    problem = rejection(read(tmp_path))
    assert problem.reason == "wrong encoding" and problem.locator == "D1.a2:12" and "not valid utf-8" in problem.detail


def test_bad_paths_and_options_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="holds no .txt documents"):
        read(tmp_path)
    write_text(tmp_path, "x.json", "{}")
    with pytest.raises(ConvertError, match="expected a folder of BioNLP ST documents"):
        read(tmp_path / "x.json")
    with pytest.raises(ConfigError, match="must start with"):
        BionlpStReader.from_mapping({"task": ["a2"]})
    with pytest.raises(ConfigError, match="unknown option"):
        BionlpStReader.from_mapping({"extensions": [".a2"]})


def test_a_document_key_read_twice_is_a_duplicate(tmp_path: Path) -> None:
    document(tmp_path / "a")
    document(tmp_path / "b")
    first, second = read(tmp_path / "a", tmp_path / "b")
    assert isinstance(first, KBRecord)
    assert isinstance(second, Rejection) and second.reason == "duplicate document"


def test_brat_style_files_read_with_no_given_file_and_ann_as_the_task_file(tmp_path: Path) -> None:
    ann = A1 + "T6\tBinding 49 54\tbinds\nE1\tBinding:T6 Theme:T3 Theme2:T5\n"
    (record,) = read(document(tmp_path, a1=None, a2=ann, suffix=".ann"), given="", task=[".ann"])
    assert isinstance(record, KBRecord) and record.labeled
    assert len(record.entities) == 5 and [e.type for e in record.events] == ["Binding"]


def test_the_raw_source_is_the_text_then_each_annotation_file(tmp_path: Path) -> None:
    sink: dict[str, str] = {}
    ctx = ReadContext("toy", "train", "en", raw_sink=sink)
    list(BionlpStReader().read([document(tmp_path)], ctx))
    assert sink == {"toy.train.D1": TEXT + "\n=== .a1 ===\n" + A1 + "\n=== .a2 ===\n" + A2}


def test_a_new_corpus_of_the_format_converts_from_the_command_line_with_no_code(tmp_path: Path) -> None:
    rel = "T6\tEntity 49 54\tbinds\nR1\tProtein-Component Arg1:T5 Arg2:T6\n"
    document(tmp_path / "corpus" / "train", a2=rel, suffix=".rel")
    args = ["convert", "--format", "bionlp-st", "--name", "mine", "--lang", "en", "--out", str(tmp_path / "out")]
    args += ["--input", str(tmp_path / "corpus" / "train"), "--split", "train", "--option", "task=[.rel]"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    ledger = json.loads((tmp_path / "out" / "ledger.json").read_text(encoding="utf-8"))["mine"]["train"]
    assert (ledger["converted"], ledger["counts"]["relations"], ledger["counts"]["entities"]) == (1, 1, 6)
    (row,) = pq.read_table(tmp_path / "out" / "mine" / "train.parquet").to_pylist()
    assert row["relations"][0]["type"] == "Protein-Component" and row["modifications"] == []


def test_an_annotation_file_without_its_text_is_a_rejection(tmp_path: Path) -> None:
    document(tmp_path)
    write_text(tmp_path, "D0.a2", "T1\tProtein 0 6\tZorbin\n")
    record, orphan = read(tmp_path)
    assert isinstance(record, KBRecord)
    assert isinstance(orphan, Rejection) and (orphan.reason, orphan.locator) == ("missing partner file", "D0")
    assert orphan.detail == "D0.a2 has no .txt file beside it"
