"""Official metric definitions (issue 23): NER mention-level (every gold occurrence), BC5CDR CID concept-id pairs per
document, the gold annotations they need in ``meta.gold_kb``, suite headlines checked against what each family
computes, and the real corpora scored with their gold answers (counts as SOURCE.md gives them)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

import pytest

from biohub.converters.catalog import MetricName
from biohub.eval import metrics
from biohub.eval.run import EvalError, score_outputs
from biohub.eval.score import compute, judge
from biohub.eval.suite import (
    Entry,
    SuiteError,
    headline_for,
    headline_overrides,
    headlines,
    load_suite,
)
from biohub.schema import Entity, KBRecord, Normalization, Passage, Relation
from biohub.templates.answers import render
from biohub.templates.example import Message, spec_from_meta
from biohub.templates.instruct import InstructOptions, build_split, make_examples, read_records
from biohub.templates.length import TokenCounter
from biohub.templates.library import families
from biohub.templates.registry import METRICS
from biohub.templates.tasks import DatasetInfo

ROOT = Path(__file__).resolve().parents[2]
INFO = DatasetInfo("toy", "kb", ("ner", "re"), ("Chemical", "Disease"), ("CID",), (), False)


def record(
    record_id: str, text: str, mentions: Sequence[tuple[str, str, str]], relations: Sequence[tuple[int, int]] = ()
) -> KBRecord:
    """One passage; ``mentions``: (type, text, MeSH ids joined by |), each found after the previous one of its text."""
    entities, cursor = [], Counter[str]()
    for index, (kind, mention, ids) in enumerate(mentions):
        start = text.index(mention, cursor[mention])
        cursor[mention] = start + 1
        normalized = [Normalization("MESH", i) for i in ids.split("|") if i]
        entities.append(Entity(f"{record_id}.e{index}", kind, [mention], [(start, start + len(mention))], normalized))
    links = [
        Relation(
            f"{record_id}.r{i}", "CID", entities[a].id, entities[b].id, entities[a].normalized[:1] + entities[b].normalized[:1]
        )
        for i, (a, b) in enumerate(relations)
    ]
    passage = Passage(f"{record_id}.p0", "abstract", [text], [(0, len(text))])
    return KBRecord(
        id=record_id,
        document_id=record_id,
        dataset="toy",
        split="test",
        language="en",
        passages=[passage],
        entities=entities,
        relations=links,
    )


def rows_of(records: Sequence[KBRecord], task: str) -> list[dict[str, Any]]:
    examples = [example for _, _, example in make_examples(records, INFO, InstructOptions()) if example.task == task]
    return [example.to_row() for example in examples]


def scored(rows: list[dict[str, Any]], outputs: dict[str, str], entry: Entry) -> dict[str, float]:
    return compute(entry, [judge(row, outputs.get(row["id"])) for row in rows])


DOC = "Cisplatin caused nephrotoxicity. Nephrotoxicity and ototoxicity followed cisplatin (CDDP) and renal and hepatic failure."
MENTIONS = [
    ("Chemical", "Cisplatin", "D002945"),
    ("Disease", "nephrotoxicity", "D007674"),
    ("Disease", "Nephrotoxicity", "D007674"),
    ("Disease", "ototoxicity", "D006311"),
    ("Chemical", "cisplatin", "D002945"),
    ("Chemical", "CDDP", "D002945"),
    ("Disease", "renal and hepatic failure", "D051437|D017093"),
]


# ------------------------------------------------------------------------------------------ metrics by hand
def test_mention_level_counts_every_gold_occurrence() -> None:
    gold = metrics.mention_counts([["Disease", "asthma", 3, []], ["Chemical", "aspirin", 1, []], ["Disease", "aspirin", 1, []]])
    assert gold == Counter({("asthma", "Disease"): 3, ("aspirin", "Chemical"): 1, ("aspirin", "Disease"): 1})
    assert metrics.mention_counts([["A", "x", 2, []], ["B", "x", 1, []]], collapse=True) == Counter({("x", "*"): 3})
    # asthma: 3 TP; gout: 1 FP; aspirin (Chemical, Disease): 2 FN -> P 3/4, R 3/5
    values = metrics.mention_prf([(gold, {("asthma", "Disease"), ("gout", "Disease")})])
    assert (values["tp"], values["fp"], values["fn"]) == (3, 1, 2)
    assert values["precision"] == pytest.approx(3 / 4) and values["recall"] == pytest.approx(3 / 5)


def test_concept_pairs_by_hand() -> None:
    entities = [
        ["Chemical", "Cisplatin", 1, ["C1"]],
        ["Chemical", "CDDP", 1, ["C1"]],
        ["Disease", "renal and hepatic failure", 1, ["D1", "D2"]],
        ["Disease", "ototoxicity", 1, ["D3"]],
    ]
    relations = [["CID", ["C1"], ["D1"]]]
    gold, items = metrics.concept_pair_items(relations, entities, [["CID", "cddp ", "Renal and hepatic failure"]])
    assert gold == items == {("CID", "C1", "D1")}  # another spelling, any case; the composite counts as its gold reading
    _, items = metrics.concept_pair_items(relations, entities, [["CID", "CDDP", "ototoxicity"], ["CID", "CDDP", "fever"]])
    assert items == {("CID", "C1", "D3"), ("CID", "text:cddp", "text:fever")}  # a wrong pair; a text naming no concept
    values = metrics.concept_pair_prf([(relations, entities, [["CID", "CDDP", "ototoxicity"]])])
    assert (values["tp"], values["fp"], values["fn"]) == (0, 1, 1)


# ------------------------------------------------------------------------------------------ meta.gold_kb and the scorer
def test_gold_kb_meta_holds_counts_and_concepts_and_gold_answers_score_one() -> None:
    doc = record("d1", DOC, MENTIONS, relations=[(0, 1), (0, 3), (0, 6)])
    ner_rows, re_rows = rows_of([doc], "ner"), rows_of([doc], "re")
    gold_kb = json.loads(ner_rows[0]["meta"])["gold_kb"]
    assert ["Disease", "Nephrotoxicity", 1, ["MESH:D007674"]] in gold_kb["entities"]
    assert ["Disease", "renal and hepatic failure", 1, ["MESH:D017093", "MESH:D051437"]] in gold_kb["entities"]
    assert sum(row[2] for row in gold_kb["entities"]) == len(MENTIONS)
    relations = json.loads(re_rows[0]["meta"])["gold_kb"]["relations"]
    assert relations == [
        ["CID", ["MESH:D002945"], ["MESH:D006311"]],
        ["CID", ["MESH:D002945"], ["MESH:D007674"]],
        ["CID", ["MESH:D002945"], ["MESH:D051437"]],
    ]
    perfect = {row["id"]: row["messages"][-1]["content"] for row in ner_rows + re_rows}
    ner = scored(ner_rows, perfect, Entry("NER", "toy", "test", ("ner",), "f1_mention"))
    assert ner["f1_mention"] == 1.0 and ner["tp_mention"] == len(MENTIONS) and ner["tp_text_set"] == len(MENTIONS)
    assert ner["f1_mention[Disease]"] == 1.0 and "f1" not in ner
    cid = scored(re_rows, perfect, Entry("CID", "toy", "test", ("re",), "f1_concept_pair"))
    assert cid["f1_concept_pair"] == 1.0 and cid["tp_concept_pair"] == 3 and cid["f1_text_set"] == 1.0


def test_mention_level_differs_from_the_text_set_when_mentions_repeat() -> None:
    doc = record(
        "d1", "asthma and asthma and gout", [("Disease", "asthma", ""), ("Disease", "asthma", ""), ("Disease", "gout", "")]
    )
    rows = rows_of([doc], "ner")
    values = scored(rows, {rows[0]["id"]: "Chemical: None\nDisease: asthma"}, Entry("NER", "toy", "test", ("ner",), "f1_mention"))
    assert (values["tp_mention"], values["fn_mention"]) == (2, 1) and values["recall_mention"] == pytest.approx(2 / 3)
    assert (values["tp_text_set"], values["fn_text_set"]) == (1, 1) and values["recall_text_set"] == pytest.approx(1 / 2)


def test_another_spelling_of_the_gold_concepts_is_the_same_pair() -> None:
    doc = record("d1", DOC, MENTIONS, relations=[(0, 1), (0, 3)])
    rows = rows_of([doc], "re")
    outputs = {rows[0]["id"]: "CID: [CDDP, Nephrotoxicity]; [cisplatin, ototoxicity]"}
    values = scored(rows, outputs, Entry("CID", "toy", "test", ("re",), "f1_concept_pair"))
    assert values["f1_concept_pair"] == 1.0 and values["f1_text_set"] < 1.0


def test_windows_carry_only_their_own_gold_entities() -> None:
    """A long document split into windows: each window's meta.gold_kb holds its mentions, and they add up."""
    sentences = [f"Patient {i} took drug{i % 3} for illness{i % 2}." for i in range(30)]
    mentions = [m for i in range(30) for m in (("Chemical", f"drug{i % 3}", ""), ("Disease", f"illness{i % 2}", ""))]
    doc = record("long", " ".join(sentences), mentions)

    class CharCounter(TokenCounter):
        def __init__(self) -> None:
            super().__init__(tokenizer=None)

        def __call__(self, conversations: Sequence[list[Message]]) -> list[int]:
            return [sum(len(m.content) for m in messages) for messages in conversations]

    examples, _, _ = build_split([doc], INFO, InstructOptions(max_length=900), CharCounter())
    windows = [e for e in examples if e.task == "ner"]
    assert len(windows) > 1 and all("window" in json.loads(e.meta) for e in windows)
    total = sum(row[2] for e in windows for row in json.loads(e.meta)["gold_kb"]["entities"])
    assert total == len(mentions)
    rows = [e.to_row() for e in windows]
    values = scored(
        rows, {row["id"]: row["messages"][-1]["content"] for row in rows}, Entry("NER", "toy", "test", ("ner",), "f1_mention")
    )
    assert values["f1_mention"] == 1.0 and values["tp_mention"] == len(mentions)


def test_a_headline_the_examples_cannot_give_is_an_error_not_zero() -> None:
    doc = record("d1", DOC, MENTIONS, relations=[(0, 1)])
    rows = rows_of([doc], "ner")
    for row in rows:  # an example built before meta.gold_kb existed
        meta = json.loads(row["meta"])
        del meta["gold_kb"]
        row["meta"] = json.dumps(meta)
    entry = Entry("NER", "toy", "test", ("ner",), "f1_mention")
    with pytest.raises(EvalError, match="row NER: its headline 'f1_mention' cannot be computed"):
        score_outputs([entry], {"NER": rows}, {}, "nowhere")


def test_decomposed_ner_scores_each_example_with_its_own_type() -> None:
    """One ner_single example per entity type: each is counted under its own type, per-type values cover every type."""
    doc = record("d1", DOC, MENTIONS)
    made = make_examples([doc], INFO, InstructOptions(decompose=True))
    rows = [example.to_row() for _, _, example in made if example.task == "ner_single"]
    assert len(rows) == 2
    values = scored(rows, _perfect(rows), Entry("NER", "toy", "test", ("ner_single",), "f1_mention"))
    assert values["f1_mention"] == 1.0 and values["tp_mention"] == len(MENTIONS) and values["f1_text_set"] == 1.0
    for kind in ("Chemical", "Disease"):
        assert values[f"f1_mention[{kind}]"] == values[f"f1_text_set[{kind}]"] == 1.0, kind
    wrong_type = {row["id"]: "ototoxicity" for row in rows}  # a Disease named where Chemicals are asked is a FP
    values = scored(rows, wrong_type, Entry("NER", "toy", "test", ("ner_single",), "f1_mention"))
    assert (values["tp_mention"], values["fp_mention"]) == (1, 1) and values["f1_mention[Chemical]"] == 0.0


def test_concept_pairs_are_scored_on_documents_without_gold_relations() -> None:
    """Pairs predicted on a document with no gold relation are false positives, not a reason to drop the metric."""
    rows = rows_of([record("d1", DOC, MENTIONS)], "re")
    assert json.loads(rows[0]["meta"])["gold_kb"]["relations"] == []
    entry = Entry("CID", "toy", "test", ("re",), "f1_concept_pair")
    values = scored(rows, {rows[0]["id"]: "CID: [cisplatin, ototoxicity]"}, entry)
    assert (values["tp_concept_pair"], values["fp_concept_pair"], values["fn_concept_pair"]) == (0, 1, 0)
    results, _, _ = score_outputs([entry], {"CID": rows}, {rows[0]["id"]: "CID: None"}, "nowhere")
    assert results[0].value == 0.0 and results[0].metrics["fp_concept_pair"] == 0
    for row in rows:  # an example built before meta.gold_kb existed still cannot give concept pairs
        meta = json.loads(row["meta"])
        del meta["gold_kb"]
        row["meta"] = json.dumps(meta)
    assert "f1_concept_pair" not in scored(rows, {}, entry)


def test_lm_eval_hooks_refuse_a_headline_the_docs_cannot_give(tmp_path: Path) -> None:
    """As ``biohub score``: an lm-eval task whose docs cannot give its headline fails when created, never scores 0."""
    pytest.importorskip("lm_eval", reason="lm-eval is not importable (pip install biohub[export])", exc_type=ImportError)
    from biohub.eval.lm_eval_hooks import ROW_KEYS, BiohubTask, aggregate, process_results, task_metrics

    rows = rows_of([record("d1", DOC, MENTIONS)], "ner")
    docs = [{**{key: row[key] for key in ROW_KEYS}, "target": row["messages"][-1]["content"]} for row in rows]
    assert task_metrics(docs)[:2] == ["headline", "f1_mention"]
    for doc in docs:  # exported from a hub folder built before meta.gold_kb existed
        meta = json.loads(doc["meta"])
        del meta["gold_kb"]
        doc["meta"] = json.dumps(meta)
    message = "lm-eval task toy/ner: its headline 'f1_mention' cannot be computed on these docs"
    with pytest.raises(EvalError, match=message):
        task_metrics(docs)
    with pytest.raises(EvalError, match=message):
        aggregate([process_results(docs[0], [docs[0]["target"]], ["headline"])["headline"]])
    data = tmp_path / "toy_ner.jsonl"
    data.write_text("".join(json.dumps(doc) + "\n" for doc in docs), encoding="utf-8")
    config = {"metadata": {"biohub_family": "ner"}, "dataset_kwargs": {"data_files": {"test": str(data)}}, "test_split": "test"}
    with pytest.raises(EvalError, match=f"^{re.escape(str(data))}: {message}"):
        BiohubTask(config=config)


# ------------------------------------------------------------------------------------------ suites and the table
def test_a_headline_the_family_never_computes_fails_when_the_suite_loads(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nentries:\n  - {name: Row-1, dataset: ncbi_disease, split: test, tasks: [ner], headline: accuracy}\n",
        encoding="utf-8",
    )
    with pytest.raises(SuiteError, match=r"bad\.yaml: entry Row-1: headline 'accuracy' is not computed for task ner"):
        load_suite(str(path))
    path.write_text(
        "name: ok\nentries:\n  - {name: Row-1, dataset: bc5cdr, split: test, tasks: [ner], headline: 'f1_mention[Chemical]'}\n",
        encoding="utf-8",
    )
    assert load_suite(str(path)).entries[0].headline == "f1_mention[Chemical]"


def test_shipped_headlines_are_computed_by_their_families() -> None:
    for entry in load_suite("taiyi_style").entries:
        assert all(entry.headline in families()[task].eval.metrics for task in entry.tasks), entry.name
    for dataset, by_family in headline_overrides().items():
        for family, headline in by_family.items():
            assert headline_for("micro_f1", family, dataset) == headline
    for family in families():
        for official in get_args(MetricName):
            assert headline_for(official, family) in families()[family].eval.metrics, (family, official)
    assert headline_for("micro_f1", "ner") == "f1_mention" and headline_for("micro_f1", "re", "bc5cdr") == "f1_concept_pair"
    assert headline_for("micro_f1", "re", "cmeie") == "f1_text_set"


def test_readme_metric_table_defines_every_metric_name() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1] for line in readme.splitlines() if line.startswith("| `")]
    table = {name for cell in rows for name in re.findall(r"`([^`]+)`", cell)}
    assert set(headlines()) <= table, sorted(set(headlines()) - table)
    assert METRICS <= table, sorted(METRICS - table)  # every name a family file may list


# ------------------------------------------------------------------------------------------ real corpora
def _gold_rows(unified: Path, dataset: str, split: str, task: str) -> list[dict[str, Any]]:
    folder = unified / dataset
    info = DatasetInfo.load(folder)
    made = make_examples(read_records(folder / f"{split}.parquet", info.schema), info, InstructOptions())
    return [example.to_row() for _, _, example in made if example.task == task]


def _perfect(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {row["id"]: row["messages"][-1]["content"] for row in rows}


def test_ncbi_disease_test_mentions_score_by_occurrence(unified) -> None:
    rows = _gold_rows(unified("ncbi_disease"), "ncbi_disease", "test", "ner")
    values = scored(
        rows, _perfect(rows), Entry("NCBI-disease", "ncbi_disease", "test", ("ner",), "f1_mention", collapse_types=True)
    )
    assert values["f1_mention"] == 1.0 and values["tp_mention"] == 960  # SOURCE.md: 960 test mentions
    assert values["f1_text_set"] == 1.0 and values["tp_text_set"] < 960  # distinct texts per document


def test_bc5cdr_test_scores_official_cid_pairs_and_mentions(unified) -> None:
    root = unified("bc5cdr")
    rows = _gold_rows(root, "bc5cdr", "test", "re")
    entry = Entry("BC5CDR (CID)", "bc5cdr", "test", ("re",), "f1_concept_pair")
    values = scored(rows, _perfect(rows), entry)
    assert values["f1_concept_pair"] == 1.0 and values["tp_concept_pair"] == 1066  # SOURCE.md: 1066 CID relations
    assert values["tp_text_set"] < 1066  # surface triples collapse
    # every gold pair written with another gold spelling of its concepts (where the document has one)
    outputs, changed = {}, 0
    for row in rows:
        meta = json.loads(row["meta"])
        kb, (spec, answer_format, _) = meta["gold_kb"], spec_from_meta(meta)
        triples = []
        for kind, (first,), (second,) in kb["relations"]:
            texts = [
                sorted((t for _, t, _, ids in kb["entities"] if concept in ids), key=lambda t: (len(t), t))
                for concept in (first, second)
            ]
            triples.append([kind, texts[0][-1], texts[1][-1]])  # the longest spelling of each concept
        gold_texts = {(h, t) for _, h, t in json.loads(row["gold"])["value"]}
        changed += len({(h, t) for _, h, t in triples} - gold_texts)
        outputs[row["id"]] = render(spec, triples, answer_format)
    respelled = scored(rows, outputs, entry)
    assert changed > 100
    assert respelled["f1_concept_pair"] == 1.0 and respelled["f1_text_set"] < 0.9
    ner = _gold_rows(root, "bc5cdr", "test", "ner")
    values = scored(ner, _perfect(ner), Entry("BC5CDR", "bc5cdr", "test", ("ner",), "f1_mention"))
    assert values["f1_mention"] == 1.0 and values["tp_mention"] == 9809  # SOURCE.md: 9809 test mention annotations
