"""Long event documents are split into sentence windows that never cut an event (its trigger, its arguments, the
events nested in it), on their own window group: event answers do not shrink a document's NER windows."""

from __future__ import annotations

import json

from biohub.schema import Entity, Event, EventArgument, KBRecord, Passage, Trigger, document_text, validate
from biohub.templates.answers import parse
from biohub.templates.instruct import InstructOptions, build_split, window_group
from biohub.templates.length import event_extents, sentence_units, split_into_windows, window_record
from biohub.templates.tasks import DatasetInfo, event_answer
from tests.templates.test_length import CharCounter

TYPES = ("Gene_expression", "Positive_regulation", "Binding")
INFO = DatasetInfo("toy", "kb", ("ner", "events"), ("Protein",), (), (), False, TYPES)


def long_record(sentences: int = 12) -> KBRecord:
    """Per sentence i: P{i} expression (Gene_expression) induced by F{i} (Positive_regulation of it); sentences 4 and 5
    hold one Binding whose two themes lie in different sentences."""
    texts = [f"Protein P{i} expression is induced by factor F{i} in cells." for i in range(sentences)]
    texts[4], texts[5] = "Binding of Q4 was seen.", "The partner was R5 in most assays."
    text = " ".join(texts)
    record = KBRecord(id="long", document_id="long", dataset="toy", split="train", language="en",
                      passages=[Passage("long.p", "abstract", [text], [(0, len(text))])])

    def span(word: str, start: int) -> list[tuple[int, int]]:
        at = text.index(word, start)
        return [(at, at + len(word))]

    def entity(word: str, start: int) -> str:
        record.entities.append(Entity(f"long.T{len(record.entities)}", "Protein", [word], span(word, start)))
        return record.entities[-1].id

    def event(kind: str, word: str, start: int, args: list[tuple[str, str]]) -> str:
        arguments = [EventArgument(role, ref) for role, ref in args]
        record.events.append(Event(f"long.E{len(record.events)}", kind, Trigger([word], span(word, start)), arguments))
        return record.events[-1].id

    for i in range(sentences):
        at = text.index(texts[i])
        if i in (4, 5):
            continue
        expression = event("Gene_expression", "expression", at, [("Theme", entity(f"P{i}", at))])
        event("Positive_regulation", "induced", at, [("Theme", expression), ("Cause", entity(f"F{i}", at))])
    four = text.index(texts[4])
    event("Binding", "Binding", four, [("Theme", entity("Q4", four)), ("Theme2", entity("R5", four))])
    assert validate(record) == []
    return record


def test_event_extents_cover_nested_events_and_arguments() -> None:
    record = long_record(6)
    doc = document_text(record)
    extents = event_extents(record)
    regulation = next(e for e in record.events if e.type == "Positive_regulation")
    start, end = extents[regulation.id]
    assert doc[start:end] == "P0 expression is induced by factor F0"  # the nested expression's Theme to the Cause


def test_units_keep_an_event_across_a_sentence_end_together_only_when_asked() -> None:
    record = long_record(7)
    doc = document_text(record)
    plain, whole = sentence_units(record), sentence_units(record, list(event_extents(record).values()))
    assert len(plain) == 7 and len(whole) == 6
    assert any(doc[s:e].strip() == "Binding of Q4 was seen. The partner was R5 in most assays." for s, e in whole)


def test_windows_hold_every_event_once_and_whole() -> None:
    record = long_record()
    windows = split_into_windows(record, lambda w: len(document_text(w)) <= 130, list(event_extents(record).values()))
    assert windows is not None and len(windows) > 3
    seen = []
    for window, (start, end) in windows:
        assert validate(window) == []
        for event in window.events:
            original = next(e for e in record.events if e.id == event.id)
            assert [(s + start, t + start) for s, t in event.trigger.offsets] == original.trigger.offsets
        seen.extend(e.id for e in window.events)
        rebuilt = window_record(record, start, end, 0)
        assert [e.id for e in rebuilt.events] == [e.id for e in window.events]
    assert sorted(seen) == sorted(e.id for e in record.events)
    binding = [w for w, _ in windows if any(e.type == "Binding" for e in w.events)]
    assert len(binding) == 1 and {"Q4", "R5"} <= {e.text[0] for e in binding[0].entities}


def test_a_long_event_document_is_windowed_apart_from_its_ner_examples() -> None:
    record = long_record()
    options = InstructOptions(seed=1, formats=("lines", "json"), decompose=True, max_length=1500)
    examples, stats, _ = build_split([record], INFO, options, CharCounter())  # one token per character
    assert window_group("events_single") == "events" and window_group("ner_single") == "ner"
    events = [e for e in examples if e.task == "events"]
    (ner,) = [e for e in examples if e.task == "ner"]  # the NER example fits: the document is not cut for it
    assert "window" not in json.loads(ner.meta) and len(events) > 1
    assert stats.windowed_records == {"events": 1, "events_single": 1} and stats.dropped_too_long == {}
    total = 0
    for example in events:
        spec, answer_format, _ = example.answer_spec()
        gold = json.loads(example.gold)["value"]
        assert parse(spec, example.messages[-1].content, answer_format, strict=True).value == gold
        total += len(gold)
        assert "window" in json.loads(example.meta)
    assert total == len(event_answer(record))  # every event in exactly one window
    singles = {e.id.split(":")[1] for e in examples if e.task == "events_single"}
    assert singles == {"events_single.Gene_expression", "events_single.Positive_regulation", "events_single.Binding"}
