"""The ``events`` answer kind: layout, round trip over hostile texts, canonical form, lenient and strict parsing, and
the events answer of a record (document order, nested events first, the closure of a decomposed type)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from biohub.schema import Entity, Event, EventArgument, KBRecord, Passage, Trigger, validate
from biohub.templates.answers import FORMATS, AnswerSpec, canonical, parse, render
from biohub.templates.answers_events import canonical_events
from biohub.templates.library import punctuation
from biohub.templates.tasks import DatasetInfo, event_answer, instances
from tests.templates.test_answers_roundtrip import FAST, MENTION

TYPES = ("Gene_expression", "Positive_regulation", "Binding")
ZH_NAMES = {"Gene_expression": "基因表达", "Positive_regulation": "正调控", "Binding": "结合", "Theme": "主题", "Cause": "原因"}


def spec(
    language: str = "en", display: dict[str, str] | None = None, labels: tuple[str, ...] = TYPES,
    modifiers: tuple[str, ...] = (),
) -> AnswerSpec:
    return AnswerSpec("events", punctuation()[language], labels, dict(display or {}), modifiers=modifiers)


MODIFIERS = ("Negation", "Speculation")
ZH_MODIFIERS = {"Negation": "否定", "Speculation": "推测"}


# IL-2 expression (E1), induced by TRAF2 (E2 regulates E1), binding of IL-2 and p50 (E3)
NESTED = [
    ["Gene_expression", "expression", [["Theme", "IL-2"]]],
    ["Positive_regulation", "induces", [["Theme", 1], ["Cause", "TRAF2"]]],
    ["Binding", "binding", [["Theme", "IL-2"], ["Theme2", "p50"]]],
]


def test_lines_and_json_layouts() -> None:
    assert render(spec(), NESTED) == (
        "E1: Gene_expression; trigger: expression; Theme: IL-2\n"
        "E2: Positive_regulation; trigger: induces; Theme: E1; Cause: TRAF2\n"
        "E3: Binding; trigger: binding; Theme: IL-2; Theme2: p50"
    )
    assert render(spec("zh", ZH_NAMES), NESTED[:2]) == (
        "E1：基因表达；触发词：expression；主题：IL-2\nE2：正调控；触发词：induces；主题：E1；原因：TRAF2"
    )
    assert json.loads(render(spec(), NESTED[:2], "json")) == [
        {"id": "E1", "type": "Gene_expression", "trigger": "expression", "arguments": [{"role": "Theme", "entity": "IL-2"}]},
        {"id": "E2", "type": "Positive_regulation", "trigger": "induces",
         "arguments": [{"role": "Theme", "event": "E1"}, {"role": "Cause", "entity": "TRAF2"}]},
    ]
    assert render(spec(), []) == "None" and render(spec("zh"), []) == "无" and render(spec(), [], "json") == "[]"


def test_canonical_puts_nested_events_first_and_merges_equal_events() -> None:
    # E1 regulates E3, which is given later; E2 and E4 are the same event (a repeated argument is one), so E5 and E6,
    # which regulate them, are the same event too
    given_order = [
        ["Positive_regulation", "induces", [["Theme", 3]]],
        ["Gene_expression", "expression", [["Theme", "IL-2"]]],
        ["Gene_expression", "expression", [["Theme", "IL-4"]]],
        ["Gene_expression", "expression", [["Theme", "IL-2"], ["Theme", "IL-2"]]],
        ["Positive_regulation", "induces", [["Theme", 4]]],
        ["Positive_regulation", "induces", [["Theme", 2]]],
    ]
    assert canonical_events(spec(), given_order) == [
        ["Gene_expression", "expression", [["Theme", "IL-4"]]],
        ["Positive_regulation", "induces", [["Theme", 1]]],
        ["Gene_expression", "expression", [["Theme", "IL-2"]]],
        ["Positive_regulation", "induces", [["Theme", 3]]],
    ]
    assert canonical_events(spec(), canonical_events(spec(), given_order)) == canonical_events(spec(), given_order)
    with pytest.raises(ValueError, match="cycle"):
        canonical_events(spec(), [["Binding", "b", [["Theme", 2]]], ["Binding", "c", [["Theme", 1]]]])


ROLES = st.sampled_from(["Theme", "Cause", "Site", "Theme2", "部位"])  # codes, none another role's display name


@st.composite
def event_lists(draw: st.DrawFn) -> list:
    events = []
    for index in range(draw(st.integers(0, 5))):
        args = []
        for _ in range(draw(st.integers(0, 3))):
            nested = index and draw(st.booleans())
            args.append([draw(ROLES), draw(st.integers(1, index)) if nested else draw(MENTION)])
        event = [draw(st.sampled_from(TYPES)), draw(MENTION), args]
        modifications = draw(st.lists(st.sampled_from(MODIFIERS), max_size=3))
        events.append([*event, modifications] if modifications else event)
    return events


@FAST
@given(events=event_lists(), language=st.sampled_from(("en", "zh")), named=st.booleans())
def test_every_event_list_round_trips(events: list, language: str, named: bool) -> None:
    """Triggers and arguments drawn from hostile text (separators of both scripts, E2-like words, None, brackets,
    line breaks, edge blanks), modifications repeated and in any order: strict and lenient parsing give the canonical
    value back, in both formats."""
    answer = spec(language, {**ZH_NAMES, **ZH_MODIFIERS} if named else None, modifiers=MODIFIERS)
    expected = canonical(answer, events)
    for answer_format in FORMATS:
        text = render(answer, events, answer_format)
        for strict in (True, False):
            result = parse(answer, text, answer_format, strict=strict)
            assert result.ok and result.value == expected, (answer_format, strict, text, result.error)


def test_texts_that_read_as_event_numbers_or_nothing_are_escaped() -> None:
    events = [["Binding", "E2", [["Theme", "E1"], ["Theme2", "None"], ["Site", "a;b"]]]]
    text = render(spec(), events)
    assert text == "E1: Binding; trigger: \\E2; Theme: \\E1; Theme2: \\None; Site: a\\;b"
    assert parse(spec(), text, strict=True).value == events == parse(spec(), text).value


def test_lenient_parsing_reads_what_models_write() -> None:
    answer = spec("en", ZH_NAMES)  # Chinese display names; lenient parsing also reads the codes and English words
    text = (
        "Here are the events:\n"
        "- Event 1：gene expression；触发词：expression；theme：IL-2\n"
        "2. E2: Positive regulation; Trigger: induces; Theme: e1; Cause: TRAF2; Site: E9\n"
        "E3: Binding; Theme: IL-2\n"  # no trigger: ignored
        "That is all."
    )
    result = parse(answer, text)
    assert result.ok and result.value == [
        ["Gene_expression", "expression", [["Theme", "IL-2"]]],
        ["Positive_regulation", "induces", [["Theme", 1], ["Cause", "TRAF2"]]],
    ]
    assert any("no such event" in w for w in result.warnings) and any("without a trigger" in w for w in result.warnings)
    assert parse(spec("zh"), "无。").value == [] and parse(answer, "None").value == []
    assert not parse(answer, "I cannot find anything relevant.").ok
    cyclic = parse(spec(), "E1: Binding; trigger: a; Theme: E2\nE2: Binding; trigger: b; Theme: E1")
    assert cyclic.ok and cyclic.value == [["Binding", "b", []], ["Binding", "a", [["Theme", 1]]]]
    assert any("contains it" in w for w in cyclic.warnings)


def test_lenient_json_and_strict_refusals() -> None:
    payload = [
        {"type": "gene expression", "trigger": "expression", "arguments": [{"role": "Theme", "entity": "IL-2"}], "id": "e1"},
        {"id": "E2", "type": "Positive_regulation", "trigger": "induces", "arguments": [{"role": "Theme", "event": "E1"}]},
        {"id": "E3", "type": "Unknown", "trigger": "x", "arguments": []},
    ]
    result = parse(spec(), "```json\n" + json.dumps(payload) + "\n```", "json")
    assert result.ok and result.value == [NESTED[0], ["Positive_regulation", "induces", [["Theme", 1]]]]
    exact = render(spec(), NESTED)
    for bad in (
        exact.replace("E2: ", "E5: ").replace("Theme: E1", "Theme: E5"),  # numbered out of order
        exact.replace("Theme: IL-2\n", "Theme: IL-2; Theme: IL-2\n", 1),  # an argument given twice
        exact.replace("; ", ";"),  # spacing
        exact.replace("Theme: E1", "Theme: E7"),  # a reference to no event
        "\n".join(reversed(exact.split("\n"))),  # a nested event after the event that refers to it
    ):
        assert not parse(spec(), bad, strict=True).ok, bad
    assert not parse(spec(), json.dumps(payload[:2]), "json", strict=True).ok


def _record() -> KBRecord:
    text = "TRAF2 induces IL-2 expression and IL-2 binding to p50."
    record = KBRecord(id="d1", document_id="d1", dataset="toy", split="train", language="en",
                      passages=[Passage("d1.p", "abstract", [text], [(0, len(text))])])

    def entity(index: int, word: str, start: int = 0) -> Entity:
        at = text.index(word, start)
        return Entity(f"d1.T{index}", "Protein", [word], [(at, at + len(word))])

    def trigger(word: str) -> Trigger:
        at = text.index(word)
        return Trigger([word], [(at, at + len(word))])

    record.entities = [entity(1, "TRAF2"), entity(2, "IL-2"), entity(3, "IL-2", 20), entity(4, "p50")]
    record.events = [  # given out of document order; E3 (binding) has two themes
        Event("d1.E3", "Binding", trigger("binding"), [EventArgument("Theme", "d1.T3"), EventArgument("Theme2", "d1.T4")]),
        Event(
            "d1.E2", "Positive_regulation", trigger("induces"), [EventArgument("Theme", "d1.E1"), EventArgument("Cause", "d1.T1")]
        ),
        Event("d1.E1", "Gene_expression", trigger("expression"), [EventArgument("Theme", "d1.T2")]),
    ]
    assert validate(record) == []
    return record


def test_event_answer_of_a_record_and_its_decomposition() -> None:
    record = _record()
    assert canonical(spec(), event_answer(record)) == NESTED
    assert canonical(spec(), event_answer(record, {"Positive_regulation"})) == NESTED[:2]  # with the event it contains
    assert event_answer(record, {"Binding"}) == [NESTED[2]]
    info = DatasetInfo("toy", "kb", ("events",), (), (), (), False, TYPES)
    made = instances(record, info, decompose=True)
    assert [(i.family, i.suffix) for i in made] == [
        ("events", ""), ("events_single", ".Gene_expression"), ("events_single", ".Positive_regulation"),
        ("events_single", ".Binding"),
    ]
    single = made[2]
    assert single.spec.labels[0] == "Positive_regulation" and set(single.spec.labels) == set(TYPES)
    assert single.fields == {"text": record.passages[0].text[0], "type": "Positive_regulation"}
    assert made[0].fields["types"] == "Gene_expression, Positive_regulation, Binding"


def test_modifications_layout_canonical_form_and_parsing() -> None:
    negated = [*NESTED[:2], [*NESTED[2], ["Speculation", "Negation", "Negation"]]]
    answer = spec(modifiers=MODIFIERS)
    assert canonical(answer, negated)[2] == [*NESTED[2], ["Negation", "Speculation"]]  # distinct, in the spec's order
    assert canonical(answer, [[*NESTED[0], []]]) == [NESTED[0]]  # no fourth item without modifications
    assert render(answer, negated).split("\n")[2] == (
        "E3: Binding; trigger: binding; Theme: IL-2; Theme2: p50; modification: Negation; modification: Speculation"
    )
    zh = spec("zh", {**ZH_NAMES, **ZH_MODIFIERS}, modifiers=MODIFIERS)
    assert render(zh, [[*NESTED[0], ["Negation"]]]) == "E1：基因表达；触发词：expression；主题：IL-2；状态：否定"
    payload = json.loads(render(answer, negated, "json"))
    assert [event["modifications"] for event in payload] == [[], [], ["Negation", "Speculation"]]
    assert "modifications" not in json.loads(render(spec(), NESTED, "json"))[0]  # a dataset without modifiers
    # an event and its negated twin are two events; a modification is not an argument
    twins = [NESTED[0], [*NESTED[0], ["Negation"]]]
    assert canonical(answer, twins) == twins
    assert parse(answer, render(answer, twins), strict=True).value == twins
    # lenient: either language's keyword, codes or names in any case, an unknown one ignored with a warning
    result = parse(answer, "E1: Binding; trigger: binding; Theme: p50; 状态: negation.; Modification: Doubt")
    assert result.ok and result.value == [["Binding", "binding", [["Theme", "p50"]], ["Negation"]]]
    assert any("ignored modification" in w for w in result.warnings)
    lenient_json = [{"id": "E1", "type": "Binding", "trigger": "binding", "arguments": [], "modifications": "negation"}]
    assert parse(answer, json.dumps(lenient_json), "json").value == [["Binding", "binding", [], ["Negation"]]]
    # strict: only the display names, after the arguments; JSON events must all have "modifications"
    exact = render(answer, negated)
    for bad in (
        exact.replace("modification: Negation", "modification: negation"),
        exact.replace("modification: Negation", "modification: Doubt"),
        exact.replace("Theme2: p50; modification: Negation", "modification: Negation; Theme2: p50"),
    ):
        assert not parse(answer, bad, strict=True).ok, bad
    without = [{k: v for k, v in event.items() if k != "modifications"} for event in payload]
    assert not parse(answer, json.dumps(without), "json", strict=True).ok
    assert parse(answer, json.dumps(payload), "json", strict=True).value == canonical(answer, negated)


def test_format_hint_names_the_modifications_and_shows_one() -> None:
    from biohub.templates.builder import prompt_text
    from biohub.templates.example import Instance
    from biohub.templates.library import families

    answer = spec("zh", {**ZH_NAMES, **ZH_MODIFIERS}, modifiers=MODIFIERS)
    instance = Instance("events", "", {"text": "……", "types": "基因表达"}, answer, [])
    template = families()["events"].templates["zh"][0]
    lines, as_json = prompt_text(template, instance, "lines"), prompt_text(template, instance, "json")
    assert "状态：否定" in lines and "（否定、推测）" in lines and '"modifications": ["否定"]' in as_json
    plain = Instance("events", "", instance.fields, spec("zh", ZH_NAMES), [])
    assert "状态" not in prompt_text(template, plain, "lines") and "modifications" not in prompt_text(template, plain, "json")


def test_event_answer_carries_the_modifications_of_its_events() -> None:
    from biohub.schema import Modification

    record = _record()
    record.modifications = [
        Modification("d1.M1", "Speculation", "d1.E2"), Modification("d1.M2", "Negation", "d1.E2"),
        Modification("d1.M3", "Negation", "d1.T4"),  # of an entity: no event answer holds it
    ]
    answer = canonical(spec(modifiers=MODIFIERS), event_answer(record))
    assert answer == [NESTED[0], [*NESTED[1], ["Negation", "Speculation"]], NESTED[2]]
    info = DatasetInfo("toy", "kb", ("events",), (), (), (), False, TYPES, MODIFIERS)
    made = instances(record, info, decompose=True)
    assert all(i.spec.modifiers == MODIFIERS for i in made)
    assert canonical(made[0].spec, made[0].target)[1] == [*NESTED[1], list(MODIFIERS)]
