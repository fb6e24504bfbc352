"""The named metric variants of NER and RE rows (biohub.eval.variants): each by hand on a small NER and a small RE
set, through the scorers; ``promptcblue`` against an independent re-implementation of PromptCBLUE's documented
parsing and scoring on answers in its own format; the report's "Metric variants" table; the classification values."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from biohub.eval import metrics
from biohub.eval.metrics_ranking import selection_scores
from biohub.eval.report import html_report, markdown, table
from biohub.eval.score import Judged, compute, judge
from biohub.eval.suite import Entry, load_suite
from biohub.eval.variants import VARIANTS, Example, example_values, normalise, strict_source, variant_values
from biohub.templates.answers import AnswerSpec, render
from biohub.templates.example import spec_meta
from biohub.templates.library import families, punctuation
from biohub.templates.registry import METRIC_VARIANTS, METRICS, SCORERS

COUNTED = ("strict_typed_micro", "promptcblue", "untyped")  # sample_avg is a mean of per-example values: no counts
VARIANT_NAMES = {f"{key}_{name}" for name in METRIC_VARIANTS for key in ("precision", "recall", "f1")} | {
    f"{key}_{name}" for name in COUNTED for key in ("tp", "fp", "fn")
}


def judged(
    task: str, labels: Sequence[str], examples: Sequence[tuple[Any, Any]], kbs: Sequence[Any] | None = None
) -> list[Judged]:
    """Judged examples of ``task``: (gold value, parsed value; None: did not parse), optional ``meta.gold_kb``."""
    return [
        Judged(f"x{i}", f"s{i}", task, "en", "out" if parsed is not None else "???", parsed, {"value": gold},
               parsed is not None, "" if parsed is not None else "unparsed", tuple(labels), None if kbs is None else kbs[i])
        for i, (gold, parsed) in enumerate(examples)
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------ NER by hand
NER = [
    # gold, parsed
    ({"Disease": ["heart failure"], "Symptom": ["fever"]}, {"Disease": ["Heart  failure", "fever"], "Symptom": []}),
    ({"Disease": [], "Symptom": ["cough"]}, {"Disease": [], "Symptom": ["cough", "rash"]}),
    ({"Disease": [], "Symptom": []}, {"Disease": [], "Symptom": []}),  # a right "none"
    ({"Disease": ["asthma"], "Symptom": []}, None),  # did not parse
]
# gold occurrences (meta.gold_kb entities: type, text, count, concept ids): fever twice, cough three times
NER_KB = [
    {"entities": [["Disease", "heart failure", 1, []], ["Symptom", "fever", 2, []]]},
    {"entities": [["Symptom", "cough", 3, []]]},
    {"entities": []},
    {"entities": [["Disease", "asthma", 1, []]]},
]


def ner_examples() -> list[Example]:
    return [(metrics.ner_items(g), None if p is None else metrics.ner_items(p)) for g, p in NER]


def test_ner_variants_by_hand() -> None:
    strict = {"precision": 0.5, "recall": 0.25, "f1": 0.3, "tp": 1, "fp": 1, "fn": 3}  # whatever the headline says
    values = variant_values("ner", ner_examples(), strict)
    assert set(values) == VARIANT_NAMES <= METRICS
    assert {key: values[f"{key}_strict_typed_micro"] for key in strict} == strict  # copied, not recomputed
    # promptcblue, (text, type) exact after trimming:
    #   ex1 gold {heart failure/D, fever/S}, predicted {Heart  failure/D, fever/D}: TP 0, FP 2, FN 2
    #   ex2 gold {cough/S}, predicted {cough/S, rash/S}: TP 1, FP 1; ex3 nothing; ex4 unparsed: FN 1
    #   TP 1, FP 3, FN 3: P = R = F1 = 1/4
    assert (values["tp_promptcblue"], values["fp_promptcblue"], values["fn_promptcblue"]) == (1, 3, 3)
    assert values["precision_promptcblue"] == values["recall_promptcblue"] == values["f1_promptcblue"] == pytest.approx(1 / 4)
    # untyped, case-folded and whitespace-collapsed mentions: ex1 {heart failure, fever} both sides: TP 2;
    #   ex2 TP 1, FP 1 (rash); ex4 FN 1 (asthma): TP 3, FP 1, FN 1: P = R = F1 = 3/4
    assert (values["tp_untyped"], values["fp_untyped"], values["fn_untyped"]) == (3, 1, 1)
    assert values["f1_untyped"] == values["precision_untyped"] == pytest.approx(3 / 4)
    # sample_avg: ex1 P 0 R 0 F1 0; ex2 P 1/2 R 1 F1 2/3; ex3 both empty: 1 1 1; ex4 unparsed: 0 0 0
    #   P = (0 + 1/2 + 1 + 0) / 4 = 3/8, R = (0 + 1 + 1 + 0) / 4 = 1/2, F1 = (0 + 2/3 + 1 + 0) / 4 = 5/12
    assert values["precision_sample_avg"] == pytest.approx(3 / 8)
    assert values["recall_sample_avg"] == pytest.approx(1 / 2)
    assert values["f1_sample_avg"] == pytest.approx(5 / 12)


def test_ner_scorer_computes_every_variant_and_strict_typed_micro_is_the_headline() -> None:
    labels = ("Disease", "Symptom")
    without_kb = compute(Entry("toy", "toy", "test", ("ner",), "f1_text_set"), judged("ner", labels, NER))
    assert VARIANT_NAMES <= set(without_kb)
    assert (
        without_kb["f1_strict_typed_micro"] == without_kb["f1_text_set"] == without_kb["f1_promptcblue"] == pytest.approx(1 / 4)
    )
    assert without_kb["f1_untyped"] == pytest.approx(3 / 4) and without_kb["f1_sample_avg"] == pytest.approx(5 / 12)
    with_kb = compute(Entry("toy", "toy", "test", ("ner",), "f1_mention"), judged("ner", labels, NER, NER_KB))
    # mentions: ex1 predicted nothing gold (FP 2), misses 1 + 2 occurrences (FN 3); ex2 cough counts 3 times, rash FP 1;
    #   ex4 FN 1: TP 3, FP 3, FN 4 -> P 1/2, R 3/7, F1 = 2 * 1/2 * 3/7 / (1/2 + 3/7) = 6/13
    assert with_kb["f1_mention"] == pytest.approx(6 / 13)
    for key in ("precision", "recall", "f1", "tp", "fp", "fn"):
        assert with_kb[f"{key}_strict_typed_micro"] == with_kb[f"{key}_mention"]
    assert with_kb["f1_promptcblue"] == pytest.approx(1 / 4)  # distinct tuples, not occurrences


def test_ner_single_scorer_gives_the_joint_values() -> None:
    """Decomposed NER (one type per example) counts the same items as the joint examples it comes from."""
    single = [
        (["heart failure"], ["Heart  failure", "fever"], "Disease"),
        (["fever"], [], "Symptom"),
        ([], [], "Disease"),
        (["cough"], ["cough", "rash"], "Symptom"),
        (["asthma"], None, "Disease"),
    ]
    rows = [judged("ner_single", (label,), [(g, p)])[0] for g, p, label in single]
    values = compute(Entry("toy", "toy", "test", ("ner_single",), "f1_text_set"), rows)
    # the NER set regrouped by type: typed tuples TP 1, FP 3, FN 3 as in the joint examples (promptcblue);
    # untyped, per example: ex1 {heart failure} vs {heart failure, fever}: TP 1, FP 1; ex2 FN 1 (fever, asked in
    #   another example than the predicted one); ex4 TP 1, FP 1; ex5 FN 1: TP 2, FP 2, FN 2
    assert (values["tp_promptcblue"], values["fp_promptcblue"], values["fn_promptcblue"]) == (1, 3, 3)
    assert (values["tp_untyped"], values["fp_untyped"], values["fn_untyped"]) == (2, 2, 2)
    # sample_avg over the 5 examples, typed: ex1 0 (no exact hit), ex2 0, ex3 both empty 1, ex4 F1 2/3, ex5 unparsed 0
    #   -> F1 = (1 + 2/3) / 5 = 1/3
    assert values["f1_sample_avg"] == pytest.approx(1 / 3)


def test_untyped_folds_case_and_whitespace() -> None:
    assert normalise("  Heart\u3000 FAILURE\n") == "heart failure" and normalise("Straße") == "strasse"
    example: Example = ({("Type 2  diabetes", "Disease")}, {("type 2 DIABETES", "Symptom")})
    assert example_values("untyped", "ner", [example]) == [(1.0, 0.0, 0.0)]  # one mention, whatever its type
    assert example_values("promptcblue", "ner", [example]) == [(0.0, 1.0, 1.0)]  # typed, exact
    relation: Example = ({("Aspirin", "treats", "pain")}, {(" aspirin", "causes", "PAIN"), ("pain", "treats", "aspirin")})
    assert example_values("untyped", "re", [relation]) == [(1.0, 1.0, 0.0)]  # (head, tail) in order, relation dropped


def test_sample_avg_empty_examples() -> None:
    none: Example = (set(), set())
    assert example_values("sample_avg", "ner", [none, (set(), None)]) == [(1.0, 1.0, 1.0), (0.0, 0.0, 0.0)]
    # gold empty, something predicted: P 0, R 0 (undefined), F1 0; gold present, nothing predicted: 0 0 0
    assert example_values("sample_avg", "ner", [(set(), {("a", "T")}), ({("a", "T")}, set())]) == [(0.0, 0.0, 0.0)] * 2
    assert example_values("promptcblue", "ner", [none, ({("a", "T")}, {("a", "T"), ("b", "T")})]) == [(0, 0, 0), (1, 1, 0)]
    with pytest.raises(ValueError, match="headline"):
        example_values("strict_typed_micro", "ner", [none])


# ------------------------------------------------------------------------------------------ RE by hand
RE = [
    # gold, parsed: [relation, head, tail]
    (
        [["treats", "aspirin", "headache"], ["causes", "aspirin", "ulcer"]],
        [["treats", "Aspirin", "headache"], ["prevents", "aspirin", "ulcer"]],
    ),
    ([["binds", "x", "y"]], [["binds", "x", "y"], ["binds", "y", "x"]]),
    ([], None),  # did not parse
]


def test_re_variants_by_hand_and_through_the_scorer() -> None:
    values = compute(
        Entry("toy", "toy", "test", ("re",), "f1_text_set"), judged("re", ("treats", "causes", "prevents", "binds"), RE)
    )
    assert VARIANT_NAMES <= set(values)
    # promptcblue, (subject, predicate, object) exact: ex1 TP 0, FP 2, FN 2 (Aspirin's case, another relation);
    #   ex2 TP 1, FP 1 (y, x); ex3 nothing: TP 1, FP 3, FN 2 -> P 1/4, R 1/3, F1 = 2 * 1/12 / (7/12) = 2/7
    assert (values["tp_promptcblue"], values["fp_promptcblue"], values["fn_promptcblue"]) == (1, 3, 2)
    assert values["f1_promptcblue"] == pytest.approx(2 / 7) == values["f1_text_set"] == values["f1_strict_typed_micro"]
    # untyped (head, tail), case-folded, order kept: ex1 {(aspirin, headache), (aspirin, ulcer)} both sides: TP 2;
    #   ex2 TP 1, FP 1 ((y, x) is another pair): TP 3, FP 1, FN 0 -> P 3/4, R 1, F1 = 6/7
    assert (values["tp_untyped"], values["fp_untyped"], values["fn_untyped"]) == (3, 1, 0)
    assert values["f1_untyped"] == pytest.approx(6 / 7)
    # sample_avg: ex1 0 0 0; ex2 P 1/2 R 1 F1 2/3; ex3 unparsed (gold empty, but no "none" credit): 0 0 0
    #   P = 1/6, R = 1/3, F1 = 2/9
    assert values["precision_sample_avg"] == pytest.approx(1 / 6) and values["recall_sample_avg"] == pytest.approx(1 / 3)
    assert values["f1_sample_avg"] == pytest.approx(2 / 9)
    # had ex3 answered "none": 1 1 1 -> F1 = (2/3 + 1) / 3 = 5/9
    answered = compute(Entry("toy", "toy", "test", ("re",), "f1_text_set"), judged("re", ("binds",), [*RE[:2], ([], [])]))
    assert answered["f1_sample_avg"] == pytest.approx(5 / 9) and answered["f1_promptcblue"] == values["f1_promptcblue"]


def test_strict_source_follows_the_headline() -> None:
    ner = {"f1_mention": 0.5, "f1_text_set": 0.4}
    assert strict_source("ner", "f1_mention", ner) == "mention" and strict_source("ner", "f1_text_set", ner) == "text_set"
    assert strict_source("ner", "f1_promptcblue", ner) == "mention" and strict_source("ner", "seqeval_f1", ner) == "mention"
    assert strict_source("ner", "f1_mention", {"f1_text_set": 0.4}) == "text_set"  # no gold occurrences
    re = {"f1_text_set": 0.4, "f1_concept_pair": 0.6}
    assert strict_source("re", "f1_concept_pair", re) == "concept_pair" and strict_source("re", "f1_untyped", re) == "text_set"


def test_registry_vocabulary_families_and_suites(tmp_path: Path) -> None:
    assert VARIANTS.names() == METRIC_VARIANTS
    for family in ("ner", "ner_single", "re"):
        assert VARIANT_NAMES <= set(families()[family].eval.metrics), family
    suite = tmp_path / "variants.yaml"
    suite.write_text(
        "name: variants\nentries:\n"
        "  - {name: CMeEE, group: NER, dataset: cmeee, split: validation, tasks: [ner], headline: f1_promptcblue}\n"
        "  - {name: CMeIE, group: RE, dataset: cmeie, split: validation, tasks: [re], headline: f1_sample_avg}\n",
        encoding="utf-8",
    )
    assert [e.headline for e in load_suite(str(suite)).entries] == ["f1_promptcblue", "f1_sample_avg"]


# ------------------------------------------------------------------------------------------ PromptCBLUE
# Answers in PromptCBLUE's documented formats (its post-generation parsing): CMeEE-V2 one line per type,
# "<type>实体：<mention>，<mention>"; CMeIE one line per relation,
# "具有<relation>关系的头尾实体对如下：头实体为<X>，尾实体为<Y>。..."
CMEEE_TYPES = {"dis": "疾病", "sym": "临床表现", "dru": "药物"}
CMEEE = [  # (gold answer, predicted answer)
    ("上述句子中的实体包含：\n疾病实体：糖尿病，高血压\n临床表现实体：头痛",
     "上述句子中的实体包含：\n疾病实体：糖尿病， 高血压 \n临床表现实体：头痛，头晕"),
    ("上述句子中的实体包含：\n药物实体：阿司匹林", "上述句子中的实体包含：\n疾病实体：阿司匹林"),
    ("上述句子中的实体包含：\n临床表现实体：发热，咳嗽", "上述句子中的实体包含：\n临床表现实体：发热，，咳嗽，发热"),
    ("上述句子中没有实体", "上述句子中的实体包含：\n药物实体：青霉素"),
    ("上述句子中的实体包含：\n疾病实体：肺炎", "上述句子中没有实体"),
]  # fmt: skip
CMEIE_RELATIONS = ["药物治疗", "临床表现", "病因"]
CMEIE = [
    ("具有药物治疗关系的头尾实体对如下：头实体为肺炎，尾实体为青霉素。\n具有临床表现关系的头尾实体对如下：头实体为肺炎，尾实体为发热。",
     "具有药物治疗关系的头尾实体对如下：头实体为肺炎，尾实体为 青霉素。头实体为肺炎，尾实体为阿莫西林。"),
    ("具有病因关系的头尾实体对如下：头实体为胃溃疡，尾实体为幽门螺杆菌。",
     "具有临床表现关系的头尾实体对如下：头实体为胃溃疡，尾实体为幽门螺杆菌。"),
    ("具有临床表现关系的头尾实体对如下：头实体为感冒，尾实体为鼻塞。",
     "具有临床表现关系的头尾实体对如下：头实体为感冒，尾实体为鼻塞。"),
    ("没有指定类型的三元组", "具有病因关系的头尾实体对如下：头实体为高血压，尾实体为肥胖。"),
]  # fmt: skip


def promptcblue_entities(text: str, types: Sequence[str]) -> list[dict[str, str]]:
    """CMeEE-V2 instances read as PromptCBLUE documents them: lines starting "<type>实体", the rest after "<type>实体："
    split on "，", blanks trimmed, empty mentions dropped."""
    found = []
    for name in types:
        for line in text.split("\n"):
            if line.startswith(f"{name}实体"):
                rest = line.replace(f"{name}实体：", "")
                found += [{"entity": part.strip(), "type": name} for part in rest.split("，") if part.strip()]
    return found


def promptcblue_triples(text: str) -> list[dict[str, str]]:
    """CMeIE instances as documented: the predicate between "具有" and "关系的头尾实体对", then per "。"-separated piece
    "头实体为<X>，尾实体为<Y>", both trimmed."""
    found = []
    for line in text.split("\n"):
        predicate = line.split("关系的头尾实体对")[0][2:].strip()
        body = line.replace(f"具有{predicate}关系的头尾实体对如下：", "")
        for piece in body.split("。"):
            parts = piece.split("，尾实体为")
            if len(parts) >= 2:
                found.append(
                    {"predicate": predicate, "subject": parts[0].replace("头实体为", "").strip(), "object": parts[1].strip()}
                )
    return found


def promptcblue_f1(golds: list[list[dict[str, str]]], predictions: list[list[dict[str, str]]]) -> tuple[float, float, float]:
    """PromptCBLUE's documented information-extraction score: per sample, each instance is the tuple of its field
    values in sorted field-name order (JSON-encoded), sets compared; TP/FP/FN summed; all zero without a TP."""

    def instances(sample: list[dict[str, str]]) -> set[tuple[str, ...]]:
        return {tuple(json.dumps(instance[key], ensure_ascii=False) for key in sorted(instance)) for instance in sample}

    tp = fp = fn = 0
    for gold, predicted in zip(golds, predictions):
        g, p = instances(gold), instances(predicted)
        tp, fp, fn = tp + len(g & p), fp + len(p - g), fn + len(g - p)
    if not tp:
        return 0.0, 0.0, 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return precision, recall, 2 * precision * recall / (precision + recall)


def biohub_row(task: str, spec: AnswerSpec, index: int, gold: Any) -> dict[str, Any]:
    """An eval example row holding ``gold`` and the parser of ``spec`` (lines format, Chinese)."""
    meta = {"answer": spec_meta(spec, "lines", "zh")}
    where = {"id": f"{task}{index}", "source_id": f"s{index}", "task": task, "language": "zh"}
    return where | {"gold": json.dumps({"value": gold}), "meta": json.dumps(meta)}


def test_promptcblue_variant_equals_promptcblue_scoring_on_cmeee() -> None:
    names = list(CMEEE_TYPES.values())
    codes = {name: code for code, name in CMEEE_TYPES.items()}
    spec = AnswerSpec("spans_by_type", punctuation()["zh"], tuple(CMEEE_TYPES), dict(CMEEE_TYPES))

    def value(instances: list[dict[str, str]]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {code: [] for code in CMEEE_TYPES}
        for instance in instances:
            found[codes[instance["type"]]].append(instance["entity"])
        return found

    golds = [promptcblue_entities(gold, names) for gold, _ in CMEEE]
    predictions = [promptcblue_entities(predicted, names) for _, predicted in CMEEE]
    expected = promptcblue_f1(golds, predictions)
    rows = [biohub_row("ner", spec, i, value(gold)) for i, gold in enumerate(golds)]
    outputs = [render(spec, value(predicted)) for predicted in predictions]  # the same answers in biohub's format
    answers = [judge(r, o) for r, o in zip(rows, outputs)]
    assert all(answer.parse_ok for answer in answers)
    values = compute(Entry("CMeEE-V2", "cmeee", "validation", ("ner",), "f1_text_set"), answers)
    assert (values["precision_promptcblue"], values["recall_promptcblue"], values["f1_promptcblue"]) == pytest.approx(expected)
    # by hand: TP 糖尿病, 高血压, 头痛, 发热, 咳嗽 = 5; FP 头晕, 阿司匹林/疾病, 青霉素 = 3; FN 阿司匹林/药物, 肺炎 = 2
    assert expected == pytest.approx((5 / 8, 5 / 7, 2 * 5 / (2 * 5 + 3 + 2)))


def test_promptcblue_variant_equals_promptcblue_scoring_on_cmeie() -> None:
    spec = AnswerSpec("triples", punctuation()["zh"], tuple(CMEIE_RELATIONS), {r: r for r in CMEIE_RELATIONS})

    def value(instances: list[dict[str, str]]) -> list[list[str]]:
        return [[i["predicate"], i["subject"], i["object"]] for i in instances]

    golds = [promptcblue_triples(gold) for gold, _ in CMEIE]
    predictions = [promptcblue_triples(predicted) for _, predicted in CMEIE]
    expected = promptcblue_f1(golds, predictions)
    rows = [biohub_row("re", spec, i, value(gold)) for i, gold in enumerate(golds)]
    outputs = [render(spec, value(predicted)) for predicted in predictions]
    answers = [judge(r, o) for r, o in zip(rows, outputs)]
    assert all(answer.parse_ok for answer in answers)
    values = compute(Entry("CMeIE", "cmeie", "validation", ("re",), "f1_text_set"), answers)
    assert (values["precision_promptcblue"], values["recall_promptcblue"], values["f1_promptcblue"]) == pytest.approx(expected)
    # by hand: TP (肺炎, 药物治疗, 青霉素), (感冒, 临床表现, 鼻塞) = 2; FP 阿莫西林, the 临床表现 of 胃溃疡, 肥胖 = 3;
    #   FN (肺炎, 临床表现, 发热), the 病因 of 胃溃疡 = 2
    assert expected == pytest.approx((2 / 5, 2 / 4, 2 * 2 / (2 * 2 + 3 + 2)))


# ------------------------------------------------------------------------------------------ report
def results(folder: Path, f1: float) -> Path:
    folder.mkdir()
    ner = {"f1_mention": f1, **{f"f1_{name}": f1 / 2 for name in METRIC_VARIANTS}}
    counts = {"n": 4, "missing": 0, "parse_failures": 0}
    entries = [
        {"name": "NCBI", "group": "NER", "headline": "f1_mention", "value": f1, **counts, "metrics": ner},
        {
            "name": "HoC",
            "group": "TC",
            "headline": "micro_f1",
            "value": 0.5,
            **counts,
            "metrics": {"micro_f1": 0.5, "macro_f1": 0.4},
        },
    ]
    (folder / "results.json").write_text(json.dumps({"entries": entries}), encoding="utf-8")
    return folder


def test_report_has_a_metric_variant_table_after_the_main_one(tmp_path: Path) -> None:
    data = table([results(tmp_path / "base", 0.8), results(tmp_path / "tuned", 0.6)])
    report = markdown(data, "t")
    main, variants = report.split("## Metric variants")
    assert "| task | dataset | metric | lenient base |" in main and "| Δ tuned |" in main  # the main table as before
    header = "| dataset | run | headline | value | f1_strict_typed_micro | f1_promptcblue | f1_untyped | f1_sample_avg |"
    assert header in variants
    assert "| NCBI | base | f1_mention | 80.0 | 40.0 | 40.0 | 40.0 | 40.0 |" in variants
    assert "| NCBI | tuned | f1_mention | 60.0 | 30.0 | 30.0 | 30.0 | 30.0 |" in variants
    assert "HoC" not in variants  # classification rows have no variants
    assert all(f"{name}: {VARIANTS.get(name).formula}" in variants for name in METRIC_VARIANTS)  # the caption
    page = html_report(data, "t", "report.png")
    assert "<h2>Metric variants</h2>" in page and "<td>f1_mention</td><td>80.0</td><td>40.0</td>" in page
    only_tc = tmp_path / "tc"
    only_tc.mkdir()
    (only_tc / "results.json").write_text(
        json.dumps({"entries": json.loads((tmp_path / "base" / "results.json").read_text())["entries"][1:]})
    )
    assert "Metric variants" not in markdown(table([only_tc]), "t")


# ------------------------------------------------------------------------------------------ classification
def test_every_classification_scorer_reports_accuracy_micro_and_macro_f1() -> None:
    entry = Entry("toy", "toy", "test", ("classification",), "accuracy")
    rows = {
        "label": judged("classification", ("a", "b"), [("a", "a"), ("b", "a"), ("a", None)]),
        "binary_relation": judged("re_binary", ("0", "1"), [("1", "1"), ("0", "1")]),
        "labels": judged("multilabel_classification", ("a", "b"), [(["a"], ["a"]), (["a", "b"], None)]),
        "answer_selection": judged("answer_selection", ("1", "2", "3"), [([2], [2, 1]), ([1], None)]),
    }
    for scorer, examples in rows.items():
        assert {"accuracy", "micro_f1", "macro_f1"} <= set(SCORERS.get(scorer)(entry, examples, None)), scorer
    for family in families().values():
        if family.eval.scorer in rows:
            assert {"accuracy", "micro_f1", "macro_f1"} <= set(family.eval.metrics), family.name


def test_multilabel_accuracy_and_answer_selection_micro_f1_by_hand() -> None:
    values = metrics.multilabel_scores([["a", "b"], ["c"], []], [["a", "b", "zz"], None, []], ["a", "b", "c"])
    # accuracy over known labels: ex1 {a, b} = {a, b} (zz unknown), ex2 unparsed: wrong, ex3 {} = {}: 2/3;
    # exact_match compares the sets as given: ex1 has zz, ex2 {c} vs {}: 1/3
    assert values["accuracy"] == pytest.approx(2 / 3) and values["exact_match"] == pytest.approx(1 / 3)
    # candidates (gold / predicted): q1 0101 / 1001, q2 100 / 111, q3 00 / 00: labels 0 and 1 together TP 5, FP 4, FN 4
    questions = [(4, [2, 4], [4, 1]), (3, [1], [2, 3, 1]), (2, [], [])]
    assert selection_scores(questions)["micro_f1"] == pytest.approx(5 / 9)
    # an unparsed question of 3 candidates (gold 001): 3 more FN, no FP: 2 * 5 / (2 * 5 + 4 + 7) = 10/21
    assert selection_scores([*questions, (3, [3], None)])["micro_f1"] == pytest.approx(10 / 21)
