"""Text2DT reader and the typed decision tree: exact round trip (inline trees and every tree of the real corpus),
each malformed tree rejected with its place and reason, validate() checking a decision_tree target."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from biohub.converters.base import Rejection
from biohub.converters.formats.text2dt import Text2dtOptions, Text2dtReader
from biohub.schema import DECISION_TREE, DecisionNode, T2TRecord, from_row, to_row, validate
from tests.converters.conftest import json_text, read_items, write_text

TEXT = "高血压患者@血压控制不佳者加用氨氯地平，否则维持原方案。"
P = "高血压患者"
TREE: list[dict[str, Any]] = [
    {"role": "C", "triples": [[P, "临床表现", "血压控制不佳"]], "logical_rel": "null"},
    {"role": "D", "triples": [[P, "治疗药物", "氨氯地平"]], "logical_rel": "null"},
    {"role": "C", "triples": [[P, "临床表现", "头晕"], [P, "临床表现", "乏力"]], "logical_rel": "or"},
    {"role": "D", "triples": [[P, "治疗方案", "复查"], ["复查", "用法用量", "每周"]], "logical_rel": "and"},
    {"role": "D", "triples": [], "logical_rel": "null"},
]


def read(tmp_path: Path, rows: list) -> list:
    return read_items(Text2dtReader(Text2dtOptions()), write_text(tmp_path, "train.json", json_text(rows)), "train", "zh")


def test_tree_structure_and_exact_round_trip() -> None:
    tree = DecisionNode.from_nodes(TREE)
    assert (tree.role, tree.yes and tree.yes.role, tree.no and tree.no.role) == ("C", "D", "C")
    assert tree.no is not None and tree.no.yes is not None and tree.no.yes.triples[1] == ("复查", "用法用量", "每周")
    assert tree.no.no is not None and tree.no.no.triples == ()
    assert tree.to_nodes() == TREE
    assert DecisionNode.parse(tree.to_text()) == tree


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([], "non-empty list"),
        (TREE[:2], "node 0: condition without its two branches"),
        (TREE + [TREE[1]], "form 2 trees"),
        ([{**TREE[1], "role": "X"}], "node 0: role 'X'"),
        ([{**TREE[1], "logical_rel": "xor"}], "logical_rel 'xor'"),
        ([{**TREE[0], "triples": []}, TREE[1], TREE[1]], "non-empty for a condition"),
        ([{**TREE[1], "triples": [[P, "治疗药物"]]}], "is not [head, relation, tail]"),
        ([{**TREE[1], "extra": 1}], "exactly role, triples and logical_rel"),
    ],
)
def test_malformed_trees_are_value_errors(nodes: list, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        DecisionNode.from_nodes(nodes)


def test_records_are_t2t_with_the_serialised_tree(tmp_path: Path) -> None:
    (record,) = read(tmp_path, [{"text": TEXT, "tree": TREE}])
    assert isinstance(record, T2TRecord) and record.id == "toy.train.0"
    assert (record.text_1, record.text_1_name, record.text_2_name) == (TEXT, "text", DECISION_TREE)
    assert DecisionNode.parse(record.text_2).to_nodes() == TREE
    assert json.loads(record.meta)["topic"] == "高血压患者"
    assert validate(record) == [] and from_row("t2t", to_row(record)) == record


def test_validate_checks_a_decision_tree_target(tmp_path: Path) -> None:
    (record,) = read(tmp_path, [{"text": TEXT, "tree": TREE}])
    record.text_2 = json.dumps(TREE[:2], ensure_ascii=False)
    assert validate(record) == ["text_2 is not a decision tree: node 0: condition without its two branches"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"text": TEXT}, "bad decision tree"),
        ({"text": TEXT, "tree": TREE[:3]}, "bad decision tree"),
        ({"tree": TREE}, "missing field"),
    ],
)
def test_bad_records_are_rejected_with_their_place(tmp_path: Path, row: dict, reason: str) -> None:
    (rejection,) = read(tmp_path, [row])
    assert isinstance(rejection, Rejection) and (rejection.reason, rejection.locator) == (reason, "record 0")
    assert rejection.detail.startswith("train.json record 0")


@pytest.mark.real_corpora
@pytest.mark.parametrize(
    ("split", "nodes", "triples"), [("train", 1398, 1945), ("dev", 472, 685), ("test", 498, 609)]
)
def test_every_tree_of_the_corpus_round_trips(mirror: Path, split: str, nodes: int, triples: int) -> None:
    """Each source tree -> typed tree -> text -> typed tree -> node list equals the source; counts as SOURCE.md."""
    data = json.loads((mirror / "text2dt" / f"Text2DT_{split}.json").read_text(encoding="utf-8"))
    seen: Counter[str] = Counter()
    for row in data:
        tree = DecisionNode.from_nodes(row["tree"])
        assert DecisionNode.parse(tree.to_text()) == tree
        assert tree.to_nodes() == row["tree"]
        seen["nodes"] += len(tree.preorder())
        seen["triples"] += sum(len(node.triples) for node in tree.preorder())
    assert (seen["nodes"], seen["triples"]) == (nodes, triples)
