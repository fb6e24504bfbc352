"""The answer kinds of entity normalisation (``concepts``) and coreference (``clusters``): exact layouts, round trips
of hostile text in both languages and formats (strict and lenient), canonical forms, what lenient parsing tolerates
and what strict parsing refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biohub.templates.answers import FORMATS, AnswerSpec, canonical, parse, render
from biohub.templates.builder import layout_example
from biohub.templates.library import punctuation
from tests.templates.test_answers_roundtrip import FAST, HOSTILE, MENTION

QUICK = settings(FAST, max_examples=100)

LANGS = ("en", "zh")


def spec(kind: str, lang: str = "en") -> AnswerSpec:
    return AnswerSpec(kind, punctuation()[lang])


def check(kind: str, lang: str, value, answer_format: str) -> None:
    s = spec(kind, lang)
    expected = canonical(s, value)
    text = render(s, value, answer_format)
    for strict in (True, False):
        result = parse(s, text, answer_format, strict=strict)
        assert result.ok, (text, strict, result.error)
        assert result.value == expected, (text, strict)


# ------------------------------------------------------------------------------------------ concepts
CONCEPTS = st.lists(st.tuples(MENTION, st.lists(MENTION, min_size=1, max_size=3)), max_size=4)


@pytest.mark.parametrize("answer_format", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
@QUICK
@given(value=CONCEPTS)
def test_concepts_round_trip(lang: str, answer_format: str, value) -> None:
    check("concepts", lang, [[m, c] for m, c in value], answer_format)


def test_concepts_layout_lines_and_json() -> None:
    value = [["IL-2", ["NCBIGene:3558"]], ["HLA:DR4", ["NCBIGene:3126", "HGNC:4948"]], ["IL-2", ["NCBIGene:3558"]]]
    assert render(spec("concepts"), value) == "IL-2: NCBIGene:3558\nHLA\\:DR4: NCBIGene:3126; HGNC:4948"
    assert json.loads(render(spec("concepts"), value, "json")) == {
        "IL-2": ["NCBIGene:3558"], "HLA:DR4": ["NCBIGene:3126", "HGNC:4948"],
    }
    zh = [["胃癌术后;化疗", ["胃恶性肿瘤", "恶性肿瘤术后化疗"]]]
    assert render(spec("concepts", "zh"), zh) == "胃癌术后;化疗：胃恶性肿瘤；恶性肿瘤术后化疗"
    assert render(spec("concepts"), []) == "None" and render(spec("concepts", "zh"), [], "json") == "{}"
    assert render(spec("concepts"), [["1. x", ["a;b"]]]) == "\\1. x: a\\;b"  # not a bullet, not two concepts


def test_concepts_canonical_form_merges_mentions_and_drops_empty_ones() -> None:
    value = [["a", ["X", "Y"]], ["b", []], ["a", ["Y", "Z"]]]
    assert canonical(spec("concepts"), value) == [["a", ["X", "Y", "Z"]]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- IL-2 : NCBIGene:3558 ;  MESH:D1\n\n* TNF：NCBIGene:7124",
            [["IL-2", ["NCBIGene:3558", "MESH:D1"]], ["TNF", ["NCBIGene:7124"]]],
        ),
        ("Here you go.\nIL-2: NCBIGene:3558\nThat is all.", [["IL-2", ["NCBIGene:3558"]]]),  # prose lines ignored
        ("IL-2: NCBIGene:3558\nIL-2: MESH:D1\nIL-2: NCBIGene:3558", [["IL-2", ["NCBIGene:3558", "MESH:D1"]]]),
        ("None.", []),
        ("N/A", []),
    ],
)
def test_concepts_lenient_parsing_tolerates(text: str, expected) -> None:
    result = parse(spec("concepts"), text)
    assert result.ok and result.value == expected, result


def test_concepts_json_lenient_reads_fences_and_single_strings() -> None:
    text = 'Sure:\n```json\n{"IL-2": "NCBIGene:3558", "bad": 3}\n```'
    result = parse(spec("concepts"), text, "json")
    assert result.ok and result.value == [["IL-2", ["NCBIGene:3558"]]] and result.warnings


@pytest.mark.parametrize(
    ("text", "answer_format"),
    [
        ("IL-2 : NCBIGene:3558", "lines"),  # spacing
        ("IL-2:NCBIGene:3558", "lines"),
        ("IL-2: NCBIGene:3558;MESH:D1", "lines"),
        ("IL-2: None", "lines"),  # a mention without concepts is not the rendering of anything
        ("- IL-2: NCBIGene:3558", "lines"),
        ("just prose", "lines"),
        ('{"IL-2": "NCBIGene:3558"}', "json"),  # strict JSON: a list of concepts
        ('{"IL-2": []}', "json"),
    ],
)
def test_concepts_strict_parsing_refuses_other_layouts(text: str, answer_format: str) -> None:
    assert not parse(spec("concepts"), text, answer_format, strict=True).ok


def test_concepts_text_naming_nothing_is_a_failure() -> None:
    assert not parse(spec("concepts"), "I cannot tell.").ok
    assert not parse(spec("concepts"), '{"x": 1}', "json").ok


# ------------------------------------------------------------------------------------------ clusters
CLUSTERS = st.lists(st.lists(st.tuples(MENTION, st.integers(1, 12)), max_size=4), max_size=4)


@pytest.mark.parametrize("answer_format", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
@QUICK
@given(value=CLUSTERS)
def test_clusters_round_trip(lang: str, answer_format: str, value) -> None:
    check("clusters", lang, [[list(m) for m in cluster] for cluster in value], answer_format)


@pytest.mark.parametrize("answer_format", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
def test_hostile_cluster_mentions_fixed(lang: str, answer_format: str) -> None:
    hostile = [*HOSTILE, "#", "H4 #2", "x #", "\\#3", "a、b", "[H4, H4 #2]"]
    check("clusters", lang, [[[m, 1], [m, 2]] for m in hostile], answer_format)
    check("clusters", lang, [[[m, k % 3 + 1] for k, m in enumerate(hostile)]], answer_format)


def test_clusters_layout_lines_and_json() -> None:
    value = [[["interleukin-1beta", 1], ["IL-1beta", 1]], [["H4", 1], ["H4", 2]]]
    assert render(spec("clusters"), value) == "[interleukin-1beta, IL-1beta]\n[H4, H4 #2]"
    assert render(spec("clusters", "zh"), value) == "[interleukin-1beta，IL-1beta]\n[H4，H4 #2]"
    assert json.loads(render(spec("clusters"), value, "json")) == [
        ["interleukin-1beta", "IL-1beta"], ["H4", {"text": "H4", "occurrence": 2}],
    ]
    assert render(spec("clusters"), [[["H4 #2", 1], ["a, b", 3]]]) == "[H4 \\#2, a\\, b #3]"  # a literal '#' is escaped
    assert render(spec("clusters"), []) == "None" and render(spec("clusters"), [], "json") == "[]"


def test_clusters_canonical_form_merges_shared_mentions_and_drops_singletons() -> None:
    value = [[["a", 1], ["b", 1]], [["c", 1]], [["d", 1], ["e", 1]], [["b", 1], ["d", 1], "f"], [["g", 1], ["g", 1]]]
    assert canonical(spec("clusters"), value) == [[["a", 1], ["b", 1], ["d", 1], ["e", 1], ["f", 1]]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. [IL-2 , interleukin 2]\n- 【H4；H4 #2】", [[["IL-2", 1], ["interleukin 2", 1]], [["H4", 1], ["H4", 2]]]),
        ("Clusters: [a, b] and [c, d #3].", [[["a", 1], ["b", 1]], [["c", 1], ["d", 3]]]),
        ("Cluster 1: a, b\nCluster 2: c；d", [[["a", 1], ["b", 1]], [["c", 1], ["d", 1]]]),  # no brackets
        ("The groups are:\n[a, b]\n[b, c]", [[["a", 1], ["b", 1], ["c", 1]]]),  # a shared mention joins two groups
        ("None", []),
        ("Nothing.", []),
    ],
)
def test_clusters_lenient_parsing_tolerates(text: str, expected) -> None:
    result = parse(spec("clusters"), text)
    assert result.ok and result.value == expected, result


def test_clusters_json_lenient_reads_a_wrapped_list_and_skips_bad_clusters() -> None:
    text = '{"clusters": [["a", {"text": "a", "occurrence": 2}], "bad", [1, 2]]}'
    result = parse(spec("clusters"), text, "json")
    assert result.ok and result.value == [[["a", 1], ["a", 2]]] and result.warnings


@pytest.mark.parametrize(
    ("text", "answer_format"),
    [
        ("[a,b]", "lines"),
        ("[a, b #1]", "lines"),  # a first occurrence carries no number
        ("[a, b#2]", "lines"),
        ("[a, b #x]", "lines"),
        ("[a]", "lines"),  # a single mention links nothing
        ("[a, b]\n[b, c]", "lines"),  # not the canonical (merged) clusters
        ("a, b", "lines"),
        ('[["a", {"text": "a", "occurrence": 1}]]', "json"),
        ('[["a", {"text": "a"}]]', "json"),
        ('{"clusters": [["a", "b"]]}', "json"),
    ],
)
def test_clusters_strict_parsing_refuses_other_layouts(text: str, answer_format: str) -> None:
    assert not parse(spec("clusters"), text, answer_format, strict=True).ok


def test_clusters_text_naming_no_group_is_a_failure() -> None:
    assert not parse(spec("clusters"), "No idea, sorry").ok
    assert not parse(spec("clusters"), '["a", "b"]', "json").ok


# ------------------------------------------------------------------------------------------ format hints
@pytest.mark.parametrize("lang", LANGS)
def test_layout_examples_show_the_layout_with_placeholder_words(lang: str) -> None:
    clusters = layout_example(spec("clusters", lang), "lines", lang)
    concepts = layout_example(spec("concepts", lang), "lines", lang)
    if lang == "en":
        assert clusters == "[mention 1, mention 2]\n[mention 3, mention 3 #2]"
        assert concepts == "mention 1: concept 1\nmention 2: concept 2; concept 3"
    else:
        assert clusters == "[实体1，实体2]\n[实体3，实体3 #2]"
        assert concepts == "实体1：标准词1\n实体2：标准词2；标准词3"
    for kind in ("clusters", "concepts"):
        example = layout_example(spec(kind, lang), "json", lang)
        assert parse(spec(kind, lang), example, "json", strict=True).ok
