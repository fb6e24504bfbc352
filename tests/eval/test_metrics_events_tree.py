"""Event extraction and Text2DT metrics: fixtures computed by hand (no kept library scores either task: the BioNLP ST
and Text2DT evaluations are scripts of their own, whose definitions biohub.eval.metrics_events / metrics_tree follow)."""

from __future__ import annotations

import pytest

from biohub.eval.metrics_events import UNITS, event_items, event_scores, signatures
from biohub.eval.metrics_tree import edit_distance, tree_scores
from biohub.schema import DecisionNode

GOLD = [
    ["Gene_expression", "expression", [["Theme", "IL-2"]]],
    ["Positive_regulation", "induces", [["Theme", 1], ["Cause", "TRAF2"]]],
    ["Binding", "binding", [["Theme", "IL-2"], ["Theme2", "p50"]]],
]
PREDICTED = [
    ["Gene_expression", "expression ", [["Theme", " IL-2"]]],  # right (texts are trimmed)
    ["Positive_regulation", "induces", [["Theme", 1]]],  # trigger and Theme right, Cause missing: the event is wrong
    ["Binding", "binding", [["Theme2", "p50"], ["Theme", "IL-2"]]],  # right (argument order does not matter)
    ["Negative_regulation", "blocks", [["Theme", 3]]],  # spurious
]


def test_event_items_by_hand() -> None:
    items = event_items(PREDICTED)
    assert items["trigger"] == {("expression", "Gene_expression"), ("induces", "Positive_regulation"),
                                ("binding", "Binding"), ("blocks", "Negative_regulation")}
    assert ("induces", "Positive_regulation", "Theme", "event", "Gene_expression", "expression") in items["argument"]
    assert ("blocks", "Negative_regulation", "Theme", "event", "Binding", "binding") in items["argument"]
    assert len(items["argument"]) == 5 and len(items["event"]) == 4
    assert event_items(None) == event_items([]) == {unit: set() for unit in UNITS}
    assert {item[0] for item in event_items(PREDICTED, {"Binding"})["event"]} == {"Binding"}


def test_event_scores_by_hand() -> None:
    # doc 1: triggers 3 right + 1 spurious; arguments 4 right, 1 spurious, 1 missed (Cause); events E1, E3 right,
    # E2 (no Cause) and the spurious E4 wrong, gold E2 missed. doc 2: nothing in gold, no answer. doc 3: no answer.
    third = [["Gene_expression", "expression", [["Theme", "IL-4"]]]]
    values = event_scores([(GOLD, PREDICTED, None), ([], None, None), (third, None, None)])
    assert (values["tp_trigger"], values["fp_trigger"], values["fn_trigger"]) == (3, 1, 1)
    assert (values["tp_argument"], values["fp_argument"], values["fn_argument"]) == (4, 1, 2)
    assert (values["tp_event"], values["fp_event"], values["fn_event"]) == (2, 2, 2)
    assert values["precision_event"] == values["recall_event"] == values["f1_event"] == pytest.approx(0.5)
    assert values["f1_trigger"] == pytest.approx(0.75) and values["f1_argument"] == pytest.approx(8 / 11)


def test_modifications_by_hand() -> None:
    """BioNLP task 3: a modification is right with its type and a strictly right event; event_mod (CHIP-CDEE as
    PromptCBLUE scores it): an event is right only with exactly its modifications."""
    gold = [[*GOLD[0], ["Negation"]], GOLD[1], [*GOLD[2], ["Negation", "Speculation"]]]
    predicted = [
        [*PREDICTED[0], ["Negation"]],  # right, with its negation
        [*PREDICTED[1], ["Negation"]],  # a negation of a wrong event (Cause missing): wrong, and the event is wrong
        [*PREDICTED[2], ["Speculation"]],  # right event, one of its two modifications
    ]
    values = event_scores([(gold, predicted, None)])
    # modifications: gold (Neg, E1), (Neg, E3), (Spec, E3); predicted (Neg, E1), (Neg, E2 without Cause), (Spec, E3)
    assert (values["tp_modification"], values["fp_modification"], values["fn_modification"]) == (2, 1, 1)
    # events with their modifications: only E1; E3 lacks its negation, E2 lacks its Cause
    assert (values["tp_event_mod"], values["fp_event_mod"], values["fn_event_mod"]) == (1, 2, 2)
    assert (values["tp_event"], values["fp_event"], values["fn_event"]) == (2, 1, 1)  # modifications play no part
    assert values["f1_event_mod"] == pytest.approx(1 / 3) and values["f1_modification"] == pytest.approx(2 / 3)
    # an event that holds no modification in either answer: event_mod equals event, no modification item
    plain = event_scores([(GOLD, PREDICTED, None)])
    assert [plain[f"{v}_event_mod"] for v in ("tp", "fp", "fn")] == [plain[f"{v}_event"] for v in ("tp", "fp", "fn")]
    assert plain["tp_modification"] + plain["fp_modification"] + plain["fn_modification"] == 0


def test_a_wrong_nested_event_makes_the_event_containing_it_wrong() -> None:
    """BioNLP ST strict matching: the regulation of IL-4 expression is not the regulation of IL-2 expression, although
    its trigger and its (role, nested event type and trigger) argument item are right."""
    wrong_inner = [["Gene_expression", "expression", [["Theme", "IL-4"]]], GOLD[1]]
    values = event_scores([(GOLD[:2], wrong_inner, None)])
    assert (values["tp_event"], values["fp_event"], values["fn_event"]) == (0, 2, 2)
    assert (values["tp_trigger"], values["tp_argument"]) == (2, 2)  # the triggers; Cause and the nested Theme item


def test_decomposed_examples_count_the_asked_type_only() -> None:
    values = event_scores([(GOLD[:2], GOLD[:2], {"Positive_regulation"})])
    assert (values["tp_event"], values["fp_event"], values["fn_event"], values["tp_trigger"]) == (1, 0, 0, 1)


def test_perfect_events_score_one_and_cycles_are_refused() -> None:
    negated = [*GOLD[:2], [*GOLD[2], ["Negation"]]]
    values = event_scores([(negated, negated, None), ([], [], None)])
    assert all(values[f"f1_{unit}"] == 1.0 for unit in UNITS)
    assert event_scores([(GOLD, GOLD, None)])["f1_modification"] == 0.0  # nothing to find: undefined, reported as 0
    with pytest.raises(ValueError):
        signatures([["Binding", "a", [["Theme", 2]]], ["Binding", "b", [["Theme", 1]]]])


# ------------------------------------------------------------------------------------------ Text2DT
def node(role: str, triples: list[str], relation: str = "null") -> dict:
    return {"role": role, "triples": [t.split(",") for t in triples], "logical_rel": relation}


# C1 (a r b and a r c) -> yes D2 (a drug x); no C3 (a r d) -> yes D4 (a drug y or a drug z); no D5 (nothing)
TREE = [
    node("C", ["a,r,b", "a,r,c"], "and"), node("D", ["a,drug,x"]), node("C", ["a,r,d"]),
    node("D", ["a,drug,y", "a,drug,z"], "or"), node("D", []),
]
# the same root and yes branch; a decision (a drug y) where the gold tree asks C3
SHORT = [node("C", ["a,r,b", "a,r,c"], "and"), node("D", ["a,drug,x"]), node("D", ["a,drug,y"])]


def test_edit_distance_by_hand() -> None:
    gold, short = DecisionNode.from_nodes(TREE), DecisionNode.from_nodes(SHORT)
    # (D3, C3): role 1 + triples {a drug y} vs {a r d} 2 = 3; C3's unmatched subtrees: D4 2 + 2 triples, D5 2
    assert edit_distance(short, gold) == 3 + 4 + 2 == edit_distance(gold, short)
    assert edit_distance(None, gold) == 4 + 3 + 3 + 4 + 2  # every gold node: 2 + its triples
    assert edit_distance(gold, gold) == 0


def test_tree_scores_by_hand() -> None:
    shouting = [{**n, "triples": [[f" {x.upper()} " for x in t] for t in n["triples"]]} for n in TREE]  # same tree
    values = tree_scores([(TREE, SHORT), (TREE, shouting), (TREE, None)])
    assert values["tree_accuracy"] == pytest.approx(1 / 3)
    assert values["tree_edit_distance"] == pytest.approx((9 + 0 + 16) / 3)
    # triples: 4 of 6 | 6 of 6 | 0 of 6
    assert (values["tp_tree_triple"], values["fp_tree_triple"], values["fn_tree_triple"]) == (10, 0, 8)
    # nodes with triples: C1, D2 of C1, D2, C3, D4 (+ D3 spurious) | all 4 | none
    assert (values["tp_tree_node"], values["fp_tree_node"], values["fn_tree_node"]) == (6, 1, 6)
    # paths: C1-yes-D2 of 3 (+ C1-no-D3 spurious) | all 3 | none
    assert (values["tp_tree_path"], values["fp_tree_path"], values["fn_tree_path"]) == (4, 1, 5)
    assert values["precision_tree_path"] == pytest.approx(0.8) and values["recall_tree_path"] == pytest.approx(4 / 9)


def test_relations_count_and_repeated_nodes_score_one() -> None:
    """A node's logical relation is part of it; a tree repeating a node (6 of Text2DT's 500 do) scores 1.0 against
    itself (nodes and paths are matched one to one)."""
    other_relation = [{**TREE[0], "logical_rel": "or"}, *TREE[1:]]
    values = tree_scores([(TREE, other_relation)])
    assert values["tree_accuracy"] == 0 and values["tree_edit_distance"] == 1 and values["f1_tree_triple"] == 1.0
    repeated = [node("C", ["a,r,b"]), node("D", ["x,y,z"]), node("D", ["x,y,z"])]
    values = tree_scores([(repeated, repeated)])
    assert values["f1_tree_node"] == values["f1_tree_path"] == values["tree_accuracy"] == 1.0
    assert (values["tp_tree_node"], values["fp_tree_node"]) == (3, 0)
