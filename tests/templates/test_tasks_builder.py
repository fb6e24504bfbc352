"""Task instances of each record schema, and the examples the builder makes from them.

Records are tiny invented ones built here; ``DatasetInfo`` is built directly (no info.json, no corpora). The
dataset name ``toy`` has no label file, so display names are the label codes themselves.
"""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Any

import pytest

from biohub.schema import (
    DECISION_TREE,
    DialogueRecord,
    Entity,
    Event,
    EventArgument,
    InstructionRecord,
    KBRecord,
    PairsRecord,
    Passage,
    QARecord,
    Relation,
    T2TRecord,
    TextRecord,
    Trigger,
    Turn,
    validate,
)
from biohub.templates.answers import canonical, parse, render
from biohub.templates.builder import build_example, format_for
from biohub.templates.example import Instance, Message
from biohub.templates.instruct import InstructOptions, build_split
from biohub.templates.library import families
from biohub.templates.tasks import DatasetInfo, instances, mention_text
from biohub.text import seeded_choice
from tests.templates import norm_records

COMMON = {"dataset": "toy", "split": "train"}


def info(schema: str, tasks: tuple[str, ...], **labels: Any) -> DatasetInfo:
    return DatasetInfo(
        name="toy",
        schema=schema,
        tasks=tasks,
        entity_types=labels.get("entity_types", ()),
        relation_types=labels.get("relation_types", ()),
        classes=labels.get("classes", ()),
        multi_label=labels.get("multi_label", False),
        event_types=labels.get("event_types", ()),
    )


KB_INFO = info("kb", ("ner", "re"), entity_types=("Chemical", "Disease"), relation_types=("CID", "treats"))


def kb_record(
    record_id: str,
    texts: list[str],
    mentions: list[tuple[str, list[str]]],
    relations: list[tuple[str, int, int]] = (),
    **common: Any,
) -> KBRecord:
    """Passages joined by one space; ``mentions``: (type, pieces), each piece found left to right after the
    previous piece of the same mention; ``relations``: (type, index of arg1, index of arg2)."""
    passages, start = [], 0
    for index, text in enumerate(texts):
        passages.append(Passage(f"{record_id}.p{index}", "sentence", [text], [(start, start + len(text))]))
        start += len(text) + 1
    doc = " ".join(texts)
    entities = []
    for index, (entity_type, pieces) in enumerate(mentions):
        offsets, cursor = [], 0
        for piece in pieces:
            found = doc.index(piece, cursor)
            offsets.append((found, found + len(piece)))
            cursor = found + len(piece)
        entities.append(Entity(f"{record_id}.e{index}", entity_type, list(pieces), offsets))
    rels = [Relation(f"{record_id}.r{i}", t, f"{record_id}.e{a}", f"{record_id}.e{b}") for i, (t, a, b) in enumerate(relations)]
    record = KBRecord(
        id=record_id,
        document_id=record_id,
        passages=passages,
        entities=entities,
        relations=rels,
        **{"language": "en", **COMMON, **common},
    )
    assert validate(record) == [], validate(record)
    return record


def by_family(found: list[Instance]) -> dict[str, Instance]:
    return {f"{i.family}{i.suffix}": i for i in found}


# ------------------------------------------------------------------------------------------ kb
def _kb_example() -> KBRecord:
    return kb_record(
        "doc1",
        ["Aspirin relieves fever.", "Breast and ovarian cancer were not linked to aspirin or to fever."],
        [
            ("Chemical", ["Aspirin"]),
            ("Disease", ["fever"]),
            ("Disease", ["Breast", "cancer"]),  # discontinuous: "Breast ... cancer"
            ("Disease", ["ovarian cancer"]),
            ("Chemical", ["aspirin"]),
            ("Disease", ["fever"]),  # a second mention with the same text
        ],
        [("treats", 0, 1), ("CID", 4, 3)],
    )


def test_kb_record_gives_ner_and_re() -> None:
    record = _kb_example()
    found = by_family(instances(record, KB_INFO))
    assert sorted(found) == ["ner", "re"]
    ner, re_ = found["ner"], found["re"]
    text = "Aspirin relieves fever. Breast and ovarian cancer were not linked to aspirin or to fever."
    assert ner.fields == {"text": text, "types": "Chemical, Disease"}
    assert ner.spec.kind == "spans_by_type" and ner.spec.labels == ("Chemical", "Disease")
    assert ner.target == {"Chemical": ["Aspirin", "aspirin"], "Disease": ["fever", "Breast cancer", "ovarian cancer", "fever"]}
    assert canonical(ner.spec, ner.target) == {
        "Chemical": ["Aspirin", "aspirin"],
        "Disease": ["fever", "Breast cancer", "ovarian cancer"],
    }
    assert re_.fields == {"text": text, "relations": "CID, treats"}
    assert re_.spec.kind == "triples" and re_.spec.labels == ("CID", "treats")
    assert re_.target == [["treats", "Aspirin", "fever"], ["CID", "aspirin", "ovarian cancer"]]
    assert canonical(re_.spec, re_.target) == [["CID", "aspirin", "ovarian cancer"], ["treats", "Aspirin", "fever"]]


def test_discontinuous_mention_is_its_pieces_joined_by_a_space() -> None:
    assert mention_text(["Breast", "cancer"]) == "Breast cancer"
    assert mention_text(["ovarian cancer"]) == "ovarian cancer"


def test_kb_tasks_follow_the_dataset_info() -> None:
    record = _kb_example()
    assert [i.family for i in instances(record, info("kb", ("ner",), entity_types=("Chemical", "Disease")))] == ["ner"]
    assert [i.family for i in instances(record, info("kb", ("re",), relation_types=("CID",)))] == ["re"]
    assert instances(record, info("kb", ("ner", "re"))) == []  # no declared/observed labels: nothing to ask


def test_kb_types_of_a_chinese_record_are_joined_with_a_chinese_comma() -> None:
    record = kb_record("zh1", ["患者服用阿司匹林后发热缓解。"], [("drug", ["阿司匹林"]), ("sym", ["发热"])], language="zh")
    (ner,) = instances(record, info("kb", ("ner",), entity_types=("drug", "sym")))
    assert ner.fields["types"] == "drug、sym"
    assert ner.target == {"drug": ["阿司匹林"], "sym": ["发热"]}


def test_decompose_adds_one_ner_single_per_entity_type() -> None:
    record = _kb_example()
    kb_info = info("kb", ("ner", "re"), entity_types=("Chemical", "Disease", "Gene"), relation_types=("CID",))
    plain = instances(record, kb_info)
    found = instances(record, kb_info, decompose=True)
    assert [f"{i.family}{i.suffix}" for i in found] == [
        "ner",
        "ner_single.Chemical",
        "ner_single.Disease",
        "ner_single.Gene",
        "re",
    ]
    assert len(found) == len(plain) + len(kb_info.entity_types)
    singles = by_family(found)
    assert singles["ner_single.Disease"].fields == {"text": singles["ner"].fields["text"], "type": "Disease"}
    assert singles["ner_single.Disease"].spec.kind == "spans" and singles["ner_single.Disease"].spec.labels == ("Disease",)
    assert singles["ner_single.Chemical"].target == ["Aspirin", "aspirin"]
    assert singles["ner_single.Gene"].target == []  # a declared type with no mention: the empty answer


# ------------------------------------------------------------------------------------------ text, pairs
def test_single_label_text() -> None:
    record = TextRecord(id="t1", document_id="t1", language="en", text="Great drug.", labels=["pos"], **COMMON)
    (found,) = instances(record, info("text", ("classification",), classes=("pos", "neg")))
    assert (found.family, found.target) == ("classification", "pos")
    assert found.fields == {"text": "Great drug.", "labels": "pos, neg"}
    assert found.spec.kind == "label" and found.spec.labels == ("pos", "neg")


def test_multi_label_text() -> None:
    record = TextRecord(id="t2", document_id="t2", language="en", text="x", labels=["c", "a"], **COMMON)
    (found,) = instances(record, info("text", ("multilabel_classification",), classes=("a", "b", "c"), multi_label=True))
    assert found.family == "multilabel_classification" and found.spec.kind == "labels"
    assert found.target == ["c", "a"] and canonical(found.spec, found.target) == ["a", "c"]
    assert found.fields == {"text": "x", "labels": "a, b, c"}


def test_relation_classification_text_is_a_yes_no_relation_question() -> None:
    record = TextRecord(id="t3", document_id="t3", language="en", text="@GENE$ causes @DISEASE$.", labels=["1"], **COMMON)
    (found,) = instances(record, info("text", ("relation_classification",), classes=("0", "1")))
    assert found.family == "re_binary" and found.target == "1"
    assert found.fields == {"text": "@GENE$ causes @DISEASE$.", "labels": "0, 1"}


def test_pair_with_a_label() -> None:
    record = PairsRecord(
        id="p1", document_id="p1", language="zh", text_1="头痛怎么办", text_2="头疼如何处理", label="1", **COMMON
    )
    (found,) = instances(record, info("pairs", ("pair_classification",), classes=("0", "1")))
    assert (found.family, found.target) == ("pair_classification", "1")
    assert found.fields == {"text_1": "头痛怎么办", "text_2": "头疼如何处理", "labels": "0、1"}


def test_pair_with_a_score() -> None:
    record = PairsRecord(id="p2", document_id="p2", language="en", text_1="A.", text_2="B.", score=3.4, **COMMON)
    (found,) = instances(record, info("pairs", ("sts",)))
    assert (found.family, found.target) == ("sts", 3.4)
    assert found.fields == {"text_1": "A.", "text_2": "B."}
    assert found.spec.kind == "score"


# ------------------------------------------------------------------------------------------ qa
QA_INFO = info("qa", ("qa",))


def qa(record_id: str, qa_type: str, **fields: Any) -> QARecord:
    record = QARecord(
        id=record_id, document_id=record_id, language=fields.pop("language", "en"), type=qa_type, **COMMON, **fields
    )
    assert validate(record) == [], validate(record)
    return record


def test_multiple_choice_targets_letters() -> None:
    record = qa("q1", "multiple_choice", question="Which colour?", choices=["red", "green", "blue", "grey"], answer=["blue"])
    (found,) = instances(record, QA_INFO)
    assert found.family == "qa_multiple_choice" and found.target == ["C"]
    assert found.spec.kind == "choices" and found.spec.labels == ("A", "B", "C", "D")
    assert found.fields == {"question": "Which colour?", "options": "A. red\nB. green\nC. blue\nD. grey"}
    assert found.choices == ["red", "green", "blue", "grey"]
    several = qa("q1b", "multiple_choice", question="Which?", choices=["x", "y", "z"], answer=["z", "x"])
    assert instances(several, QA_INFO)[0].target == ["C", "A"]


def test_yesno() -> None:
    record = qa("q2", "yesno", question="Does it work?", context="It worked.", choices=["yes", "no", "maybe"], answer=["no"])
    (found,) = instances(record, QA_INFO)
    assert (found.family, found.target) == ("qa_yesno", "no")
    assert found.fields == {"question": "Does it work?", "context": "It worked.", "options": "yes, no, maybe"}
    assert found.spec.kind == "label" and found.spec.labels == ("yes", "no", "maybe")


def test_factoid_with_exact_answer_synonyms() -> None:
    meta = json.dumps({"exact_answer": [["TP53", "p53", "tumour protein 53"]]})
    record = qa("q3", "factoid", question="Which gene?", context="ctx", answer=["TP53 is the gene."], meta=meta)
    (found,) = instances(record, QA_INFO)
    assert found.family == "qa_factoid" and found.target == ["TP53"]
    assert found.gold_extra == {"synonyms": [["TP53", "p53", "tumour protein 53"]]}
    assert found.fields == {"question": "Which gene?", "context": "ctx"}
    assert found.spec.kind == "spans"


def test_factoid_keeps_only_the_first_answer_entity() -> None:
    meta = json.dumps({"exact_answer": [["a", "a1"], ["b"]]})
    (found,) = instances(qa("q3b", "factoid", question="?", answer=["x"], meta=meta), QA_INFO)
    assert found.target == ["a"] and found.gold_extra == {"synonyms": [["a", "a1"], ["b"]]}


def test_list_with_exact_answer_synonyms() -> None:
    meta = json.dumps({"exact_answer": [["BRCA1", "breast cancer 1"], ["BRCA2"]]})
    record = qa("q4", "list", question="Which genes?", answer=["ideal answer text"], meta=meta)
    (found,) = instances(record, QA_INFO)
    assert found.family == "qa_list" and found.target == ["BRCA1", "BRCA2"]
    assert found.gold_extra == {"synonyms": [["BRCA1", "breast cancer 1"], ["BRCA2"]]}
    assert found.fields == {"question": "Which genes?", "context": ""}


def test_factoid_and_list_without_exact_answer_use_the_answers() -> None:
    (factoid,) = instances(qa("q5", "factoid", question="?", answer=["one", "two"]), QA_INFO)
    (listed,) = instances(qa("q6", "list", question="?", answer=["one", "two"]), QA_INFO)
    assert (factoid.target, factoid.gold_extra) == (["one"], {})
    assert (listed.target, listed.gold_extra) == (["one", "two"], {})


@pytest.mark.parametrize("qa_type", ["summary", "open"])
def test_summary_and_open_with_and_without_context(qa_type: str) -> None:
    (with_context,) = instances(qa("q7", qa_type, question="Why?", context="Because.", answer=["It is so."]), QA_INFO)
    assert (with_context.family, with_context.target) == ("qa_open_context", "It is so.")
    assert with_context.fields == {"question": "Why?", "context": "Because."}
    assert with_context.spec.kind == "text"
    (without,) = instances(qa("q8", qa_type, question="Why?", context="  ", answer=["It is so."]), QA_INFO)
    assert (without.family, without.target) == ("qa_open", "It is so.")
    assert without.fields == {"question": "Why?"}


# ------------------------------------------------------------------------------------------ pass-through
def _dialogue(record_id: str = "d1", turns: list[tuple[str, str]] | None = None) -> DialogueRecord:
    turns = turns or [
        ("user", "I have a headache."),
        ("assistant", "Since when?"),
        ("user", "Two days."),
        ("assistant", "Rest and drink water."),
    ]
    return DialogueRecord(id=record_id, document_id=record_id, language="en", turns=[Turn(r, c) for r, c in turns], **COMMON)


def test_dialogue_conversation_is_the_turns_before_the_last() -> None:
    (found,) = instances(_dialogue(), info("dialogue", ("dialogue",)))
    assert found.family == "dialogue" and found.fields == {}
    assert found.target == "Rest and drink water."
    assert found.conversation == [
        Message("user", "I have a headache."),
        Message("assistant", "Since when?"),
        Message("user", "Two days."),
    ]


def test_instruction_input_is_appended() -> None:
    record = InstructionRecord(
        id="i1", document_id="i1", language="en", instruction="Summarise.", input="Long text.", output="Short.", **COMMON
    )
    (found,) = instances(record, info("instruction", ("instruction",)))
    assert found.family == "instruction" and found.fields == {} and found.target == "Short."
    assert found.conversation == [Message("user", "Summarise.\n\nLong text.")]
    bare = InstructionRecord(id="i2", document_id="i2", language="en", instruction="Say hi.", input=" \n", output="Hi.", **COMMON)
    assert instances(bare, info("instruction", ("instruction",)))[0].conversation == [Message("user", "Say hi.")]


# ------------------------------------------------------------------------------------------ unlabelled
UNLABELED = [
    (
        KBRecord(
            id="u1",
            document_id="u1",
            language="en",
            labeled=False,
            passages=[Passage("u1.p0", "s", ["Text."], [(0, 5)])],
            **COMMON,
        ),
        KB_INFO,
    ),
    (
        TextRecord(id="u2", document_id="u2", language="en", labeled=False, text="Text.", **COMMON),
        info("text", ("classification",), classes=("a", "b")),
    ),
    (
        PairsRecord(id="u3", document_id="u3", language="en", labeled=False, text_1="A", text_2="B", **COMMON),
        info("pairs", ("sts",)),
    ),
    (QARecord(id="u4", document_id="u4", language="en", labeled=False, question="?", type="open", **COMMON), QA_INFO),
    (
        DialogueRecord(id="u5", document_id="u5", language="en", labeled=False, turns=[Turn("user", "Hi")], **COMMON),
        info("dialogue", ("dialogue",)),
    ),
    (
        InstructionRecord(id="u6", document_id="u6", language="en", labeled=False, instruction="Do.", **COMMON),
        info("instruction", ("instruction",)),
    ),
]


@pytest.mark.parametrize(("record", "dataset_info"), UNLABELED, ids=lambda x: getattr(x, "schema", ""))
def test_unlabeled_records_give_nothing(record: Any, dataset_info: DatasetInfo) -> None:
    assert validate(record) == []
    assert instances(record, dataset_info) == []
    assert instances(record, dataset_info, decompose=True) == []


def test_t2t_records_give_nothing() -> None:
    record = T2TRecord(id="tt", document_id="tt", language="en", text_1="a", text_2="b", **COMMON)
    assert instances(record, info("t2t", ())) == []


# ------------------------------------------------------------------------------------------ build_example
def _text_records(count: int, language: str = "en") -> list[TextRecord]:
    return [
        TextRecord(
            id=f"txt{index:03d}",
            document_id=f"txt{index:03d}",
            language=language,
            text=f"Sentence number {index}.",
            labels=["pos" if index % 2 else "neg"],
            **COMMON,
        )
        for index in range(count)
    ]


TEXT_INFO = info("text", ("classification",), classes=("pos", "neg"))


def _build(
    record: Any, dataset_info: DatasetInfo, seed: int = 0, formats: tuple[str, ...] = ("lines",), decompose: bool = False
) -> list:
    return [build_example(record, i, seed=seed, formats=formats) for i in instances(record, dataset_info, decompose=decompose)]


def test_template_choice_depends_only_on_seed_and_example_id() -> None:
    records = _text_records(50)
    options = InstructOptions(seed=7, formats=("lines", "json"), max_length=0)
    forward, _, _ = build_split(records, TEXT_INFO, options, None)
    shuffled = list(records)
    random.Random(3).shuffle(shuffled)
    backward, _, _ = build_split(shuffled, TEXT_INFO, options, None)
    assert [e.id for e in backward] != [e.id for e in forward]
    assert {e.id: (e.template_id, e.meta, e.messages) for e in forward} == {
        e.id: (e.template_id, e.meta, e.messages) for e in backward
    }
    # the same record built alone gets the same template
    alone = _build(records[10], TEXT_INFO, seed=7, formats=("lines", "json"))[0]
    assert alone.template_id == next(e for e in forward if e.id == alone.id).template_id
    # and the choice is the hash of (seed, example id)
    options_en = families()["classification"].templates["en"]
    for example in forward:
        assert example.template_id == options_en[seeded_choice(len(options_en), 7, example.id)].id


def test_different_seeds_choose_differently_for_some_examples() -> None:
    records = _text_records(50)
    by_seed = {seed: [_build(r, TEXT_INFO, seed=seed)[0].template_id for r in records] for seed in (0, 1)}
    differing = sum(a != b for a, b in zip(by_seed[0], by_seed[1]))
    assert differing > 0
    assert len(set(by_seed[0])) > 1  # not one template for everything
    assert all(tid.startswith("classification.en.") for tid in by_seed[0] + by_seed[1])


def test_choose_is_in_range_and_deterministic() -> None:
    picks = [seeded_choice(10, 3, f"key{index}") for index in range(200)]
    assert all(0 <= pick < 10 for pick in picks) and len(set(picks)) == 10
    assert picks == [seeded_choice(10, 3, f"key{index}") for index in range(200)]


def test_template_id_and_version_are_recorded() -> None:
    record = _kb_example()
    for example in _build(record, KB_INFO, seed=5, decompose=True):
        family = families()[example.task]
        assert example.template_id in {t.id for t in family.templates["en"]}
        assert json.loads(example.meta)["template_version"] == family.version
        assert (example.dataset, example.split, example.language, example.source_id) == ("toy", "train", "en", "doc1")
    ids = [e.id for e in _build(record, KB_INFO, decompose=True)]
    assert ids == ["doc1:ner", "doc1:ner_single.Chemical", "doc1:ner_single.Disease", "doc1:re"]


def test_user_prompt_is_the_filled_template_then_the_format_hint() -> None:
    record = _kb_example()
    for answer_format in ("lines", "json"):
        (example, _) = _build(record, KB_INFO, seed=2, formats=(answer_format,))
        template = next(t for t in families()["ner"].templates["en"] if t.id == example.template_id)
        ner = instances(record, KB_INFO)[0]
        prompt = example.messages[0].content
        assert prompt.startswith(template.fill(**ner.fields) + "\n\n")
        hint_start = families()["ner"].hints[answer_format]["en"].split("{")[0]
        assert hint_start in prompt


def _layout_line(example: Any, family: str, answer_format: str, language: str) -> str:
    """The layout example at the end of an example's prompt: what follows the family's format hint text."""
    hint = families()[family].hints[answer_format][language]
    return example.messages[0].content.rsplit(hint.split("{example}")[0], 1)[1]


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("answer_format", ["lines", "json"])
@pytest.mark.parametrize(
    ("schema", "task", "classes", "multi"),
    [
        ("text", "classification", ("pos", "neg"), False),
        ("text", "multilabel_classification", ("a", "b", "c"), True),
        ("pairs", "pair_classification", ("entailment", "contradiction"), False),
    ],
)
def test_format_hint_layout_names_no_real_label(
    schema: str, task: str, classes: tuple[str, ...], multi: bool, answer_format: str, language: str
) -> None:
    """The layout line shows placeholders: a model that copies it (as untuned base models do) answers no label."""
    if schema == "text":
        record: Any = TextRecord(id="r", document_id="r", language=language, text="x", labels=[classes[0]], **COMMON)
    else:
        record = PairsRecord(id="r", document_id="r", language=language, text_1="x", text_2="y", label=classes[0], **COMMON)
    (instance,) = instances(record, info(schema, (task,), classes=classes, multi_label=multi))
    example = build_example(record, instance, seed=0, formats=(answer_format,))
    layout = _layout_line(example, instance.family, answer_format, language)
    parsed = parse(instance.spec, layout, answer_format, strict=False)
    assert not (parsed.ok and parsed.value), f"the layout {layout!r} parses to the label(s) {parsed.value!r}"


@pytest.mark.parametrize("answer_format", ["lines", "json"])
@pytest.mark.parametrize("relation_types", [("CID", "treats"), ("CID",)])
def test_relation_layout_names_a_real_relation_only_when_there_is_one(
    answer_format: str, relation_types: tuple[str, ...]
) -> None:
    """Several relations: placeholder relations (copying the layout must not pick a real one); one: its name."""
    dataset_info = dataclasses.replace(KB_INFO, relation_types=relation_types)
    re_instance = next(i for i in instances(_kb_example(), dataset_info) if i.family == "re")
    example = build_example(_kb_example(), re_instance, seed=0, formats=(answer_format,))
    layout = _layout_line(example, "re", answer_format, "en")
    named = {relation for relation in ("CID", "treats") if relation in layout}
    assert named == (set() if len(relation_types) > 1 else {"CID"}), layout
    if len(relation_types) > 1:
        parsed = parse(re_instance.spec, layout, answer_format, strict=False)
        assert not (parsed.ok and any(triple[0] in relation_types for triple in parsed.value or [])), parsed


def test_message_roles() -> None:
    kb = _build(_kb_example(), KB_INFO)
    text = _build(_text_records(1)[0], TEXT_INFO)
    for example in kb + text:
        assert [m.role for m in example.messages] == ["user", "assistant"]
    (dialogue,) = _build(_dialogue(), info("dialogue", ("dialogue",)))
    assert [m.role for m in dialogue.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert dialogue.messages[0].content in {t.text for t in families()["dialogue"].templates["en"]}
    assert dialogue.messages[0].content == next(
        t.text for t in families()["dialogue"].templates["en"] if t.id == dialogue.template_id
    )
    assert dialogue.target == "Rest and drink water."
    record = InstructionRecord(
        id="i1", document_id="i1", language="zh", instruction="总结。", input="一段文字。", output="摘要。", **COMMON
    )
    (instruction,) = _build(record, info("instruction", ("instruction",)))
    assert [m.role for m in instruction.messages] == ["system", "user", "assistant"]
    assert instruction.messages[0].content in {t.text for t in families()["instruction"].templates["zh"]}
    assert instruction.messages[1].content == "总结。\n\n一段文字。" and instruction.target == "摘要。"
    assert {name for name, family in families().items() if family.instruct.pass_through} == {"dialogue", "instruction"}


def test_dialogue_with_its_own_system_turn_has_one_system_message_first() -> None:
    record = _dialogue("d2", [("system", "You are a paediatrician."), ("user", "My child coughs."), ("assistant", "Since when?")])
    (example,) = _build(record, info("dialogue", ("dialogue",)))
    roles = [m.role for m in example.messages]
    assert roles[0] == "system" and roles.count("system") == 1, roles


@pytest.mark.parametrize("qa_type", ["summary", "open"])
def test_text_answers_are_plain_lines_even_when_only_json_is_allowed(qa_type: str) -> None:
    record = qa("q9", qa_type, question="Why?", context="Because.", answer=['It is {"so"}: yes; no.'])
    (example,) = _build(record, QA_INFO, formats=("json",))
    assert example.target == 'It is {"so"}: yes; no.'
    assert json.loads(example.meta)["answer"]["format"] == "lines"
    (dialogue,) = _build(_dialogue(), info("dialogue", ("dialogue",)), formats=("json",))
    assert dialogue.target == "Rest and drink water." and json.loads(dialogue.meta)["answer"]["format"] == "lines"
    # a structured answer does follow the json-only setting
    (ner, _) = _build(_kb_example(), KB_INFO, formats=("json",))
    assert json.loads(ner.meta)["answer"]["format"] == "json"
    assert json.loads(ner.target) == {"Chemical": ["Aspirin", "aspirin"], "Disease": ["fever", "Breast cancer", "ovarian cancer"]}


def test_format_choice_with_several_formats_is_seeded_and_uses_both() -> None:
    records = _text_records(60)
    chosen = [json.loads(_build(r, TEXT_INFO, seed=4, formats=("lines", "json"))[0].meta)["answer"]["format"] for r in records]
    assert set(chosen) == {"lines", "json"}
    again = [json.loads(_build(r, TEXT_INFO, seed=4, formats=("lines", "json"))[0].meta)["answer"]["format"] for r in records]
    assert chosen == again
    instance = instances(records[0], TEXT_INFO)[0]
    assert format_for(instance, "x", 0, ("json",)) == "json"


def test_gold_is_the_canonical_structure() -> None:
    record = _kb_example()
    (ner, re_) = _build(record, KB_INFO, formats=("json",))
    assert json.loads(ner.gold) == {
        "value": {"Chemical": ["Aspirin", "aspirin"], "Disease": ["fever", "Breast cancer", "ovarian cancer"]}
    }
    assert json.loads(re_.gold) == {"value": [["CID", "aspirin", "ovarian cancer"], ["treats", "Aspirin", "fever"]]}
    multi = TextRecord(id="m", document_id="m", language="en", text="x", labels=["c", "a", "c"], **COMMON)
    (example,) = _build(multi, info("text", ("multilabel_classification",), classes=("a", "b", "c"), multi_label=True))
    assert json.loads(example.gold) == {"value": ["a", "c"]}
    meta = json.dumps({"exact_answer": [["TP53", "p53"]]})
    (factoid,) = _build(qa("q", "factoid", question="?", answer=["TP53"], meta=meta), QA_INFO)
    assert json.loads(factoid.gold) == {"value": ["TP53"], "synonyms": [["TP53", "p53"]]}
    (score,) = _build(
        PairsRecord(id="s", document_id="s", language="en", text_1="a", text_2="b", score=3, **COMMON), info("pairs", ("sts",))
    )
    assert json.loads(score.gold) == {"value": 3.0}


def _every_kind_of_record() -> list[tuple[Any, DatasetInfo]]:
    zh_kb = kb_record(
        "zh1", ["患者服用阿司匹林；后发热缓解。"], [("drug", ["阿司匹林"]), ("sym", ["发热"])], [("treats", 0, 1)], language="zh"
    )
    meta = json.dumps({"exact_answer": [["BRCA1", "breast cancer 1"], ["BRCA2"]]})
    return [
        (_kb_example(), KB_INFO),
        (zh_kb, info("kb", ("ner", "re"), entity_types=("drug", "sym"), relation_types=("treats",))),
        (norm_records.abstract(), norm_records.KB_INFO),  # normalisation and coreference
        (norm_records.diagnosis(), norm_records.TERM_INFO),
        (norm_records.consultation(), norm_records.DIALOGUE_INFO),  # dialogue symptoms
        (_text_records(1)[0], TEXT_INFO),
        (
            TextRecord(id="m", document_id="m", language="zh", text="文本", labels=["b", "a"], **COMMON),
            info("text", ("multilabel_classification",), classes=("a", "b"), multi_label=True),
        ),
        (
            TextRecord(id="g", document_id="g", language="en", text="x", labels=["1"], **COMMON),
            info("text", ("relation_classification",), classes=("0", "1")),
        ),
        (
            PairsRecord(id="p", document_id="p", language="zh", text_1="甲", text_2="乙", label="1", **COMMON),
            info("pairs", ("pair_classification",), classes=("0", "1")),
        ),
        (
            PairsRecord(id="s", document_id="s", language="en", text_1="a", text_2="b", score=2.75, **COMMON),
            info("pairs", ("sts",)),
        ),
        (qa("mc", "multiple_choice", question="?", choices=["red", "green", "blue"], answer=["green"]), QA_INFO),
        (qa("yn", "yesno", question="?", context="c", choices=["yes", "no"], answer=["yes"], language="zh"), QA_INFO),
        (qa("fa", "factoid", question="?", answer=["x"], meta=json.dumps({"exact_answer": [["TP53", "p53"]]})), QA_INFO),
        (qa("li", "list", question="?", answer=["x"], meta=meta), QA_INFO),
        (qa("su", "summary", question="?", context="ctx", answer=["A summary;\nwith lines."]), QA_INFO),
        (qa("op", "open", question="?", answer=["Answer: yes"], language="zh"), QA_INFO),
        (_dialogue(), info("dialogue", ("dialogue",))),
        (
            InstructionRecord(id="i", document_id="i", language="en", instruction="Do.", input="in", output="None", **COMMON),
            info("instruction", ("instruction",)),
        ),
        (
            PairsRecord(id="e", document_id="e", language="en", text_1="Q1?", text_2="Q2?", label="true", **COMMON),
            info("pairs", ("entailment",), classes=("true", "false")),
        ),
        (
            PairsRecord(id="as", document_id="as", language="zh", text_1="问？", text_2="答。", label="1", **COMMON),
            info("pairs", ("answer_selection",), classes=("0", "1")),
        ),
        (
            T2TRecord(id="sm", document_id="sm", language="en", text_1="A long question.", text_2="Short?", **COMMON),
            info("t2t", ("summarization",)),
        ),
        (
            T2TRecord(id="mt", document_id="mt", language="en", text_1="fever .", text_2="发热 。", text_1_name="en",
                      text_2_name="zh", **COMMON),
            info("t2t", ("translation",)),
        ),
        (_event_record(), info("kb", ("events",), event_types=("Gene_expression", "Positive_regulation"))),
        (
            T2TRecord(id="t", document_id="t", language="zh", text_1="发热者@发热可用布洛芬。", text_2_name=DECISION_TREE,
                      text_2=json.dumps([{"role": "C", "triples": [["患者", "临床表现", "发热"]], "logical_rel": "null"},
                                         {"role": "D", "triples": [["患者", "治疗药物", "布洛芬"]], "logical_rel": "null"},
                                         {"role": "D", "triples": [], "logical_rel": "null"}], ensure_ascii=False), **COMMON),
            info("t2t", ("text_to_structure",)),
        ),
    ]


def _event_record() -> KBRecord:
    """TRAF2 induces (Positive_regulation) the expression (Gene_expression) of IL-2: a nested event."""
    record = kb_record("ev", ["TRAF2 induces IL-2 expression."], [("Protein", ["TRAF2"]), ("Protein", ["IL-2"])])
    text = record.passages[0].text[0]

    def trigger(word: str) -> Trigger:
        return Trigger([word], [(text.index(word), text.index(word) + len(word))])

    record.events = [
        Event("ev.E1", "Gene_expression", trigger("expression"), [EventArgument("Theme", "ev.e1")]),
        Event(
            "ev.E2", "Positive_regulation", trigger("induces"), [EventArgument("Theme", "ev.E1"), EventArgument("Cause", "ev.e0")]
        ),
    ]
    assert validate(record) == [], validate(record)
    return record


@pytest.mark.parametrize("formats", [("lines",), ("json",)])
def test_meta_rebuilds_a_spec_that_parses_the_target_back_to_gold(formats: tuple[str, ...]) -> None:
    seen = set()
    for record, dataset_info in _every_kind_of_record():
        for example in _build(record, dataset_info, seed=1, formats=formats, decompose=True):
            seen.add(example.task)
            spec, answer_format, choices = example.answer_spec()
            gold = json.loads(example.gold)["value"]
            assert answer_format == (formats[0] if spec.kind != "text" else "lines")
            for strict in (True, False):
                result = parse(spec, example.target, answer_format, strict=strict, choices=choices)
                assert result.ok, (example.id, result.error)
                expected = gold if strict or spec.kind != "text" else gold.strip()
                assert result.value == expected, example.id
            assert example.target == render(spec, gold, answer_format)
    assert seen == set(families())


def test_multiple_choice_meta_keeps_the_option_texts() -> None:
    (example,) = _build(qa("mc", "multiple_choice", question="?", choices=["red", "green", "blue"], answer=["green"]), QA_INFO)
    spec, answer_format, choices = example.answer_spec()
    assert choices == ["red", "green", "blue"] and spec.labels == ("A", "B", "C")
    assert parse(spec, "green", answer_format, choices=choices).value == ["B"]  # lenient: option text -> letter
    assert json.loads(example.gold) == {"value": ["B"]}
    assert "A. red\nB. green\nC. blue" in example.messages[0].content


def test_rows_have_the_example_features() -> None:
    (example,) = _build(_dialogue(), info("dialogue", ("dialogue",)))
    row = example.to_row()
    assert row["messages"][0]["role"] == "system" and row["id"] == "d1:dialogue"
    assert set(row) == {"id", "source_id", "dataset", "split", "task", "language", "template_id", "messages", "gold", "meta"}
