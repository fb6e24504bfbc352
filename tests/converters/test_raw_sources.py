"""Raw source texts: every reader hands over, for each record it yields, the verbatim source text of that record
(``ReadContext.keep_raw``), collected only when a caller passes a ``raw_sink``.

Checked on every catalog entry over the shipped example corpora (examples/mirror), exactly for a few formats, on
tiny invented files for the formats the examples do not hold (BioC, SQuAD, ChemProt TSVs, brat), and over the
real mirror, alternates included, when it is present.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from biohub.converters.base import ReadContext
from biohub.converters.catalog import CatalogEntry, load_catalog
from biohub.converters.convert import ConversionResult, convert_entry
from biohub.converters.formats.bioc import BiocReader
from biohub.converters.formats.brat import RAW_SEPARATOR as BRAT_SEPARATOR
from biohub.converters.formats.brat import BratReader
from biohub.converters.formats.chemprot_tsv import ChemprotTsvReader
from biohub.converters.formats.csv_table import CsvOptions, CsvReader
from biohub.converters.formats.hoc import RAW_SEPARATOR as HOC_SEPARATOR
from biohub.converters.formats.hoc import HocOptions, HocReader
from biohub.converters.formats.squad import SquadReader
from biohub.schema import Record
from tests.real_conversions import converted as converted_real
from tests.real_conversions import corpus

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mirror"
CATALOG = load_catalog()
ALTERNATES = [(entry.name, alt.name) for entry in CATALOG.values() for alt in entry.alternates]


def converted(name: str, sink: dict[str, str] | None) -> ConversionResult:
    return convert_entry(CATALOG[name], EXAMPLES, verify=False, progress=False, raw_sink=sink)


def records(result: ConversionResult) -> list[Any]:
    return [record for split in sorted(result.records) for record in result.records[split]]


def source_files(entry: CatalogEntry, fmt: str) -> list[Path]:
    """The example files of the entry's source(s) of format ``fmt``."""
    sources = [s for s in (entry.source, *entry.more_sources) if s.format == fmt]
    return [EXAMPLES / f.path for s in sources for files in s.splits.values() for f in files]


def source_of(record: Any) -> dict[str, Any]:
    return json.loads(record.meta)["source"]


def source_file(entry: CatalogEntry, fmt: str, record: Any) -> Path:
    """The example file a record came from: the file its ``meta.source`` names, among its split's files."""
    name = source_of(record)["path"]
    found = [
        EXAMPLES / f.path
        for s in (entry.source, *entry.more_sources)
        if s.format == fmt
        for split, files in s.splits.items()
        if split == record.split or s.derive_splits is not None
        for f in files
        if Path(f.path).name == name
    ]
    assert len(found) == 1, f"{record.id}: {name} is {len(found)} files of split {record.split}"
    return found[0]


# --------------------------------------------------------------------------------------------- every entry
@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_converted_example_record_has_its_raw_source_text(name: str) -> None:
    sink: dict[str, str] = {}
    result = converted(name, sink)
    kept = records(result)
    assert kept, f"{name}: the example corpus converts to no record"
    empty = [record.id for record in kept if not sink.get(record.id, "").strip()]
    assert empty == [], f"{name}: records without a raw source text: {empty[:5]}"


def test_without_a_sink_nothing_is_collected_nor_computed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, bool]] = []
    evaluated: list[str] = []
    original = ReadContext.keep_raw

    def spy(self: ReadContext, record_id: str, raw: Any) -> None:
        calls.append((record_id, self.raw_sink is None))

        def counted() -> str:
            evaluated.append(record_id)
            return raw()

        original(self, record_id, counted)

    monkeypatch.setattr(ReadContext, "keep_raw", spy)
    for name in sorted(CATALOG):
        result = converted(name, None)
        called = {record_id for record_id, _ in calls}
        assert {record.id for record in records(result)} <= called, f"{name}: a reader does not call keep_raw"
    assert calls and all(no_sink for _, no_sink in calls)
    assert evaluated == [], "a raw source text was computed although no sink was set"


def test_keep_raw_only_evaluates_with_a_sink() -> None:
    def boom() -> str:
        raise AssertionError("evaluated without a sink")

    ReadContext("toy", "train", "en").keep_raw("toy.train.1", boom)
    sink: dict[str, str] = {}
    ReadContext("toy", "train", "en", raw_sink=sink).keep_raw("toy.train.1", lambda: "raw")
    assert sink == {"toy.train.1": "raw"}


# --------------------------------------------------------------------------------------------- exact texts
def blocks(path: Path) -> list[str]:
    """The blank-line separated blocks of a text file (line endings normalised to ``\\n``)."""
    text = "\n".join(path.read_text(encoding="utf-8").splitlines())
    return [block.strip("\n") for block in text.split("\n\n") if block.strip()]


def test_conll_raw_text_is_the_sentence_lines() -> None:
    sink: dict[str, str] = {}
    result = converted("bc2gm", sink)
    for record in records(result):
        path = source_file(CATALOG["bc2gm"], "conll", record)
        number = int(record.id.rsplit("-", 1)[1])
        assert sink[record.id] == blocks(path)[number - 1]
        assert [line.split("\t")[0] for line in sink[record.id].split("\n")] == json.loads(record.meta)["tokens"]


def test_pubtator_raw_text_is_the_document_block() -> None:
    sink: dict[str, str] = {}
    result = converted("bc5cdr", sink)
    for record in records(result):
        raw = sink[record.id]
        assert raw in blocks(source_file(CATALOG["bc5cdr"], "pubtator", record))
        assert raw.startswith(f"{record.document_id}|t|") and all(line.startswith(record.document_id) for line in raw.split("\n"))


def json_source(path: Path, where: dict[str, Any]) -> Any:
    """The object a JSON array / JSON Lines reader names in ``meta.source`` (element index or 1-based line)."""
    text = path.read_text(encoding="utf-8")
    if "line" in where:
        return json.loads(text.splitlines()[where["line"] - 1])
    return json.loads(text)[where["record"]]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("chip_ctc", "cblue-cls"),
        ("kuake_qqr", "cblue-pairs"),
        ("cmeee", "cblue-ner"),
        ("cmeie", "cblue-re"),
        ("promptcblue", "promptcblue"),
        ("taiyi_examples", "taiyi-jsonl"),
        ("huatuo_bentsao", "alpaca"),
        ("cmexam", "mcqa-jsonl"),
        ("chemprot", "marked-re"),
    ],
)
def test_json_raw_text_is_the_object_as_written(name: str, fmt: str) -> None:
    sink: dict[str, str] = {}
    result = converted(name, sink)
    for record in records(result):
        obj = json_source(source_file(CATALOG[name], fmt, record), source_of(record))
        raw = sink[record.id]
        assert json.loads(raw) == obj and list(json.loads(raw)) == list(obj)  # same object, keys in file order
        assert raw == json.dumps(obj, ensure_ascii=False)


def test_pubmedqa_raw_text_is_the_pmid_object() -> None:
    sink: dict[str, str] = {}
    result = converted("pubmedqa", sink)
    (path,) = source_files(CATALOG["pubmedqa"], "pubmedqa")
    data = json.loads(path.read_text(encoding="utf-8"))
    for record in records(result):
        assert json.loads(sink[record.id]) == {record.document_id: data[record.document_id]}


def test_bioasq_raw_text_is_the_question_object() -> None:
    sink: dict[str, str] = {}
    result = converted("bioasq", sink)
    for record in records(result):
        questions = json.loads(source_file(CATALOG["bioasq"], "bioasq", record).read_text(encoding="utf-8"))["questions"]
        assert json.loads(sink[record.id]) == next(q for q in questions if q["id"] == record.document_id)


def test_cmb_clin_records_of_a_case_share_the_case_object() -> None:
    sink: dict[str, str] = {}
    result = converted("cmb", sink)
    files = source_files(CATALOG["cmb"], "cmb-clin")
    cases = {str(case["id"]): case for path in files for case in json.loads(path.read_text(encoding="utf-8"))}
    clin = [record for record in records(result) if source_of(record)["path"] in {path.name for path in files}]
    assert len({record.document_id for record in clin}) < len(clin)  # some case has several QA pairs
    for record in clin:
        assert json.loads(sink[record.id]) == cases[record.document_id]


def test_dialogue_json_raw_text_is_the_dialogue_object() -> None:
    sink: dict[str, str] = {}
    result = converted("meddialog_zh", sink)
    files = source_files(CATALOG["meddialog_zh"], "dialogue-json")
    objects = [obj for path in files for obj in json.loads(path.read_text(encoding="utf-8"))]
    for record in records(result):
        assert json.loads(sink[record.id]) == next(obj for obj in objects if str(obj["id"]) == record.document_id)


@pytest.mark.parametrize(("name", "encoding"), [("euadr", "utf-8"), ("gad", "utf-8"), ("chinese_medical_dialogue", "gb18030")])
def test_csv_raw_text_is_the_row_as_written(name: str, encoding: str) -> None:
    sink: dict[str, str] = {}
    result = converted(name, sink)
    for record in records(result):
        lines = source_file(CATALOG[name], "csv", record).read_text(encoding=encoding).removeprefix("\ufeff").splitlines()
        assert sink[record.id] == lines[source_of(record)["line"] - 1]


def test_csv_raw_text_of_a_quoted_multi_line_row(tmp_path: Path) -> None:
    path = tmp_path / "toy.csv"
    path.write_bytes(b'text,label\r\n"first line\r\nsecond, line",yes\r\nplain,no\r\n')
    sink: dict[str, str] = {}
    options = CsvOptions(fields={"text": "text", "label": "label"})
    items = list(CsvReader(options).read([path], ReadContext("toy", "train", "en", raw_sink=sink)))
    assert [item.id for item in items] == ["toy.train.toy-0", "toy.train.toy-1"]
    assert sink == {"toy.train.toy-0": '"first line\nsecond, line",yes', "toy.train.toy-1": "plain,no"}
    assert next(csv.reader([sink["toy.train.toy-0"].replace("\n", "\r\n")])) == ["first line\r\nsecond, line", "yes"]


def test_hoc_raw_text_is_the_text_and_labels_files() -> None:
    sink: dict[str, str] = {}
    result = converted("hoc", sink)
    for record in records(result):
        pmid = record.document_id
        text = (EXAMPLES / "hoc" / "text" / f"{pmid}.txt").read_text(encoding="utf-8")
        labels = (EXAMPLES / "hoc" / "labels" / f"{pmid}.txt").read_text(encoding="utf-8")
        assert sink[record.id] == text + HOC_SEPARATOR + labels


def test_hoc_sentence_level_raw_text_is_the_sentence_line_and_its_segment(tmp_path: Path) -> None:
    (tmp_path / "text").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "text" / "1.txt").write_text("First sentence .\n\nSecond sentence .\n", encoding="utf-8")
    (tmp_path / "labels" / "1.txt").write_text("<Evading growth suppressors<NULL\n", encoding="utf-8")
    sink: dict[str, str] = {}
    list(HocReader(HocOptions(level="sentence")).read([tmp_path], ReadContext("toy", "train", "en", raw_sink=sink)))
    assert sink == {
        "toy.train.1-0": "First sentence ." + HOC_SEPARATOR + "<Evading growth suppressors",
        "toy.train.1-1": "Second sentence ." + HOC_SEPARATOR + "<NULL",
    }


def test_biosses_raw_text_is_the_pair_row_and_its_scores() -> None:
    sink: dict[str, str] = {}
    result = converted("biosses", sink)
    for record in records(result):
        cells = sink[record.id].split("\t")
        assert len(cells) == 3 + len(json.loads(record.meta)["scores"])
        assert int(cells[0]) == int(record.document_id)
        assert (" ".join(cells[1].split()), " ".join(cells[2].split())) == (record.text_1, record.text_2)
        assert [float(cell) for cell in cells[3:]] == [float(score) for score in json.loads(record.meta)["scores"]]


def test_ddi_raw_text_is_the_document_element() -> None:
    sink: dict[str, str] = {}
    result = converted("ddi", sink)
    for record in records(result):
        raw = sink[record.id]
        root = ET.fromstring(raw)
        assert root.tag == "document" and root.get("id") == record.document_id
        assert [s.get("text") for s in root.findall("sentence")] == [p.text[0] for p in record.passages]


# --------------------------------------------------------------------------------------------- formats the examples lack
def read_with_sink(reader: Any, paths: list[Path]) -> tuple[list[Record], dict[str, str]]:
    sink: dict[str, str] = {}
    items = list(reader.read(paths, ReadContext("toy", "train", "en", raw_sink=sink)))
    return [item for item in items if isinstance(item, Record)], sink


def test_bioc_raw_text_is_the_document_element(tmp_path: Path) -> None:
    documents = [
        f'<document><id>{key}</id><passage><infon key="type">title</infon><offset>0</offset><text>{text}</text>'
        f'<annotation id="1"><infon key="type">Disease</infon><location offset="0" length="4"/><text>{text[:4]}</text>'
        "</annotation></passage></document>"
        for key, text in (("11", "Gout flares."), ("12", "Acne vulgaris."))
    ]
    path = tmp_path / "train.xml"
    path.write_text(
        f"<?xml version='1.0' encoding='UTF-8'?><collection><source>toy</source>{''.join(documents)}</collection>",
        encoding="utf-8",
    )
    kept, sink = read_with_sink(BiocReader(), [path])
    assert [record.id for record in kept] == ["toy.train.11", "toy.train.12"]
    for record, document in zip(kept, documents):
        # the document element re-serialised by ElementTree: the same XML, byte-identical up to serialisation details
        assert ET.canonicalize(sink[record.id]) == ET.canonicalize(document)
        assert sink[record.id] == ET.tostring(ET.fromstring(document), encoding="unicode")


def test_squad_raw_text_is_the_paragraph_with_that_qa(tmp_path: Path) -> None:
    qas = [{"id": "q1_001", "question": "Who cleaves it?"}, {"id": "q1_002", "question": "Where?"}]
    paragraph = {"qas": qas, "context": "Toyase cleaves the toy protein."}
    path = tmp_path / "test.json"
    path.write_text(json.dumps({"version": "toy", "data": [{"title": "t", "paragraphs": [paragraph]}]}), encoding="utf-8")
    kept, sink = read_with_sink(SquadReader(), [path])
    assert [record.id for record in kept] == ["toy.train.q1_001", "toy.train.q1_002"]
    for record, qa in zip(kept, qas):
        raw = json.loads(sink[record.id])
        assert raw == {"qas": [qa], "context": paragraph["context"]} and list(raw) == ["qas", "context"]


def test_chemprot_tsv_raw_text_is_the_abstract_with_its_entity_and_relation_lines(tmp_path: Path) -> None:
    abstract = "10\tToyin blocks X.\tToyin inhibits kinase X."
    entities = ["10\tT1\tCHEMICAL\t0\t5\tToyin", "10\tT2\tGENE-Y\t38\t39\tX"]
    relation = "10\tCPR:4\tY\tINHIBITOR\tArg1:T1\tArg2:T2"
    (tmp_path / "toy_abstracts.tsv").write_text(abstract + "\n11\tOther.\tNothing here.\n", encoding="utf-8")
    (tmp_path / "toy_entities.tsv").write_text("\n".join(entities) + "\n", encoding="utf-8")
    (tmp_path / "toy_relations.tsv").write_text(relation + "\n", encoding="utf-8")
    kept, sink = read_with_sink(ChemprotTsvReader(), [tmp_path])
    assert [record.id for record in kept] == ["toy.train.10", "toy.train.11"]
    assert len(kept[0].entities) == 2 and len(kept[0].relations) == 1
    assert sink == {"toy.train.10": "\n".join([abstract, *entities, relation]), "toy.train.11": "11\tOther.\tNothing here."}


def test_brat_raw_text_is_the_txt_then_the_ann_content(tmp_path: Path) -> None:
    text = "Gout flares.\nSecond line.\n"
    ann = "T1\tDisease 0 4\tGout\n#1\tAnnotatorNotes T1\tnote\n"
    (tmp_path / "doc1.txt").write_text(text, encoding="utf-8")
    (tmp_path / "doc1.ann").write_text(ann, encoding="utf-8")
    kept, sink = read_with_sink(BratReader(), [tmp_path])
    assert [record.id for record in kept] == ["toy.train.doc1"]
    assert sink["toy.train.doc1"] == text + BRAT_SEPARATOR + ann == text + "\n=== ann ===\n" + ann


# --------------------------------------------------------------------------------------------- real mirror
@pytest.mark.real_corpora
@pytest.mark.slow  # with the contract tests, which share its conversion (they are slow: every real corpus converted)
@pytest.mark.parametrize(
    ("name", "alternate"),
    [corpus(name, None) for name in sorted(CATALOG)] + [corpus(*pair) for pair in ALTERNATES],
    ids=lambda value: value or "reference",
)
def test_every_real_record_has_its_raw_source_text(mirror: Path, name: str, alternate: str | None) -> None:
    # the conversion the contract tests check (tests/real_conversions.py: one per corpus and process)
    conversion = converted_real(name, alternate)
    assert conversion.kept
    assert conversion.without_raw == (), (
        f"{name} ({alternate or 'reference'}): records without a raw source text: {list(conversion.without_raw[:5])}"
    )
