"""Inline-tag XML reader: spans recovered from mixed content, tags and normalisations set by options, and each bad
input a defect or rejection with its reason (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.inline_xml import InlineXmlOptions, InlineXmlReader
from biohub.schema import KBRecord, LabelSet, Normalization, document_text, validate
from tests.converters.conftest import read_items, write_text

LABELS = LabelSet(entity_types=("gene", "variant"))


def read(folder: Path, text: str, **options) -> list:
    return read_items(InlineXmlReader(InlineXmlOptions(**options)), write_text(folder, "toy.xml", text), labels=LABELS)


def article(title: str, abstract: str = "Nothing.", pmid: str = "1") -> str:
    return f"<Articles><Article><Pmid>{pmid}</Pmid><Title>{title}</Title><Abstract>{abstract}</Abstract></Article></Articles>"


def problems(items: list, kind: type) -> list[tuple[str, str]]:
    return [(item.locator, item.reason) for item in items if isinstance(item, kind)]


def test_inline_mentions_become_entities_at_the_positions_of_their_text(tmp_path: Path) -> None:
    title = 'The <gene g_id="7" g_lex="ZRB">ZRB</gene> gene.'
    abstract = 'We saw <variant v_id="No" v_lex="C1T" v_norm="C1T">C1T</variant> in <gene g_id="No">QUX</gene>.'
    (record,) = read(tmp_path, article(title, abstract))
    assert isinstance(record, KBRecord) and record.id == "toy.train.1"
    assert document_text(record) == "The ZRB gene. We saw C1T in QUX."
    assert [(p.type, p.offsets) for p in record.passages] == [("title", [(0, 13)]), ("abstract", [(14, 32)])]
    assert [(e.type, e.text, e.offsets, e.normalized) for e in record.entities] == [
        ("gene", ["ZRB"], [(4, 7)], [Normalization("NCBIGene", "7")]),
        ("variant", ["C1T"], [(21, 24)], [Normalization("HGVS-like", "C1T")]),
        ("gene", ["QUX"], [(28, 31)], []),
    ]
    meta = json.loads(record.meta)
    assert meta["entity_attributes"][0] == {"g_id": "7", "g_lex": "ZRB"}
    assert validate(record, LABELS) == []


def test_nested_and_padded_mentions(tmp_path: Path) -> None:
    title = '<gene g_id="No"><variant v_norm="No">V1 </variant> protein</gene> done'
    items = read(tmp_path, article(title))
    assert problems(items, Defect) == [("1 <variant> at 0", "mention text padded with whitespace (trimmed)")]
    (record,) = [item for item in items if isinstance(item, KBRecord)]
    entities = [(e.type, e.text, e.offsets) for e in record.entities]
    assert entities == [("gene", ["V1  protein"], [(0, 11)]), ("variant", ["V1"], [(0, 2)])]
    assert validate(record, LABELS) == []


def test_tag_mapping_and_normalisations_are_options(tmp_path: Path) -> None:
    text = '<docs><doc><id>d9</id><body>A <chem mesh="D1">salt</chem> and <b>bold</b>.</body></doc></docs>'
    options = {
        "record_element": "doc",
        "id_element": "id",
        "passages": {"body": "text"},
        "entity_tags": {"chem": "gene"},
        "normalizations": {"mesh": "MESH"},
    }
    items = read(tmp_path, text, **options)
    assert problems(items, Defect) == [("d9 <b> at 11", "unknown tag")]
    (record,) = [item for item in items if isinstance(item, KBRecord)]
    assert record.passages[0].text == ["A salt and bold."]
    assert [(e.text, e.normalized) for e in record.entities] == [(["salt"], [Normalization("MESH", "D1")])]


def test_empty_mention_is_dropped(tmp_path: Path) -> None:
    items = read(tmp_path, article('A <gene g_id="1"> </gene> gap'))
    assert problems(items, Defect) == [("1 <gene> at 2", "malformed mention")]
    (record,) = [item for item in items if isinstance(item, KBRecord)]
    assert record.entities == [] and json.loads(record.meta)["dropped_annotations"] == {"entities": 1}


def test_records_that_cannot_be_converted_are_rejected(tmp_path: Path) -> None:
    deep = "<gene>" * 40 + "x" + "</gene>" * 40
    text = (
        "<Articles><Article><Title>No id</Title></Article>"
        "<Article><Pmid>5</Pmid><Title>One</Title></Article>"
        "<Article><Pmid>5</Pmid><Title>Again</Title></Article>"
        "<Article><Pmid>6</Pmid></Article>"
        f"<Article><Pmid>7</Pmid><Title>{deep}</Title></Article></Articles>"
    )
    items = read(tmp_path, text)
    assert problems(items, Rejection) == [
        ("Article 1", "missing document id"),
        ("Article 3", "duplicate id"),
        ("Article 4", "document without text"),
        ("Article 5", "invalid record"),
    ]
    assert [item.document_id for item in items if isinstance(item, KBRecord)] == ["5"]


def test_malformed_xml_and_entity_bombs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match=r"toy\.xml:1: invalid XML"):
        read(tmp_path, "<Articles><Article><Pmid>1</Pmid><Title><gene>x</Title></Article></Articles>")
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE Articles [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n' + article("&b;")
    with pytest.raises(ConvertError, match="entity declarations are not allowed"):
        read(tmp_path, bomb)
