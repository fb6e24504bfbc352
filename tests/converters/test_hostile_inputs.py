"""Hostile inputs through `biohub convert`, for every registered format (issue 23's fuzz campaign and audit).

* a symbolic link loop given as ``--input``, or lying inside an input folder, is the converter's one-line error
  naming the path and "symbolic link loop" (exit 2), never a ``RuntimeError`` traceback or a silent skip;
* JSON nested far deeper than Python's parser allows (``[[[[...]]]]``, ``{"a":{"a":...}}``) is a one-line error
  naming the file and line (exit 2), never a ``RecursionError`` traceback;
* rejections.jsonl, errors and info.json name each input exactly as the user gave it (relative stays relative,
  a path through a linked folder is not replaced by the link's target).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from biohub.cli import app
from biohub.converters.base import ConvertError, folder_files
from biohub.converters.catalog import tree_sha256
from biohub.converters.registry import all_readers

runner = CliRunner()


def _docx_tables(folder: Path, pairs: list[list[str]], scores: list[list[str]]) -> None:
    """The two BIOSSES Word tables (python-docx writes them; no file of the corpus is copied)."""
    import docx

    for name, rows in (("Annotation-Pairs.docx", pairs), ("Annotator-Scores.docx", scores)):
        document = docx.Document()
        table = document.add_table(rows=len(rows), cols=len(rows[0]))
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                table.cell(r, c).text = cell
        document.save(str(folder / name))


def _write(name: str, text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text(text, encoding="utf-8")


# format -> (file name a folder of it holds, extra CLI arguments, writer of a small input holding >= 1 rejected record)
FORMATS: dict[str, tuple[str, list[str], Callable[[Path], None]]] = {
    "alpaca": ("train.json", [], _write("train.json", '[{"instruction": "Say hi.", "output": "hi"}, 1]')),
    "bioasq": ("train.json", [], _write("train.json", '{"questions": [1]}')),
    "bioc": ("train.xml", [], _write("train.xml", "<collection><document><passage/></document></collection>")),
    "biosses-docx": (
        "pairs.docx",
        ["--option", "annotators=1"],
        lambda folder: _docx_tables(
            folder,
            [["No", "Sentence 1", "Sentence 2"], ["1", "A cat.", "A dog."], ["x", "B.", "C."]],
            [["Sentence No", "Annotator A"], ["1", "2"]],
        ),
    ),
    "bionlp-st": ("train.txt", [], _write("train.txt", "A text without its .a1 file.")),
    "bitext": (
        "align.txt",
        [],
        lambda folder: [_write(name, text)(folder) for name, text in (("align.txt", "doc1\t1 <=> 2\tOK\n"), ("doc1.en", "x\n"))],
    ),
    "brat": ("train.txt", [], _write("train.txt", "A text without its .ann file.")),
    "cblue-cls": ("train.json", [], _write("train.json", "[1]")),
    "cblue-events": ("train.json", [], _write("train.json", "[1]")),
    "cblue-norm": ("train.json", [], _write("train.json", "[1]")),
    "cblue-ner": ("train.json", [], _write("train.json", "[1]")),
    "cblue-pairs": ("train.json", [], _write("train.json", "[1]")),
    "cblue-re": ("train.json", [], _write("train.json", "[1]")),
    "chemprot-tsv": (
        "train_abstracts.tsv",
        [],
        lambda folder: (
            _write("train_abstracts.tsv", "1\tTitle.\tAbstract.\n2\tonly two columns\n")(folder),
            _write("train_entities.tsv", "1\tT1\tCHEMICAL\t0\t5\tTitle\n")(folder),
        ),
    ),
    "cmb-clin": ("train.json", [], _write("train.json", "[1]")),
    "cmdd-json": ("train.json", [], _write("train.json", '{"example-id": "1", "dialogue-content": []}')),
    "conll": ("train.tsv", [], _write("train.tsv", "x\tO\ny\tI-Drug\n\n")),
    "csv": ("train.csv", ["--field", "text=text"], _write("train.csv", "text,label\n,a\n")),
    "ddi-xml": ("train.xml", [], _write("train.xml", "<document id='d1'></document>")),
    "dialogue-json": ("train.json", ["--option", "turns_field=turns"], _write("train.json", "[1]")),
    "evidence-inference": ("prompts.csv", [], _write("prompts.csv", "PromptID,PMCID,Outcome,Intervention,Comparator\n1,7,,a,\n")),
    "genetag": (
        "TAGGED_GENE_CORPUS",
        [],
        lambda folder: (_write("TAGGED_GENE_CORPUS", "@@1 untagged\n")(folder), _write("Gold.format", "")(folder),
                        _write("Correct.Data", "")(folder)),
    ),
    "genia-event-xml": ("train.xml", [], _write("train.xml", "<Annotation><PMID>1</PMID></Annotation>")),
    "inline-xml": ("train.xml", [], _write("train.xml", "<Articles><Article><Title>No id.</Title></Article></Articles>")),
    "diakg": ("train.json", [], _write("train.json", '{"doc_id": "1", "paragraphs": [1]}')),
    "hoc": (
        "text/1.txt",
        [],
        lambda folder: ((folder / "text").mkdir(), (folder / "labels").mkdir(), _write("text/1.txt", "A sentence.\n")(folder)),
    ),
    "liveqa-xml": ("train.xml", [], _write("train.xml", '<r><NLM-QUESTION qid="TQ1"><NIST-PARAPHRASE/></NLM-QUESTION></r>')),
    "marked-re": ("train.txt", [], _write("train.txt", '{"text": "no markers here", "label": "X"}\n')),
    "mcqa-jsonl": ("train.jsonl", [], _write("train.jsonl", '{"question": ""}\n')),
    "mediqa-qa-xml": ("train.xml", [], _write("train.xml", '<r><Question QID="1"><QuestionText>q</QuestionText></Question></r>')),
    "mediqa-rqe-xml": ("train.xml", [], _write("train.xml", '<r><pair pid="1" value="no"><chq>a</chq><faq>b</faq></pair></r>')),
    "ppi-xml": ("train.xml", [], _write("train.xml", "<corpus><document id='d1'/></corpus>")),
    "mention-jsonl": ("train.json", [], _write("train.json", "1\n")),
    "promptcblue": ("train.json", [], _write("train.json", "[1]")),
    "pubmedqa": ("train.json", [], _write("train.json", '{"1": 5}')),
    "pubtator": ("train.txt", [], _write("train.txt", "1|a|An abstract without a title.\n\n")),
    "squad": ("train.json", [], _write("train.json", '{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "q"}]}]}]}')),
    "taiyi-jsonl": ("train.jsonl", [], _write("train.jsonl", "1\n")),
    "token-vectors": (
        "sentences.json",
        [],
        lambda folder: (
            _write("sentences.json", '{"1:0": "A b ."}')(folder),
            _write("p.json", '{"1:0": {"annotations": [[1, 0]]}}')(folder),
        ),
    ),
    "text2dt": ("train.json", [], _write("train.json", "[1]")),
}
JSON_SUFFIX = {"csv": ".json"}  # formats that read JSON objects only from inputs named so
FOLDER_ONLY = {"hoc", "genetag"}  # formats whose input is a folder (the file name above is a path inside it)
JSON_FORMATS = sorted(
    name
    for name, reader in all_readers().items()
    if any(
        helper in inspect.getsource(inspect.getmodule(reader))
        for helper in ("load_json", "iter_json_records", "json_items(", "convert_items(", "convert_lines(")
    )
)


def convert(format_name: str, inputs: list[Path | str], out: Path, *extra: str) -> Result:
    args = ["convert", "--format", format_name, "--name", "toy", "--lang", "en", "--split", "train", "--out", str(out)]
    for path in inputs:
        args += ["--input", str(path)]
    return runner.invoke(app, [*args, *FORMATS[format_name][1], *extra], env={"COLUMNS": "80"})


def assert_one_line_error(result: Result, *needles: str) -> str:
    """Exit 2, nothing but one line saying ``error: ...`` with every needle in it, and no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_every_format_has_hostile_inputs() -> None:
    assert set(FORMATS) == set(all_readers())
    assert len(JSON_FORMATS) >= 13 and {"alpaca", "cblue-ner", "mcqa-jsonl", "squad", "taiyi-jsonl"} <= set(JSON_FORMATS)


# --------------------------------------------------------------------------------------------- symbolic link loops
@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_a_symlink_loop_given_as_input_is_a_one_line_error(tmp_path: Path, format_name: str) -> None:
    loop = tmp_path / f"train{Path(FORMATS[format_name][0]).suffix}"
    loop.symlink_to(loop.name)
    assert_one_line_error(convert(format_name, [loop], tmp_path / "out"), f"error: {loop}: symbolic link loop")


@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_a_symlink_loop_inside_an_input_folder_is_a_one_line_error(tmp_path: Path, format_name: str) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    FORMATS[format_name][2](folder)  # real files beside the loop: the loop is not skipped silently
    loop = folder / FORMATS[format_name][0]
    if loop.exists():
        loop = loop.with_name("loop" + loop.suffix)
    loop.symlink_to(loop.name)
    assert_one_line_error(convert(format_name, [folder], tmp_path / "out"), f"error: {loop}: symbolic link loop")


def test_a_linked_folder_leading_back_up_is_a_loop_not_an_endless_walk(tmp_path: Path) -> None:
    (tmp_path / "corpus" / "part").mkdir(parents=True)
    (tmp_path / "corpus" / "part" / "train.tsv").write_text("a\tO\n\n", encoding="utf-8")
    (tmp_path / "corpus" / "part" / "up").symlink_to("..")
    message = assert_one_line_error(convert("conll", [tmp_path / "corpus"], tmp_path / "out"), "symbolic link loop")
    assert f"{tmp_path / 'corpus' / 'part' / 'up'}:" in message


@pytest.mark.parametrize("which", ["--mirror", "--catalog", "--out"])
def test_a_symlink_loop_as_mirror_catalog_or_output_folder_is_a_one_line_error(tmp_path: Path, which: str) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "mirror"
    loop = tmp_path / "loop"
    loop.symlink_to(loop.name)
    args = {"--mirror": str(examples), "--out": str(tmp_path / "out"), which: str(loop)}
    result = runner.invoke(app, ["convert", "--datasets", "ncbi_disease", "--no-verify", *[x for kv in args.items() for x in kv]])
    assert_one_line_error(result, f"error: {loop}", "symbolic link loop")


def test_folder_files_follow_links_and_name_broken_ones(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "b.json").write_text("[]", encoding="utf-8")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.json").write_text("[]", encoding="utf-8")
    (tmp_path / "corpus" / "linked").symlink_to(tmp_path / "store")  # a linked sub-folder is read, not skipped
    (tmp_path / "corpus" / "readme").symlink_to("nowhere")  # a broken link the reader would not read anyway

    def wanted(path: Path) -> bool:
        return path.suffix == ".json"

    assert folder_files(tmp_path / "corpus", wanted) == [
        tmp_path / "corpus" / "a.json",
        tmp_path / "corpus" / "linked" / "b.json",
    ]
    (tmp_path / "corpus" / "c.json").symlink_to("missing.json")
    with pytest.raises(ConvertError, match="c.json: broken symbolic link"):
        folder_files(tmp_path / "corpus", wanted)


def test_a_catalogued_source_with_a_loop_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "x").symlink_to("x")
    with pytest.raises(ConvertError, match="corpus/x: symbolic link loop"):
        tree_sha256(tmp_path / "corpus")


# --------------------------------------------------------------------------------------------- deeply nested JSON
DEPTH = 100_000


@pytest.mark.parametrize(
    "shape,text",
    [("array", "[" * DEPTH + "]" * DEPTH), ("object", '{"a":' * DEPTH + "1" + "}" * DEPTH)],
)
@pytest.mark.parametrize("format_name", JSON_FORMATS)
def test_json_nested_too_deeply_is_a_one_line_error(tmp_path: Path, format_name: str, shape: str, text: str) -> None:
    path = tmp_path / f"train{JSON_SUFFIX.get(format_name, Path(FORMATS[format_name][0]).suffix)}"
    path.write_text(text, encoding="utf-8")
    assert_one_line_error(
        convert(format_name, [path], tmp_path / "out"), f"error: {path}:1: JSON nested too deeply", f"{DEPTH} levels"
    )


@pytest.mark.parametrize("format_name", JSON_FORMATS)
def test_a_json_lines_record_nested_too_deeply_names_its_line(tmp_path: Path, format_name: str) -> None:
    path = tmp_path / f"train{JSON_SUFFIX.get(format_name, Path(FORMATS[format_name][0]).suffix)}"
    lines = ['{"id": "1", "text": "a"}', "", '{"id": "2", "deep": ' + "[" * DEPTH + "]" * DEPTH + "}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = convert(format_name, [path], tmp_path / "out")
    whole_file_json = ("bioasq", "cmb-clin", "cmdd-json", "diakg", "pubmedqa", "squad", "token-vectors")
    if format_name in whole_file_json:  # whole-file JSON formats: the file is not JSON
        assert_one_line_error(result, f"error: {path}:")
    else:
        assert_one_line_error(result, f"error: {path}:3: JSON nested too deeply", f"{DEPTH + 1} levels")



# --------------------------------------------------------------------------------------------- XML entities
XML_ROOTS = {"bioc": "collection", "ddi-xml": "document", "ppi-xml": "corpus"}
XML_ROOTS |= {"genia-event-xml": "Annotation", "inline-xml": "Articles"}
XML_ROOTS |= {"mediqa-rqe-xml": "root", "mediqa-qa-xml": "root", "liveqa-xml": "root"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("format_name", sorted(XML_ROOTS))
def test_xml_entity_declarations_are_refused_in_any_encoding(tmp_path: Path, format_name: str, encoding: str) -> None:
    """An entity declaration is a one-line error naming the file and its line whatever the file's encoding: a byte
    search for ``<!ENTITY`` misses UTF-16/32, where the entity would be expanded (billion laughs)."""
    root = XML_ROOTS[format_name]
    declared = encoding.upper().removesuffix("-LE").removesuffix("-BE")
    text = f"<?xml version='1.0' encoding='{declared}'?>\n<!DOCTYPE {root} [\n<!ENTITY x 'boom'>]>\n<{root} id='d'>&x;</{root}>"
    raw = text.encode(encoding)
    if encoding.endswith(("-le", "-be")):
        raw = "\ufeff".encode(encoding) + raw  # a byte order mark, as an editor writes it
    path = tmp_path / "train.xml"
    path.write_bytes(raw)
    assert b"<!ENTITY" not in raw or encoding == "utf-8"
    result = convert(format_name, [path], tmp_path / "out")
    assert_one_line_error(result, f"error: {path}:3: XML entity declarations are not allowed")


@pytest.mark.parametrize("format_name", sorted(XML_ROOTS))
def test_xml_external_entity_is_refused(tmp_path: Path, format_name: str) -> None:
    root = XML_ROOTS[format_name]
    path = tmp_path / "train.xml"
    secret = tmp_path / "secret.txt"
    secret.write_text("secret", encoding="utf-8")
    doctype = f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
    path.write_text(f'<?xml version="1.0"?>\n{doctype}\n<{root} id="d">&x;</{root}>', encoding="utf-8")
    result = convert(format_name, [path], tmp_path / "out")
    line = assert_one_line_error(result, f"error: {path}:2: XML entity declarations are not allowed")
    assert "secret" not in line.replace(str(secret), "")


@pytest.mark.parametrize("format_name", sorted(XML_ROOTS))
def test_xml_doctype_without_entities_still_parses(tmp_path: Path, format_name: str) -> None:
    """BioC files start with ``<!DOCTYPE collection SYSTEM "BioC.dtd">``: a DTD without entities is not refused."""
    root = XML_ROOTS[format_name]
    path = tmp_path / "train.xml"
    path.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE {root} SYSTEM "{root}.dtd">\n<{root} id="d"></{root}>', encoding="utf-8")
    result = convert(format_name, [path], tmp_path / "out")
    assert "entity" not in result.output and "Traceback" not in result.output, result.output

# --------------------------------------------------------------------------------------------- paths as given
@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_rejections_name_the_input_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, format_name: str, relative: bool
) -> None:
    """The input lies in ``origin-data``, a linked folder whose target is named differently (``store/tmp``):
    every rejection names ``origin-data/...`` exactly as given, not the link's target or a path cut at '/'."""
    store = tmp_path / "store" / "tmp"
    store.mkdir(parents=True)
    FORMATS[format_name][2](store)
    (tmp_path / "origin-data").symlink_to(store)
    monkeypatch.chdir(tmp_path)
    folder = Path("origin-data") if relative else tmp_path / "origin-data"
    given = [folder] if format_name in FOLDER_ONLY else [folder / p.name for p in sorted(store.iterdir())]
    result = convert(format_name, given, tmp_path / "out", "--allow-empty")  # every record of these inputs is rejected
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "toy" / "rejections.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows and all(row["kind"] == "rejection" for row in rows), rows
    allowed = {str(path) for path in given} | {str(folder / p.relative_to(store)) for p in store.rglob("*")}
    assert {row["path"] for row in rows} <= allowed, (rows, allowed)
    info = json.loads((tmp_path / "out" / "toy" / "info.json").read_text(encoding="utf-8"))
    assert [entry["path"] for entry in info["files"]["train"]] == [str(path) for path in given]


# --------------------------------------------------------------------------------------------- dropped annotations
BIOC_DOC = (
    "<collection><document><id>7</id><passage><infon key='type'>title</infon><offset>0</offset><text>Cocaine causes pain.</text>"
    "<annotation id='0'><infon key='type'>Chemical</infon><infon key='MESH'>D003042</infon><location offset='0' length='7'/>"
    "<text>Cocaine</text></annotation>"
    "<annotation id='1'><infon key='type'>Disease</infon><infon key='MESH'>D010146</infon><location offset='15' length='4'/>"
    "<text>pain</text></annotation></passage>"
    "<relation id='R0'><infon key='relation'>CID</infon>"
    "<infon key='Chemical'>D003042</infon><infon key='Disease'>D010146</infon></relation>"
    "<relation id='R1'><infon key='relation'>CID</infon>"
    "<infon key='Chemical'>D003042</infon><infon key='Disease'>D999999</infon></relation>"
    "<relation id='R2'><infon key='relation'>CID</infon><node refid='0' role='a'/><node refid='9' role='b'/></relation>"
    "</document></collection>"
)


def test_dropped_annotations_are_listed_counted_and_fail_strict(tmp_path: Path) -> None:
    """Relations the reader cannot place (a concept no entity is normalised to, an unknown annotation id) are listed
    with their reason, counted read vs converted in the ledger, and make `--strict` fail with no record rejected."""
    path = tmp_path / "origin-data" / "train.xml"
    path.parent.mkdir()
    path.write_text(BIOC_DOC, encoding="utf-8")
    result = convert("bioc", [path], tmp_path / "out")
    assert result.exit_code == 0, result.output
    ledger = json.loads((tmp_path / "out" / "ledger.json").read_text(encoding="utf-8"))["toy"]["train"]
    assert (ledger["rejected"], ledger["dropped"]) == (0, 2)
    assert ledger["annotations"]["relations"] == {"read": 3, "converted": 1, "dropped": 2, "in_rejected_records": 0}
    assert ledger["annotations"]["entities"] == {"read": 2, "converted": 2, "dropped": 0, "in_rejected_records": 0}
    rows = [json.loads(line) for line in (tmp_path / "out" / "toy" / "rejections.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["kind"], r["reason"], r["dropped"], r["annotation"], r["path"], r["locator"]) for r in rows] == [
        ("defect", "relation concept not mentioned", True, "relations", str(path), "7"),
        ("defect", "relation argument missing", True, "relations", str(path), "7"),
    ]
    assert "D999999" in rows[0]["detail"] and "'9'" in rows[1]["detail"]
    strict = convert("bioc", [path], tmp_path / "out", "--strict")
    assert strict.exit_code == 2 and "0 record(s) rejected, 2 annotation(s) dropped" in strict.output



def test_strict_fails_when_extra_annotations_cancel_dropped_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unaccounted count is negative when more annotations were converted than read (a reader bug); it must not
    cancel real drops: `--strict` fails on the 2 dropped relations and on the unaccounted entities, naming both."""
    from biohub.converters import api

    real = api.convert_source

    def miscounting(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        result.ledger["train"].annotations_read["entities"] -= 2  # 2 read, 2 converted -> reads 0, converts 2
        return result

    monkeypatch.setattr(api, "convert_source", miscounting)
    path = tmp_path / "train.xml"
    path.write_text(BIOC_DOC, encoding="utf-8")
    result = convert("bioc", [path], tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "unaccounted" in result.output and "toy/train entities: 2 more converted than read" in result.output
    strict = convert("bioc", [path], tmp_path / "out", "--strict")
    assert strict.exit_code == 2, strict.output
    assert "0 record(s) rejected, 2 annotation(s) dropped, 2 annotation(s) unaccounted" in strict.output.replace("\n", " ")


def test_unaccounted_counts_add_up_by_absolute_value() -> None:
    from collections import Counter

    from biohub.converters.ledger import SplitLedger

    ledger = SplitLedger(counts={"entities": 5, "relations": 1}, annotations_read=Counter(entities=3, relations=4))
    assert ledger.unaccounted() == {"entities": -2, "relations": 3} and ledger.unaccounted_total() == 5
    assert ledger.unaccounted_lines("x/train") == [
        "x/train entities: 2 more converted than read",
        "x/train relations: 3 fewer accounted for than read",
    ]

def test_strict_passes_repairs_that_keep_the_annotation(tmp_path: Path) -> None:
    """A padded mention is kept (offsets are authoritative) and counted as a defect, but it is not a drop."""
    path = tmp_path / "train.txt"
    path.write_text("1|t|Gout and fever.\n1\t0\t4\t Gout \tDisease\tD006073\n\n", encoding="utf-8")
    result = convert("pubtator", [path], tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    ledger = json.loads((tmp_path / "out" / "ledger.json").read_text(encoding="utf-8"))["toy"]["train"]
    assert ledger["defects"] == {"mention text padded with whitespace (trimmed)": 1} and ledger["dropped"] == 0
    assert ledger["annotations"]["entities"] == {"read": 1, "converted": 1, "dropped": 0, "in_rejected_records": 0}


def test_bioasq_answer_values_that_are_not_strings_are_listed_drops(tmp_path: Path) -> None:
    question = {
        "id": "q1", "type": "list", "body": "Which?", "exact_answer": [["a"], 5, [None, "b"]],
        "ideal_answer": ["Both.", ""],
    }
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"questions": [question]}), encoding="utf-8")
    assert convert("bioasq", [path], tmp_path / "out").exit_code == 0
    rows = [json.loads(line) for line in (tmp_path / "out" / "toy" / "rejections.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["reason"], r["dropped"]) for r in rows] == [
        ("empty ideal answer dropped", True),
        ("answer not a string (dropped)", True),
        ("answer not a string (dropped)", True),
    ]
    assert "5" in rows[1]["detail"] and "None" in rows[2]["detail"]
