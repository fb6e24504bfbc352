"""The ``tree`` answer kind (Text2DT decision trees): layout, round trip over hostile texts, lenient and strict parsing,
and the decision-tree example of a text-to-structure record."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from biohub.schema import DECISION_TREE, DecisionNode, T2TRecord
from biohub.templates.answers import FORMATS, AnswerSpec, parse, render
from biohub.templates.library import punctuation
from biohub.templates.tasks import DatasetInfo, instances
from tests.templates.test_answers_roundtrip import FAST, MENTION


def spec(language: str = "zh") -> AnswerSpec:
    return AnswerSpec("tree", punctuation()[language])


# fever in a child? -> ibuprofen; else cough? -> (A or B), else nothing
TREE = [
    {"role": "C", "triples": [["患者", "临床表现", "发热"], ["患者", "基本情况", "儿童"]], "logical_rel": "and"},
    {"role": "D", "triples": [["患者", "治疗药物", "布洛芬"]], "logical_rel": "null"},
    {"role": "C", "triples": [["患者", "临床表现", "咳嗽"]], "logical_rel": "null"},
    {"role": "D", "triples": [["患者", "治疗药物", "A"], ["患者", "治疗药物", "B"]], "logical_rel": "or"},
    {"role": "D", "triples": [], "logical_rel": "null"},
]


def test_lines_and_json_layouts() -> None:
    assert render(spec(), TREE) == (
        "条件（且）：[患者，临床表现，发热]；[患者，基本情况，儿童]\n"
        "  是→决策：[患者，治疗药物，布洛芬]\n"
        "  否→条件：[患者，临床表现，咳嗽]\n"
        "    是→决策（或）：[患者，治疗药物，A]；[患者，治疗药物，B]\n"
        "    否→决策：无"
    )
    assert render(spec("en"), TREE[2:]).split("\n") == [
        "condition: [患者, 临床表现, 咳嗽]",
        "  yes → decision (or): [患者, 治疗药物, A]; [患者, 治疗药物, B]",
        "  no → decision: None",
    ]
    assert json.loads(render(spec(), TREE, "json")) == TREE == DecisionNode.parse(render(spec(), TREE, "json")).to_nodes()


TEXT = MENTION.filter(str.strip)  # a tree's texts are never blank (DecisionNode refuses them)


@st.composite
def trees(draw: st.DrawFn) -> list:
    def node(role: str) -> dict:
        triples = [[draw(TEXT) for _ in range(3)] for _ in range(draw(st.integers(1 if role == "C" else 0, 3)))]
        return {"role": role, "triples": triples, "logical_rel": draw(st.sampled_from(("and", "or", "null")))}

    def subtree(depth: int) -> list:
        if depth == 0 or not draw(st.booleans()):
            return [node("D")]
        return [node("C"), *subtree(depth - 1), *subtree(depth - 1)]

    return subtree(3)


@FAST
@given(tree=trees(), language=st.sampled_from(("en", "zh")))
def test_every_tree_round_trips(tree: list, language: str) -> None:
    """Triples drawn from hostile text (separators and brackets of both scripts, keywords, None / 无, line breaks, edge
    blanks): strict and lenient parsing give the tree back, in both formats."""
    for answer_format in FORMATS:
        text = render(spec(language), tree, answer_format)
        for strict in (True, False):
            result = parse(spec(language), text, answer_format, strict=strict)
            assert result.ok and result.value == tree, (answer_format, strict, text, result.error)


def test_lenient_parsing_reads_structure_from_the_preorder() -> None:
    written = (
        "决策树如下：\n"
        "- condition (and): [患者, 临床表现, 发热]; [患者，基本情况，儿童]\n"
        "yes -> 决策: 【患者，治疗药物，布洛芬】\n"  # no indentation, other brackets and keywords of the other language
        "否：C：[患者，临床表现，咳嗽]\n"
        "是→decision（或）：[患者，治疗药物，A]；[患者，治疗药物，B]\n"
        "否→决策：无。"
    )
    result = parse(spec(), written)
    assert result.ok and result.value == TREE, result.error
    assert parse(spec(), json.dumps([{"role": "条件", "triples": TREE[0]["triples"]}, *TREE[1:]]), "json").value == [
        {**TREE[0], "logical_rel": "null"}, *TREE[1:],
    ]
    unfinished = parse(spec(), "条件：[患者，临床表现，发热]\n  是→决策：[患者，治疗药物，布洛芬]")
    assert not unfinished.ok and "two branches" in unfinished.error
    assert not parse(spec(), "我不知道。").ok


def test_strict_parsing_wants_the_rendered_layout() -> None:
    exact = render(spec(), TREE)
    for bad in (
        exact.replace("  是→", "是→"),  # indentation
        exact.replace("否→", "是→"),  # branch word
        exact.replace("；[患者，基本情况", "; [患者，基本情况"),  # separator of the other script
        exact.replace("（且）", "(且)"),  # half-width brackets
    ):
        assert parse(spec(), bad).ok and not parse(spec(), bad, strict=True).ok, bad


def test_text2dt_record_makes_one_decision_tree_example() -> None:
    text = "发热患儿@发热的儿童可用布洛芬。"
    record = T2TRecord(id="t1", document_id="t1", dataset="toy", split="train", language="zh",
                       text_1=text, text_2=DecisionNode.from_nodes(TREE).to_text(), text_2_name=DECISION_TREE)
    (made,) = instances(record, DatasetInfo("toy", "t2t", ("text_to_structure",), (), (), (), False))
    assert (made.family, made.fields, made.target) == ("decision_tree", {"text": text}, TREE)
    assert instances(record, DatasetInfo("toy", "t2t", (), (), (), (), False)) == []  # not a text_to_structure dataset
