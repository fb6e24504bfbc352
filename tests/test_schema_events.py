"""The event layer of the kb schema: modifications, nested events, relations between events, and the invariants
``validate`` checks on them (every reference resolves, nested events are acyclic, ids unique)."""

from __future__ import annotations

import pytest

from biohub.schema import (
    Coreference,
    Entity,
    Event,
    EventArgument,
    KBRecord,
    Modification,
    Passage,
    Relation,
    Trigger,
    features_for,
    from_row,
    nested_event_cycles,
    to_row,
    validate,
)

COMMON = {"id": "toy.train.d1", "document_id": "d1", "dataset": "toy", "split": "train", "language": "en"}
TEXT = "Zorbin induces tarnin expression."


def event(event_id: str, *arguments: tuple[str, str], trigger: tuple[str, int, int] = ("induces", 7, 14)) -> Event:
    word, start, end = trigger
    return Event(event_id, "Positive_regulation", Trigger([word], [(start, end)]), [EventArgument(r, x) for r, x in arguments])


def kb(**changes: object) -> KBRecord:
    fields: dict[str, object] = {
        "passages": [Passage("p0", "document", [TEXT], [(0, len(TEXT))])],
        "entities": [Entity("T1", "Protein", ["Zorbin"], [(0, 6)]), Entity("T2", "Protein", ["tarnin"], [(15, 21)])],
        "events": [
            Event("E1", "Gene_expression", Trigger(["expression"], [(22, 32)]), [EventArgument("Theme", "T2")]),
            event("E2", ("Theme", "E1"), ("Cause", "T1")),
        ],
        "modifications": [Modification("M1", "Speculation", "E2")],
        "coreferences": [Coreference("C1", ["T1", "T2"])],
        "relations": [Relation("R1", "Causes", "T1", "E1")],
    }
    fields.update(changes)
    return KBRecord(**COMMON, **fields)


def test_nested_events_modifications_and_relations_to_events_are_valid_and_round_trip() -> None:
    record = kb()
    assert validate(record) == []
    assert from_row("kb", to_row(record)) == record
    assert list(features_for("kb"))[-1] == "modifications"


def test_a_row_written_before_modifications_existed_still_reads() -> None:
    row = to_row(kb(modifications=[]))
    del row["modifications"]
    assert from_row("kb", row).modifications == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"modifications": [Modification("M1", "Negation", "E9")]}, "modification M1: E9 is not an event or entity"),
        ({"events": [event("E2", ("Theme", "E7"))]}, "event E2: argument E7 does not exist"),
        ({"coreferences": [Coreference("C1", ["T1", "T9"])]}, "coreference C1: entity T9 does not exist"),
        ({"relations": [Relation("R1", "Causes", "T1", "E9")]}, "argument E9 is not an entity of this record"),
        ({"events": [event("E1", ("Theme", "E2")), event("E2", ("Theme", "E1"))], "modifications": []}, "form a cycle"),
        ({"events": [event("E1", ("Theme", "E1"))], "modifications": [], "relations": []}, "event E1: nested events form"),
        ({"modifications": [Modification("T1", "Negation", "E2")]}, "duplicate id T1"),
        ({"events": [event("E2", trigger=("induced", 7, 14))]}, "!= document text"),
        ({"events": [event("E2", trigger=("x", 40, 41))]}, "out of range"),
    ],
)
def test_each_event_invariant_fails_when_broken(changes: dict[str, object], problem: str) -> None:
    problems = validate(kb(**changes))
    assert any(problem in p for p in problems), problems


def test_unlabelled_records_keep_given_entities_but_no_gold_annotations() -> None:
    given = kb(events=[], modifications=[], coreferences=[], relations=[], labeled=False)
    assert validate(given) == []
    assert "unlabeled record carries annotations" in validate(kb(labeled=False))


def test_cycles_are_found_in_long_chains_without_recursion() -> None:
    chain = [event(f"E{i}", ("Theme", f"E{i + 1}")) for i in range(5000)] + [event("E5000", ("Theme", "E0"))]
    assert nested_event_cycles(chain) == ["E0"]
    assert nested_event_cycles(chain[:-1]) == []
