"""GENIA event XML reader: terms and nested events from tiny invented abstracts, composite arguments, and each bad
input a defect (cascading to the events that depend on it) or a rejection with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, ReadContext, Rejection
from biohub.converters.formats.genia_event_xml import GeniaEventXmlOptions, GeniaEventXmlReader
from biohub.schema import KBRecord, document_text, validate
from tests.converters.conftest import read_items, write_text

TITLE = (
    '<term sem="Protein_molecule" id="T1">Zorblin</term> activates <term sem="DNA_domain_or_region" id="T2">QUX gene</term>'
    " expression."
)
EVENTS = """
<event id="E1"><type class="Gene_expression"/><theme idref="T2"/>
<clue>Zorblin activates QUX gene <clueType>expression</clueType>.</clue></event>
<event id="E2" assertion="non-exist"><type class="Positive_regulation"/><theme idref="E1"/><cause idref="T1"/>
<clue><corefCause idref1="T1">Zorblin</corefCause> <clueType>activates</clueType> \
<linkTheme>QUX gene expression</linkTheme>.</clue>
<comment>toy</comment></event>
"""


def abstract(title: str = TITLE, events: str = EVENTS, more: str = "", pmid: str = "77") -> str:
    return (
        f"<Annotation><PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>{pmid}</PMID><Article>"
        f'<ArticleTitle><sentence id="S1">{title}</sentence>{events}</ArticleTitle>'
        f"<Abstract><AbstractText>{more}</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>"
        "</PubmedArticleSet></Annotation>"
    )


def read(folder: Path, *texts: str) -> list:
    for number, text in enumerate(texts):
        write_text(folder, f"{number:03d}.xml", text)
    return read_items(GeniaEventXmlReader(GeniaEventXmlOptions()), folder)


def problems(items: list, kind: type) -> list[tuple[str, str]]:
    return [(item.locator, item.reason) for item in items if isinstance(item, kind)]


def record_of(items: list) -> KBRecord:
    (record,) = [item for item in items if isinstance(item, KBRecord)]
    return record


def test_abstract_becomes_a_record_with_terms_and_nested_events(tmp_path: Path) -> None:
    more = '<sentence id="S2">No <term sem="Other" id="T3">apoptosis</term> here.</sentence>'
    record = record_of(read(tmp_path, abstract(more=more)))
    rid = "toy.train.77"
    assert record.id == rid and document_text(record) == "Zorblin activates QUX gene expression. No apoptosis here."
    assert [(e.type, e.text, e.offsets) for e in record.entities] == [
        ("Protein_molecule", ["Zorblin"], [(0, 7)]),
        ("DNA_domain_or_region", ["QUX gene"], [(18, 26)]),
        ("Other", ["apoptosis"], [(42, 51)]),
    ]
    (e1, e2) = record.events
    assert (e1.type, e1.trigger.text, e1.trigger.offsets) == ("Gene_expression", ["expression"], [(27, 37)])
    assert [(a.role, a.ref_id) for a in e1.arguments] == [("Theme", f"{rid}.e1")]
    assert [(a.role, a.ref_id) for a in e2.arguments] == [("Theme", f"{rid}.v0"), ("Cause", f"{rid}.e0")]
    assert [(m.id, m.type, m.ref_id) for m in record.modifications] == [(f"{rid}.m0", "Negation", e2.id)]
    meta = json.loads(record.meta)
    assert meta["event_attributes"] == {} and meta["event_comments"] == {"E2": "toy"}
    assert meta["event_clues"] == {"E2": [["corefCause", 0, 7, {"idref1": "T1"}], ["linkTheme", 18, 37]]}
    assert meta["source_entity_ids"] == ["T1", "T2", "T3"] and meta["source_event_ids"] == ["E1", "E2"]
    assert validate(record) == []


def test_composite_argument_becomes_one_discontinuous_entity(tmp_path: Path) -> None:
    title = (
        '<cons sem="(AND Cell_natural Cell_natural)" id="T4"><frag id="F1">toy</frag> and <frag id="F2">model</frag> '
        '<frag id="F3">cells</frag></cons> bind'
    )
    events = (
        '<event id="E1"><type class="Binding"/><theme idref="F1" idref1="F3"/>'
        "<clue>toy and model cells <clueType>bind</clueType></clue></event>"
    )
    record = record_of(read(tmp_path, abstract(title, events)))
    (entity,) = record.entities
    assert (entity.type, entity.text, entity.offsets) == ("Cell_natural", ["toy", "cells"], [(0, 3), (14, 19)])
    assert record.events[0].arguments[0].ref_id == entity.id and validate(record) == []


def test_bad_terms_and_events_are_dropped_and_dependants_with_them(tmp_path: Path) -> None:
    title = TITLE.replace('sem="Protein_molecule" ', "")  # T1 loses its sem
    marked = "<clue><clueType>Zorblin</clueType> activates QUX gene expression.</clue></event>"
    events = EVENTS + (
        f'<event id="E3"><type/><theme idref="T2"/>{marked}'
        '<event id="E4"><type class="Binding"/><theme idref="T2"/><clue>Zorblin activates QUX gene expression.</clue></event>'
        f'<event id="E5"><type class="Binding"/><theme idref="E6"/>{marked}'
        f'<event id="E6"><type class="Binding"/><theme idref="E5"/>{marked}'
        '<event id="E7"><type class="Binding"/><theme idref="T2"/><clue>Another text <clueType>entirely</clueType></clue></event>'
    )
    items = read(tmp_path, abstract(title, events))
    assert problems(items, Defect) == [
        ("T1", "entity missing attribute"),
        ("E3", "event without type"),
        ("E4", "event without trigger"),
        ("E7", "mention text disagrees with its offsets"),
        ("E5", "nested events form a cycle"),
        ("E6", "nested events form a cycle"),
        ("E2", "event argument missing"),  # its cause T1 was dropped
        ("E2", "annotation refers to a missing annotation"),  # and its Negation with it
    ]
    record = record_of(items)
    assert [e.type for e in record.events] == ["Gene_expression"] and validate(record) == []
    assert record.modifications == []  # E2's Negation went with E2
    assert json.loads(record.meta)["dropped_annotations"] == {"entities": 1, "events": 6, "modifications": 1}


def test_assertion_and_uncertainty_become_modifications_and_are_accounted_for(tmp_path: Path) -> None:
    marked = "<clue>Zorblin <clueType>activates</clueType> QUX gene expression.</clue></event>"
    events = (
        f'<event id="E1" assertion="exist" uncertainty="certain"><type class="Binding"/><theme idref="T2"/>{marked}'
        f'<event id="E2" assertion="non-exist" uncertainty="doubtful" note="x"><type class="Binding"/><theme idref="T1"/>{marked}'
        f'<event id="E3" uncertainty="probable"><type class="Binding"/><theme idref="T9"/>{marked}'
        f'<event id="E4" uncertainty="maybe"><type class="Binding"/><theme idref="T2"/>{marked}'
    )
    write_text(tmp_path, "000.xml", abstract(events=events))
    ctx = ReadContext("toy", "train", "en")
    items = list(GeniaEventXmlReader(GeniaEventXmlOptions()).read([tmp_path], ctx))
    assert [(d.locator, d.reason, d.annotation) for d in items if isinstance(d, Defect)] == [
        ("E4", "bad value", "modifications"),  # not a value the option lists
        ("E3", "event argument missing", "events"),  # T9 is nothing
        ("E3", "annotation refers to a missing annotation", "modifications"),  # its Speculation goes with it
    ]
    record = record_of(items)
    ids = {event.id: source for event, source in zip(record.events, json.loads(record.meta)["source_event_ids"])}
    assert [(m.type, ids[m.ref_id]) for m in record.modifications] == [("Negation", "E2"), ("Speculation", "E2")]
    assert json.loads(record.meta)["event_attributes"] == {"E2": {"note": "x"}}  # not a modification attribute: meta
    assert ctx.annotations_read["train"]["modifications"] == 4 and validate(record) == []  # E1's defaults make none
    options = GeniaEventXmlOptions(modifications={"uncertainty": {"certain": "", "probable": "Probable", "doubtful": "Doubtful"}})
    record = record_of(read_items(GeniaEventXmlReader(options), tmp_path))
    assert [m.type for m in record.modifications] == ["Doubtful"]  # assertion is not listed: kept in meta
    assert json.loads(record.meta)["event_attributes"]["E2"] == {"assertion": "non-exist", "note": "x"}


def test_files_that_cannot_be_converted_are_rejected(tmp_path: Path) -> None:
    empty = "<Annotation><PMID>78</PMID></Annotation>"
    deep = abstract(title="<term sem='Other' id='T9'>" * 40 + "x" + "</term>" * 40, events="", pmid="79")
    items = read(tmp_path, abstract(), abstract(), empty, deep)
    assert problems(items, Rejection) == [("001", "duplicate id"), ("002", "no sentences"), ("003", "invalid record")]


def test_malformed_xml_and_entity_bombs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match=r"000\.xml:7: invalid XML"):
        read(tmp_path / "a", abstract().replace("</ArticleTitle>", ""))
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE Annotation [<!ENTITY a "aa"><!ENTITY b "&a;&a;&a;">]>\n' + abstract(title="&b;")
    with pytest.raises(ConvertError, match="entity declarations are not allowed"):
        read(tmp_path / "b", bomb)
