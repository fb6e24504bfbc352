"""Event and Text2DT families on the real corpora (one fast test per corpus, on its validation split): every labelled
record's example round-trips in both formats, its answer holds every event (tree node, triple) SOURCE.md counts, and
gold-rendered answers score exactly 1.0 through the family's scorer."""

from __future__ import annotations

import json

import pytest

from biohub.eval.score import compute, judge
from biohub.eval.suite import Entry
from biohub.templates.check import check_instance
from biohub.templates.instruct import InstructOptions, make_examples, read_records
from biohub.templates.tasks import DatasetInfo, instances
from tests.real_conversions import corpus

pytestmark = pytest.mark.real_corpora

EVENT_CORPORA = (
    "bionlp_st_2009", "bionlp_st_2011_epi", "bionlp_st_2011_ge", "bionlp_st_2011_id", "bionlp_st_2013_cg",
    "bionlp_st_2013_ge", "bionlp_st_2013_gro", "genia_ptm_event", "genia_event", "chip_cdee",
)


def _gold_scores(records: list, info: DatasetInfo, task: str, headline: str) -> dict[str, float]:
    made = make_examples(records, info, InstructOptions(formats=("lines", "json")))
    rows = [example.to_row() for _, _, example in made if example.task == task]
    assert rows
    judged = [judge(row, row["messages"][-1]["content"]) for row in rows]
    assert all(j.parse_ok for j in judged)
    return compute(Entry("gold", info.name, "validation", (task,), headline), judged)


@pytest.mark.parametrize("name", [corpus(name) for name in EVENT_CORPORA])
def test_event_corpus_round_trips_and_gold_answers_score_one(unified, name: str) -> None:
    folder = unified(name) / name
    info = DatasetInfo.load(folder)
    counts = json.loads((unified(name) / "ledger.json").read_text())[name]["validation"]["counts"]
    records = [r for r in read_records(folder / "validation.parquet", info.schema) if r.labeled]
    assert len(records) == counts["labeled"] > 0 and info.event_types
    answered = modified = 0
    for record in records:
        (made,) = [i for i in instances(record, info) if i.family == "events"]
        assert check_instance(record, made) is None
        answered += len(made.target)  # before equal events merge: one per event of the record
        modified += sum(len(event[3]) for event in made.target if len(event) > 3)
    assert answered == counts["events"]
    # every modification of an event (BioNLP Negation / Speculation, CHIP-CDEE tendency) is in the answers
    of_events = {(m.ref_id, m.type) for r in records for m in r.modifications if m.ref_id in {e.id for e in r.events}}
    assert modified == len(of_events) and (modified > 0) == bool(info.modification_types)
    values = _gold_scores(records, info, "events", "f1_event")
    assert values["f1_event"] == values["f1_trigger"] == values["f1_argument"] == values["f1_event_mod"] == 1.0
    assert values["f1_modification"] == (1.0 if modified else 0.0)


def test_text2dt_round_trips_and_gold_trees_score_one(unified) -> None:
    folder = unified("text2dt") / "text2dt"
    info = DatasetInfo.load(folder)
    records = read_records(folder / "validation.parquet", info.schema)
    nodes = triples = 0
    for record in records:
        (made,) = instances(record, info)
        assert check_instance(record, made) is None
        nodes += len(made.target)
        triples += sum(len(node["triples"]) for node in made.target)
    assert (len(records), nodes, triples) == (100, 472, 685)  # SOURCE.md: Text2DT_dev.json
    values = _gold_scores(records, info, "decision_tree", "tree_accuracy")
    assert values["tree_accuracy"] == values["f1_tree_triple"] == values["f1_tree_node"] == values["f1_tree_path"] == 1.0
    assert values["tree_edit_distance"] == 0.0


def _promptcblue_f1(golds: list[list], predictions: list[list]) -> float:
    """CHIP-CDEE's F1 as PromptCBLUE's evaluation defines it, written from its description: each event a dict of its
    four fields (主体词 core_name, 发生状态 tendency, 描述词 character list, 解剖部位 anatomy list), compared as the
    tuple of its JSON-dumped fields in key order, micro-averaged over the set of such tuples per sample. The lists
    are sorted (biohub compares them as sets; PromptCBLUE in the order written)."""

    def fields(event: list) -> tuple[str, ...]:
        kind, trigger, args = event[:3]
        modifications = event[3] if len(event) > 3 else []
        as_dict = {
            "主体词": trigger,
            "发生状态": modifications[0] if modifications else "",
            "描述词": sorted({text for role, text in args if role == "character"}),
            "解剖部位": sorted({text for role, text in args if role == "anatomy"}),
        }
        return tuple(json.dumps(as_dict[key], ensure_ascii=False) for key in sorted(as_dict))

    tp = fp = fn = 0
    for gold, predicted in zip(golds, predictions):
        gold_set, predicted_set = {fields(e) for e in gold}, {fields(e) for e in predicted}
        tp, fp, fn = tp + len(gold_set & predicted_set), fp + len(predicted_set - gold_set), fn + len(gold_set - predicted_set)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def test_chip_cdee_event_mod_is_promptcblues_f1(unified) -> None:
    """Differential test of f1_event_mod on CHIP-CDEE's dev answers, seeded errors of every kind (a tendency dropped,
    changed or added, an argument dropped, an event dropped, a spurious event), against PromptCBLUE's definition."""
    import random

    from biohub.eval.metrics_events import event_scores

    folder = unified("chip_cdee") / "chip_cdee"
    info = DatasetInfo.load(folder)
    records = [r for r in read_records(folder / "validation.parquet", info.schema) if r.labeled]
    rng = random.Random(0)
    golds, predictions = [], []
    for record in records:
        (made,) = [i for i in instances(record, info) if i.family == "events"]
        gold = made.target
        predicted = [list(event) for event in gold]
        for index, event in enumerate(predicted):
            roll = rng.random()
            if roll < 0.08:
                predicted[index] = event[:3]  # the tendency dropped (or none to drop)
            elif roll < 0.14:
                predicted[index] = [*event[:3], ["不确定" if event[3:] == [["否定"]] else "否定"]]  # changed or added
            elif roll < 0.2 and event[2]:
                predicted[index] = [event[0], event[1], event[2][1:], *event[3:]]  # an argument dropped
        if predicted and rng.random() < 0.1:
            predicted.pop()
        if rng.random() < 0.1:
            predicted.append(["clinical_finding", "咳嗽", []])
        golds.append(gold)
        predictions.append(predicted)
    ours = event_scores((g, p, None) for g, p in zip(golds, predictions))["f1_event_mod"]
    assert 0.5 < ours < 0.95 and ours == pytest.approx(_promptcblue_f1(golds, predictions), abs=1e-12)
