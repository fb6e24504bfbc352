"""Noisy model outputs: what the lenient parser makes of them (written by hand), and whether strict accepts them.

Each row is one answer text as a model might write it. ``lenient`` is the expected value of the lenient parse
(``FAIL``: ok=False with a non-empty error, never an exception); ``strict`` is ``SAME`` when the text is exactly
the renderer's layout (strict gives the same value) and ``REJECT`` when the layout differs.
"""

from __future__ import annotations

import pytest

from biohub.templates.answers import AnswerSpec, parse, render
from biohub.templates.library import punctuation

FAIL = object()
SAME, REJECT = "same", "reject"
EN, ZH = punctuation()["en"], punctuation()["zh"]

SPECS = {
    "ner.en": AnswerSpec(
        "spans_by_type", EN, labels=("Disease", "Chemical"), display={"Disease": "Disease", "Chemical": "Chemical"}
    ),
    "ner.zh": AnswerSpec("spans_by_type", ZH, labels=("Disease", "Chemical"), display={"Disease": "疾病", "Chemical": "药物"}),
    "spans.en": AnswerSpec("spans", EN, labels=("Chemical",), display={"Chemical": "Chemical"}),
    "spans.zh": AnswerSpec("spans", ZH, labels=("Chemical",), display={"Chemical": "药物"}),
    "spans.en.answer": AnswerSpec("spans", EN, labels=("Chemical",), display={"Chemical": "Chemical"}, prefix=EN.answer),
    "re.en": AnswerSpec("triples", EN, labels=("treats", "causes"), display={"treats": "treats", "causes": "causes"}),
    "re.zh": AnswerSpec("triples", ZH, labels=("treats", "causes"), display={"treats": "治疗", "causes": "导致"}),
    "yn.en": AnswerSpec("label", EN, labels=("yes", "no"), display={"yes": "Yes", "no": "No"}, prefix=EN.answer),
    "yn.zh": AnswerSpec("label", ZH, labels=("yes", "no"), display={"yes": "是", "no": "否"}, prefix=ZH.answer),
    "cls.en": AnswerSpec(
        "label", EN, labels=("positive", "negative", "neutral"),
        display={"positive": "Positive", "negative": "Negative", "neutral": "Neutral"}, prefix=EN.result,
    ),
    "cls.zh": AnswerSpec(
        "label", ZH, labels=("positive", "negative", "neutral"),
        display={"positive": "阳性", "negative": "阴性", "neutral": "中性"}, prefix=ZH.result,
    ),
    "multi.en": AnswerSpec(
        "labels", EN, labels=("cardio", "neuro", "onco"),
        display={"cardio": "Cardiology", "neuro": "Neurology", "onco": "Oncology"}, prefix=EN.result,
    ),
    "multi.zh": AnswerSpec(
        "labels", ZH, labels=("cardio", "neuro", "onco"), display={"cardio": "心内科", "neuro": "神经科", "onco": "肿瘤科"},
        prefix=ZH.result,
    ),
    "nested.en": AnswerSpec(
        "label", EN, labels=("disease", "stage"), display={"disease": "disease", "stage": "non-neoplasm disease stage"},
        prefix=EN.result,
    ),
    "nested.zh": AnswerSpec(
        "label", ZH, labels=("disease", "stage"), display={"disease": "疾病", "stage": "疾病分期"}, prefix=ZH.result
    ),
    "mc.en": AnswerSpec("choices", EN, labels=("A", "B", "C", "D"), prefix=EN.answer),
    "mc.zh": AnswerSpec("choices", ZH, labels=("A", "B", "C", "D"), prefix=ZH.answer),
    "mc5.en": AnswerSpec("choices", EN, labels=("A", "B", "C", "D", "E"), prefix=EN.answer),
    "score.en": AnswerSpec("score", EN, prefix=EN.score),
    "score.zh": AnswerSpec("score", ZH, prefix=ZH.score),
    "text.en": AnswerSpec("text", EN),
}
DRUGS = ["Ibuprofen", "Aspirin", "Paracetamol", "Vitamin C"]
VIT_FIRST = ["Vitamin C", "Aspirin", "Ibuprofen", "Insulin"]
HYPERTENSION = ["Beta blockers", "Diuretics", "Calcium channel blockers", "Nitrates", "ACE-inhibitors"]


def row(spec, text, lenient, strict=REJECT, *, choices=None, fmt="lines", id):
    return pytest.param(spec, text, lenient, strict, choices, fmt, id=id)


def ner(disease, chemical):
    return {"Disease": disease, "Chemical": chemical}


CASES = [
    # ---------------------------------------------------------------- NER, English
    row("ner.en", "Disease: asthma; diabetes\nChemical: None", ner(["asthma", "diabetes"], []), SAME, id="ner-en-exact"),
    row("ner.en", "Disease： asthma； diabetes\nChemical： None", ner(["asthma", "diabetes"], []), id="ner-en-fullwidth"),
    row("ner.en", "Disease:asthma;diabetes\nChemical:None", ner(["asthma", "diabetes"], []), id="ner-en-no-gaps"),
    row("ner.en", "\n  Disease :  asthma ;   diabetes  \n\n\nChemical:   aspirin  \n\n", ner(["asthma", "diabetes"], ["aspirin"]),
        id="ner-en-spaces-blank-lines"),
    row("ner.en", "- Disease: asthma\n- Chemical: aspirin", ner(["asthma"], ["aspirin"]), id="ner-en-dash-bullets"),
    row("ner.en", "* Disease: asthma\n• Chemical: none", ner(["asthma"], []), id="ner-en-star-dot-bullets"),
    row("ner.en", "1. Disease: asthma\n2) Chemical: aspirin", ner(["asthma"], ["aspirin"]), id="ner-en-numbering"),
    row("ner.en", "DISEASE: Asthma\nchemical: None", ner(["Asthma"], []), id="ner-en-type-case"),
    row(
        "ner.en", "Disease: asthma; asthma; diabetes; asthma\nChemical: None", ner(["asthma", "diabetes"], []),
        id="ner-en-duplicates",
    ),
    row("ner.en", "Chemical: aspirin\nDisease: None", ner([], ["aspirin"]), id="ner-en-types-swapped"),
    row("ner.en", "Disease: asthma\nChemical: N/A\n\nExplanation: asthma is a chronic airway disease.", ner(["asthma"], []),
        id="ner-en-trailing-explanation"),
    row("ner.en", "Sure! Here are the entities.\nDisease: asthma\nChemical: None", ner(["asthma"], []), id="ner-en-preamble"),
    row("ner.en", "Disease: None.\nChemical: Nothing", ner([], []), id="ner-en-none-variants"),
    row("ner.en", "None", ner([], []), id="ner-en-bare-none"),
    row("ner.en", "Chemical: aspirin", ner([], ["aspirin"]), id="ner-en-missing-type"),
    row("ner.en", "I could not find anything relevant in this passage.", FAIL, id="ner-en-unparseable"),
    # ---------------------------------------------------------------- NER, Chinese
    row("ner.zh", "疾病：哮喘；糖尿病\n药物：无", ner(["哮喘", "糖尿病"], []), SAME, id="ner-zh-exact"),
    row("ner.zh", "疾病:哮喘;糖尿病\n药物:无", ner(["哮喘", "糖尿病"], []), id="ner-zh-halfwidth"),
    row("ner.zh", "疾病：哮喘；糖尿病\n药物：没有", ner(["哮喘", "糖尿病"], []), id="ner-zh-meiyou"),
    row("ner.zh", "（1）疾病：哮喘\n（2）药物：阿司匹林", ner(["哮喘"], ["阿司匹林"]), id="ner-zh-paren-numbering"),
    row("ner.zh", "疾病： 哮喘 ； 哮喘 \n药物：无。", ner(["哮喘"], []), id="ner-zh-spaces-duplicates"),
    row("ner.zh", "疾病：无\n药物：无\n以上为抽取结果", ner([], []), id="ner-zh-trailing-remark"),
    row("ner.zh", "没有", ner([], []), id="ner-zh-bare-meiyou"),
    # ---------------------------------------------------------------- mention lists
    row("spans.en", "aspirin; ibuprofen", ["aspirin", "ibuprofen"], SAME, id="spans-en-exact"),
    row("spans.en", "- aspirin\n- ibuprofen\n- aspirin", ["aspirin", "ibuprofen"], id="spans-en-bullet-lines"),
    row("spans.en", "Chemical: aspirin; ibuprofen", ["aspirin", "ibuprofen"], id="spans-en-type-repeated"),
    row("spans.en", "None", [], SAME, id="spans-en-none"),
    row("spans.en", "none.", [], id="spans-en-none-lower-dot"),
    row("spans.zh", "1. 阿司匹林\n2. 布洛芬", ["阿司匹林", "布洛芬"], id="spans-zh-numbered"),
    row("spans.zh", "答案：阿司匹林;布洛芬", ["阿司匹林", "布洛芬"], id="spans-zh-keyword-halfwidth"),
    row("spans.en.answer", "answer:  aspirin ; ibuprofen\nThese are the drugs named in the text.", ["aspirin", "ibuprofen"],
        id="spans-en-keyword-case-explanation"),
    row("spans.en.answer", "Answer: aspirin；ibuprofen", ["aspirin", "ibuprofen"], id="spans-en-keyword-fullwidth"),
    # ---------------------------------------------------------------- relation triples
    row(
        "re.en",
        "treats: [aspirin, headache]; [ibuprofen, fever]",
        [["treats", "aspirin", "headache"], ["treats", "ibuprofen", "fever"]],
        SAME,
        id="re-en-exact",
    ),
    row(
        "re.en",
        "Treats： 【aspirin，headache】； (ibuprofen, fever)",
        [["treats", "aspirin", "headache"], ["treats", "ibuprofen", "fever"]],
        id="re-en-bracket-variants",
    ),
    row(
        "re.en", "- treats: [aspirin, headache]\n- causes: None", [["treats", "aspirin", "headache"]],
        id="re-en-bullets-none-pair",
    ),
    row("re.en", "treats: [aspirin, headache]; [aspirin, headache]", [["treats", "aspirin", "headache"]], id="re-en-duplicates"),
    row("re.en", "None", [], SAME, id="re-en-none"),
    row("re.en", "I am not sure what the relation is.", FAIL, id="re-en-unparseable"),
    row(
        "re.zh", "治疗：[阿司匹林，头痛]；[布洛芬，发热]", [["treats", "阿司匹林", "头痛"], ["treats", "布洛芬", "发热"]], SAME,
        id="re-zh-exact",
    ),
    row(
        "re.zh", "导致: [吸烟, 肺癌]\n\n说明：吸烟是肺癌的危险因素。", [["causes", "吸烟", "肺癌"]],
        id="re-zh-halfwidth-explanation",
    ),
    row("re.zh", "无", [], SAME, id="re-zh-none"),
    # ---------------------------------------------------------------- yes / no
    row("yn.en", "Answer: Yes", "yes", SAME, id="yn-en-exact"),
    row("yn.en", "Yes, because the trial showed a clear benefit.", "yes", id="yn-en-yes-because"),
    row("yn.en", "Yes, there is no doubt about it.", "yes", id="yn-en-leading-yes-then-no"),
    row("yn.en", "answer: NO", "no", id="yn-en-label-case"),
    row("yn.en", "Answer:\nYes", "yes", id="yn-en-value-next-line"),
    row("yn.en", "I'm not sure.", FAIL, id="yn-en-unparseable"),
    row("yn.zh", "是的，因为该药物有效。", "yes", id="yn-zh-shi-de"),
    row("yn.zh", "答案：否。", "no", id="yn-zh-trailing-stop"),
    row("yn.zh", "不是", FAIL, id="yn-zh-negated-is-not-yes"),
    # ---------------------------------------------------------------- one class label
    row("cls.en", "result: POSITIVE", "positive", id="cls-en-case"),
    row("cls.en", "Result: The sentiment is negative.", "negative", id="cls-en-in-sentence"),
    row("cls.en", "Result: not positive, rather negative", "negative", id="cls-en-negated-name"),
    row("cls.en", "Result: banana", FAIL, id="cls-en-unknown"),
    row("cls.zh", "结果：阴性", "negative", SAME, id="cls-zh-exact"),
    row("cls.zh", "结果: 阳性。", "positive", id="cls-zh-halfwidth-stop"),
    # a label name inside a longer label's name: the longest match wins (CHIP-CTC: 疾病 inside 疾病分期)
    row("nested.zh", "结果：这条标准属于疾病分期类别", "stage", id="nested-zh-longer-label-in-sentence"),
    row("nested.zh", "结果：这条标准属于疾病类别", "disease", id="nested-zh-shorter-label-in-sentence"),
    row("nested.zh", "结果：既涉及疾病，也涉及疾病分期", FAIL, id="nested-zh-both-named-separately"),
    row("nested.en", "Result: this criterion is about non-neoplasm disease stage.", "stage",
        id="nested-en-longer-label-in-sentence"),
    # ---------------------------------------------------------------- several labels
    row("multi.en", "Result: Cardiology; Oncology", ["cardio", "onco"], SAME, id="multi-en-exact"),
    row("multi.en", "Result: oncology, cardiology, oncology", ["cardio", "onco"], id="multi-en-commas-case-dup"),
    row("multi.en", "Result: None", [], SAME, id="multi-en-none"),
    row("multi.en", "Result: banana; apple", FAIL, id="multi-en-unknown"),
    row("multi.zh", "结果：心内科、肿瘤科", ["cardio", "onco"], id="multi-zh-dunhao"),
    row("multi.zh", "结果：无", [], SAME, id="multi-zh-none"),
    # ---------------------------------------------------------------- multiple choice
    row("mc.en", "Answer: C", ["C"], SAME, id="mc-en-exact"),
    row("mc.en", "The answer is C.", ["C"], id="mc-en-the-answer-is"),
    row("mc.en", "(B)", ["B"], id="mc-en-parenthesised"),
    row("mc.en", "Answer: B. Aspirin, because it inhibits COX.", ["B"], id="mc-en-letter-then-text"),
    row("mc.en", "Answer: Aspirin", ["B"], choices=DRUGS, id="mc-en-option-text"),
    row("mc.en", "Answer: vitamin c.", ["A"], choices=VIT_FIRST, id="mc-en-option-text-with-letter-word"),
    row("mc.en", "Answer: A and C", ["A", "C"], id="mc-en-two-letters-and"),
    row("mc.en", "Answer: C, A", ["A", "C"], id="mc-en-unsorted"),
    row("mc.en", "Answer: AC", ["A", "C"], id="mc-en-compact"),
    row("mc.en", "I cannot tell from the question.", FAIL, id="mc-en-unparseable"),
    row("mc.zh", "答案是B", ["B"], id="mc-zh-da-an-shi"),
    row("mc.zh", "答案：A，C", ["A", "C"], SAME, id="mc-zh-exact-two"),
    row("mc.zh", "答案: (D)", ["D"], id="mc-zh-halfwidth-paren"),
    # only the answer's letters count, not capital letters inside the option text that follows them
    row("mc.en", "Answer: C. Both A and B", ["C"], id="mc-en-letter-then-text-naming-letters"),
    row("mc.en", "Answer: A. HIV, syphilis, and hepatitis B", ["A"], id="mc-en-letter-then-text-with-capital"),
    row("mc.en", "Answer: B (neither A nor C)", ["B"], id="mc-en-letter-then-parenthesis"),
    row("mc.en", "A, C", ["A", "C"], id="mc-en-bare-two-letters"),
    row("mc.en", "Answer： A", ["A"], id="mc-en-fullwidth-colon"),
    row("mc.zh", "答案：C．A和B都对", ["C"], id="mc-zh-letter-then-text-naming-letters"),
    row("mc.zh", "答案：AC。C项也对，B不对", ["A", "C"], id="mc-zh-compact-then-text"),
    row("mc.zh", "答案：AB", ["A", "B"], id="mc-zh-compact"),
    row("mc.zh", "答案： A", ["A"], id="mc-zh-fullwidth-colon-space"),
    row("mc.zh", "答案：ＡＢ", ["A", "B"], id="mc-zh-fullwidth-letters"),
    # an acronym made of option letters is a word, not the answer letters: a letter block counts only before the end,
    # a space, sentence punctuation or a CJK character, never before "-", a digit or a letter
    row("mc5.en", "ACE-inhibitors are first line", FAIL, id="mc-en-acronym-hyphen-is-no-letters"),
    row("mc5.en", "Answer: CD4 count", FAIL, id="mc-en-acronym-digit-is-no-letters"),
    row("mc5.en", "ACE-inhibitors", ["E"], choices=HYPERTENSION, id="mc-en-acronym-option-text"),
    row("mc5.en", "Answer: E. ACE-inhibitors are first line", ["E"], id="mc-en-letter-then-acronym"),
    row("mc5.en", "(ACE)", ["A", "C", "E"], id="mc-en-parenthesised-block"),
    row("mc5.en", "AB. Both lower the pressure.", ["A", "B"], id="mc-en-block-then-explanation"),
    row("mc5.en", "AC is right", ["A", "C"], id="mc-en-block-then-space"),
    row("mc5.en", "AB are both correct", ["A", "B"], id="mc-en-block-then-are"),
    row("mc5.en", "AB\nBoth lower the pressure.", ["A", "B"], id="mc-en-block-then-newline"),
    row("mc5.en", "ACE inhibitors are first line", FAIL, id="mc-en-acronym-then-word-is-no-letters"),
    row("mc5.en", "Answer: E. ACE inhibitors", ["E"], id="mc-en-letter-then-acronym-word"),
    # ---------------------------------------------------------------- scores
    row("score.en", "Score: 3.4", 3.4, SAME, id="score-en-exact"),
    row("score.en", "Score: about 3.5 out of 4", 3.5, id="score-en-about-out-of"),
    row("score.en", "I would rate the similarity 2.", 2.0, id="score-en-no-keyword"),
    row("score.en", "Score: .5", 0.5, id="score-en-leading-dot"),
    row("score.en", "Score: 3.50", 3.5, id="score-en-trailing-zero"),
    row("score.en", "Score: high", FAIL, id="score-en-unparseable"),
    row("score.zh", "分数：4", 4.0, SAME, id="score-zh-exact"),
    row("score.zh", "分数: 大约2.5分", 2.5, id="score-zh-approx"),
    # ---------------------------------------------------------------- JSON
    row("ner.en", '{"Disease": ["asthma"], "Chemical": []}', ner(["asthma"], []), SAME, fmt="json", id="json-ner-exact"),
    row("ner.en", 'Here you go:\n```json\n{"disease": ["asthma", "asthma"], "Chemical": []}\n```\nLet me know if you need more.',
        ner(["asthma"], []), fmt="json", id="json-ner-fenced-with-text"),
    row("ner.en", 'The types are [Disease, Chemical]. {"Disease": ["asthma"]}', ner(["asthma"], []), fmt="json",
        id="json-ner-object-after-bracket-text"),
    row("ner.en", '{"Gene": ["BRCA1"]}', FAIL, fmt="json", id="json-ner-no-declared-type"),
    row("re.zh", '```json\n[{"relation": "治疗", "head": "阿司匹林", "tail": "头痛"}]\n```',
        [["treats", "阿司匹林", "头痛"]], fmt="json", id="json-re-zh-fenced"),
    row("mc.en", '{"answer": "B"}', ["B"], fmt="json", id="json-mc-string-letter"),
    row("mc.en", '{"answer": ["Aspirin"]}', ["B"], choices=DRUGS, fmt="json", id="json-mc-option-text"),
    row("score.en", '{"answer": "about 3.5"}', 3.5, fmt="json", id="json-score-string"),
    row("yn.en", '{"answer": "Yes, definitely"}', "yes", fmt="json", id="json-yn-sentence"),
    row("yn.en", "Yes", FAIL, fmt="json", id="json-not-json"),
]


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(("spec_name", "text", "lenient", "strict", "choices", "fmt"), CASES)
def test_noisy_output(spec_name: str, text: str, lenient, strict: str, choices, fmt: str) -> None:
    spec = SPECS[spec_name]
    got = parse(spec, text, fmt, strict=False, choices=choices)
    if lenient is FAIL:
        assert not got.ok and got.value is None
        assert got.error
    else:
        assert got.ok, got.error
        assert got.value == lenient
    exact = parse(spec, text, fmt, strict=True, choices=choices)
    if strict == SAME:
        assert exact.ok, exact.error
        assert exact.value == lenient
        assert render(spec, exact.value, fmt) == text  # an exact row really is the renderer's output
    else:
        assert not exact.ok and exact.value is None
        assert exact.error


# ---------------------------------------------------------------- never an exception
GARBAGE = [
    "", "\n\n", "```", "```json\n```", "{", "[", "[" * 5000, '{"answer": [[[', "\\", "::", "：：", "None None",
    '{"answer": {"x": 1}}', '{"answer": [1, 2]}', '[{"relation": ["x"], "head": 1}]', '{"answer": null}', "\x00\x85\u2028",
]


@pytest.mark.parametrize("fmt", ["lines", "json"])
@pytest.mark.parametrize("spec_name", sorted(SPECS))
def test_garbage_never_raises(spec_name: str, fmt: str) -> None:
    spec = SPECS[spec_name]
    for text in GARBAGE:
        for strict in (True, False):
            got = parse(spec, text, fmt, strict=strict, choices=DRUGS)
            assert got.ok or (got.value is None and got.error), (text, got)


def test_free_text_strict_keeps_lenient_strips() -> None:
    text = "  Rest and fluids.\n"
    assert parse(SPECS["text.en"], text, strict=True).value == text
    assert parse(SPECS["text.en"], text).value == "Rest and fluids."


def test_option_text_warns() -> None:
    got = parse(SPECS["mc.en"], "Answer: Aspirin", choices=DRUGS)
    assert got.value == ["B"] and any("option text" in warning for warning in got.warnings)


def test_ignored_lines_are_reported() -> None:
    got = parse(SPECS["ner.en"], "Disease: asthma\nNote: nothing else")
    assert got.ok and got.warnings
