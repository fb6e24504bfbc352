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
    answered = 0
    for record in records:
        (made,) = [i for i in instances(record, info) if i.family == "events"]
        assert check_instance(record, made) is None
        answered += len(made.target)  # before equal events merge: one per event of the record
    assert answered == counts["events"]
    values = _gold_scores(records, info, "events", "f1_event")
    assert values["f1_event"] == values["f1_trigger"] == values["f1_argument"] == 1.0


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
