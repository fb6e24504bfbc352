"""Property tests: every answer kind round-trips through render -> parse, in both languages and both formats.

``parse(spec, render(spec, x, fmt), fmt, strict=True).value == canonical(spec, x)`` for any ``x``, and the
lenient parser reads the renderer's own output the same way (except free text, which it strips). Mentions,
heads and tails are drawn from deliberately hostile text: every separator of both scripts, brackets,
backslashes, line breaks, tabs, edge whitespace, the empty-answer words, bullets and answer keywords.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biohub.templates.answers import FORMATS, KINDS, AnswerSpec, canonical, parse, render
from biohub.templates.library import punctuation

LANGS = ("en", "zh")
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------------------------------ label spaces
ENTITY_TYPES = ("Disease", "Chemical", "Gene_or_gene_product")
ENTITY_NAMES = {
    "en": {"Disease": "Disease", "Chemical": "Chemical", "Gene_or_gene_product": "Gene or gene product"},
    "zh": {"Disease": "疾病", "Chemical": "药物", "Gene_or_gene_product": "基因或基因产物"},
}
RELATIONS = ("CID", "treats", "PPI")
RELATION_NAMES = {
    "en": {"CID": "chemical induces disease", "treats": "treats", "PPI": "protein-protein interaction"},
    "zh": {"CID": "药物导致疾病", "treats": "治疗", "PPI": "蛋白相互作用"},
}
CLASSES = ("positive", "negative", "neutral", "not_relevant")
CLASS_NAMES = {
    "en": {"positive": "Positive", "negative": "Negative", "neutral": "Neutral", "not_relevant": "Not relevant"},
    "zh": {"positive": "阳性", "negative": "阴性", "neutral": "中性", "not_relevant": "无关"},
}
LETTER_SETS = (("A", "B", "C", "D", "E"), ())  # () = any letter (no declared option set)


def _prefixes(lang: str) -> tuple[str, ...]:
    p = punctuation()[lang]
    return ("", p.result, p.answer, p.score)


@st.composite
def specs(draw: st.DrawFn, kind: str, lang: str) -> AnswerSpec:
    p = punctuation()[lang]
    prefix = draw(st.sampled_from(_prefixes(lang)))
    with_display = draw(st.booleans())
    if kind == "spans_by_type":
        labels, names = ENTITY_TYPES, ENTITY_NAMES[lang]
    elif kind == "spans":
        labels, names = ENTITY_TYPES[:1], ENTITY_NAMES[lang]
    elif kind == "triples":
        labels, names = RELATIONS, RELATION_NAMES[lang]
    elif kind in ("label", "labels"):
        labels, names = CLASSES, CLASS_NAMES[lang]
    elif kind == "choices":
        labels, names = draw(st.sampled_from(LETTER_SETS)), {}
    else:
        labels, names = (), {}
    if kind in ("spans_by_type", "triples"):
        prefix = ""  # these kinds have no answer keyword
    return AnswerSpec(kind, p, labels=labels, display=dict(names) if with_display else {}, prefix=prefix)


# ------------------------------------------------------------------------------------------ hostile text
NASTY_ATOMS = [
    ";", "；", ",", "，", ":", "：", "、", "[", "]", "【", "】", "(", ")", "（", "）", "<", ">", "〈", "〉",
    "\\", "\\\\", "\\n", "\n", "\t", "\r", "\r\n", " ", "  ", "\u3000", "\xa0", "\x0b", "\x0c", "\x1c", "\x85", "\u2028",
    "None", "none", "NONE", "无", "没有", "N/A", "n/a", "null", "nil", "Nothing", "No entities", "暂无",
    ".", "。", "!", "-", "*", "•", "·", "1.", "2)", "（1）", "(3)", "`", "```", "```json", "{", "}", '"', "'",
    "Disease", "disease", "Answer", "Result", "Score", "答案", "结果", "分数", "疾病", "treats",
    "IL-2", "TNF-α", "肝癌", "乙型肝炎病毒", "aspirin", "Zn²⁺", "β-catenin", "n", "t", "r", "0", "3.5",
]
WORDS = st.sampled_from(NASTY_ATOMS) | st.text(alphabet="abcXYZ 肝癌蛋白αβ-_/0123456789", min_size=1, max_size=6)
EMPTY_LOOKING = st.sampled_from(
    [
        " ", "  ", "\t", "\n", "\\", "\\\\", "\u3000", "None", "none", "无", "N/A", "没有", "None.", "无。", "none;", "-",
        "1.", "```", "`",
    ]
)
MENTION = (
    st.lists(WORDS, min_size=1, max_size=6).map("".join)
    | EMPTY_LOOKING
    | st.text(min_size=1, max_size=12)  # anything at all (hypothesis's own nasty unicode)
).filter(bool)
MENTIONS = st.lists(MENTION, max_size=5)


def values(kind: str, spec: AnswerSpec) -> st.SearchStrategy:
    if kind == "spans_by_type":
        return st.dictionaries(st.sampled_from(spec.labels), MENTIONS, max_size=len(spec.labels))
    if kind == "spans":
        return MENTIONS
    if kind == "triples":
        return st.lists(st.tuples(st.sampled_from(spec.labels), MENTION, MENTION), max_size=5)
    if kind == "label":
        return st.sampled_from(spec.labels)
    if kind == "labels":
        return st.lists(st.sampled_from(spec.labels), max_size=6)
    if kind == "choices":
        return st.lists(st.sampled_from(spec.labels or tuple("ABCDEFGHIJ")), min_size=1, max_size=4)
    if kind == "score":
        return SCORES
    if kind == "text":
        return st.text(max_size=40) | st.lists(WORDS, max_size=6).map("".join)
    raise AssertionError(kind)


def _exact_g(mantissa: int, exponent: int) -> float:
    return float(f"{mantissa}e{exponent}")


SCORES = (
    st.integers(0, 20).map(lambda i: i / 5)  # 0, 0.2, ..., 4
    | st.integers(0, 400).map(lambda i: i / 100)  # BIOSSES-style two decimals
    | st.builds(_exact_g, st.integers(-999_999, 999_999), st.integers(-12, 20))  # exponent notation included
).filter(lambda x: float(f"{x:g}") == x)


# ------------------------------------------------------------------------------------------ properties
def _check(kind: str, spec: AnswerSpec, value, answer_format: str) -> None:
    expected = canonical(spec, value)
    text = render(spec, value, answer_format)
    strict = parse(spec, text, answer_format, strict=True)
    assert strict.ok, (text, strict.error)
    assert strict.value == expected, text
    lenient = parse(spec, text, answer_format, strict=False)
    assert lenient.ok, (text, lenient.error)
    if kind == "text" and answer_format == "lines":
        assert lenient.value == expected.strip()
    else:
        assert lenient.value == expected, text


def test_every_kind_is_covered() -> None:
    assert set(KINDS) == {"spans_by_type", "spans", "triples", "label", "labels", "choices", "score", "text"}


@pytest.mark.parametrize("answer_format", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(data=st.data())
def test_roundtrip(kind: str, lang: str, answer_format: str, data: st.DataObject) -> None:
    spec = data.draw(specs(kind, lang), label="spec")
    value = data.draw(values(kind, spec), label="value")
    _check(kind, spec, value, answer_format)


# ------------------------------------------------------------------------------------------ fixed examples
# A few hand-picked hostile answers, so a regression shows up even with hypothesis's database wiped.
HOSTILE = [
    "a; b", "a；b", " lead", "trail ", "\\", "x\\", "\\;", "None", "none", "无", "N/A", "None.", "无。", "- bullet",
    "1. numbered", "（1）编号", "Disease: x", "Answer: y", "答案：是", "```", "[h, t]", "【头，尾】", "tab\tnew\nline",
    "n", "\u3000全角空格\u3000", "x\x0b", "\x85y",
]


@pytest.mark.parametrize("answer_format", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("prefix_index", range(4))
def test_hostile_mentions_fixed(lang: str, answer_format: str, prefix_index: int) -> None:
    p = punctuation()[lang]
    prefix = _prefixes(lang)[prefix_index]
    spans = AnswerSpec("spans", p, labels=ENTITY_TYPES[:1], display=ENTITY_NAMES[lang], prefix=prefix)
    for mention in HOSTILE:
        _check("spans", spans, [mention], answer_format)
    _check("spans", spans, HOSTILE, answer_format)
    by_type = AnswerSpec("spans_by_type", p, labels=ENTITY_TYPES, display=ENTITY_NAMES[lang])
    _check("spans_by_type", by_type, {"Disease": HOSTILE, "Chemical": HOSTILE[::-1]}, answer_format)
    triples = AnswerSpec("triples", p, labels=RELATIONS, display=RELATION_NAMES[lang])
    _check("triples", triples, [("treats", h, t) for h, t in zip(HOSTILE, HOSTILE[::-1])], answer_format)


@pytest.mark.parametrize("lang", LANGS)
def test_empty_answers_render_the_none_word(lang: str) -> None:
    p = punctuation()[lang]
    by_type = AnswerSpec("spans_by_type", p, labels=ENTITY_TYPES, display=ENTITY_NAMES[lang])
    names = ENTITY_NAMES[lang]
    assert render(by_type, {}) == "\n".join(f"{names[t]}{p.kv}{p.gap}{p.none}" for t in ENTITY_TYPES)
    assert render(AnswerSpec("triples", p, labels=RELATIONS), []) == p.none
    assert render(AnswerSpec("spans", p, prefix=p.answer), []) == f"{p.answer}{p.kv}{p.gap}{p.none}"
    # a mention that spells the empty word is escaped, so it cannot be read as "nothing"
    assert render(AnswerSpec("spans", p), [p.none]) != p.none
    assert parse(AnswerSpec("spans", p), render(AnswerSpec("spans", p), [p.none]), strict=True).value == [p.none]


def test_render_is_canonical_order_and_deduplicated() -> None:
    p = punctuation()["en"]
    spec = AnswerSpec("triples", p, labels=RELATIONS, display=RELATION_NAMES["en"])
    value = [("PPI", "a", "b"), ("CID", "c", "d"), ("PPI", "a", "b"), ("CID", "e", "f")]
    assert render(spec, value) == "chemical induces disease: [c, d]; [e, f]\nprotein-protein interaction: [a, b]"
    spec = AnswerSpec("choices", p, labels=tuple("ABCD"), prefix="Answer")
    assert render(spec, ["C", "A", "C"]) == "Answer: A, C"
    zh = AnswerSpec("choices", punctuation()["zh"], labels=tuple("ABCD"), prefix="答案")
    assert render(zh, ["C", "A"]) == "答案：A，C"
