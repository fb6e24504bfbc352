"""PPI learning-format XML reader: exact records from tiny invented corpora, implicit negatives made explicit, and
each bad-input case named by file and reason (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.ppi_xml import PpiXmlOptions, PpiXmlReader
from biohub.errors import ConfigError
from biohub.schema import KBRecord, LabelSet, Normalization, document_text, validate
from tests.converters.conftest import read_items, write_text

LABELS = LabelSet(entity_types=("protein",), relation_types=("PPI",))

S0 = "Zorblin binds Quaxin and Plimase."
S1 = "No Brevin here."
CORPUS = f"""<?xml version="1.0" encoding="UTF-8"?>
<corpus source="Toy">
  <document id="Toy.d0" origId="123">
    <sentence id="Toy.d0.s0" charOffset="0-33" text="{S0}">
      <entity id="Toy.d0.s0.e0" charOffset="0-7" text="Zorblin" type="protein"/>
      <entity id="Toy.d0.s0.e1" charOffset="14-20" text="Quaxin" type="protein"/>
      <entity id="Toy.d0.s0.e2" charOffset="25-32" text="Plimase" type="protein"/>
      <interaction id="Toy.d0.s0.i0" e1="Toy.d0.s0.e0" e2="Toy.d0.s0.e1" type="PPI"/>
    </sentence>
    <sentence id="Toy.d0.s1" charOffset="34-49" text="{S1}">
      <entity id="Toy.d0.s1.e0" charOffset="3-9" text="Brevin" type="protein"/>
    </sentence>
  </document>
</corpus>
"""


def read(folder: Path, text: str, **options) -> list:
    return read_items(PpiXmlReader(PpiXmlOptions(**options)), write_text(folder, "toy.xml", text), labels=LABELS)


def one_sentence(inner: str, text: str = S0, doc_id: str = "Toy.d1") -> str:
    sentence = f'<sentence id="{doc_id}.s0" text="{text}">{inner}</sentence>'
    return f'<corpus source="Toy"><document id="{doc_id}">{sentence}</document></corpus>'


ZORBLIN = '<entity id="Toy.d1.s0.e0" charOffset="0-7" text="Zorblin" type="protein"/>'
QUAXIN = '<entity id="Toy.d1.s0.e1" charOffset="14-20" text="Quaxin" type="protein"/>'


def problems(items: list, kind: type) -> list[tuple[str, str]]:
    return [(item.locator, item.reason) for item in items if isinstance(item, kind)]


def test_document_becomes_one_record_with_interactions_and_explicit_negatives(tmp_path: Path) -> None:
    (record,) = read(tmp_path, CORPUS)
    assert isinstance(record, KBRecord)
    assert record.id == "toy.train.Toy.d0" and record.document_id == "Toy.d0"
    assert document_text(record) == f"{S0} {S1}"
    assert [(p.type, p.offsets) for p in record.passages] == [("sentence", [(0, 33)]), ("sentence", [(34, 49)])]
    rid = "toy.train.Toy.d0"
    assert [(e.id, e.text, e.offsets) for e in record.entities] == [
        (f"{rid}.e0", ["Zorblin"], [(0, 7)]),
        (f"{rid}.e1", ["Quaxin"], [(14, 20)]),
        (f"{rid}.e2", ["Plimase"], [(25, 32)]),
        (f"{rid}.e3", ["Brevin"], [(37, 43)]),
    ]
    assert [(r.type, r.arg1_id, r.arg2_id) for r in record.relations] == [("PPI", f"{rid}.e0", f"{rid}.e1")]
    meta = json.loads(record.meta)
    # the two other pairs of sentence 0 are negatives; Brevin is alone in its sentence, so it pairs with nothing
    assert meta["negative_pairs"] == [[f"{rid}.e0", f"{rid}.e2"], [f"{rid}.e1", f"{rid}.e2"]]
    assert meta["pairs"] == {"positive": 1, "negative": 2}
    assert meta["orig_id"] == "123" and meta["source"] == {"path": "toy.xml", "record": "Toy.d0"}
    assert meta["source_entity_ids"] == ["Toy.d0.s0.e0", "Toy.d0.s0.e1", "Toy.d0.s0.e2", "Toy.d0.s1.e0"]
    assert "source_entity_types" not in meta
    assert validate(record, LABELS) == []


def test_end_exclusive_discontinuous_mention_keeps_one_piece_per_span(tmp_path: Path) -> None:
    entity = '<entity id="Toy.d1.s0.e0" charOffset="0-7,25-32" text="Zorblin Plimase" type="protein"/>'
    (record,) = read(tmp_path, one_sentence(entity))
    assert [(e.text, e.offsets) for e in record.entities] == [(["Zorblin", "Plimase"], [(0, 7), (25, 32)])]
    assert validate(record, LABELS) == []


def test_identifier_types_become_normalisations(tmp_path: Path) -> None:
    entity = '<entity id="Toy.d1.s0.e0" charOffset="0-7" text="Zorblin" type="pm0000001||pm0000002"/>'
    (record,) = read(tmp_path, one_sentence(entity), entity_type="protein", type_as_normalization="HPRD")
    (mention,) = record.entities
    assert mention.type == "protein"
    assert mention.normalized == [Normalization("HPRD", "pm0000001"), Normalization("HPRD", "pm0000002")]
    assert json.loads(record.meta)["source_entity_types"] == ["pm0000001||pm0000002"]


def test_role_types_are_kept_in_meta_and_missing_types_take_the_option(tmp_path: Path) -> None:
    entity = '<entity id="Toy.d1.s0.e0" charOffset="0-7" text="Zorblin" type="agent"/>'
    (record,) = read(tmp_path, one_sentence(entity), entity_type="protein")
    assert record.entities[0].type == "protein" and json.loads(record.meta)["source_entity_types"] == ["agent"]
    untyped = '<entity id="Toy.d1.s0.e0" charOffset="0-7" text="Zorblin"/>'
    (record,) = read(tmp_path, one_sentence(untyped), missing_type="protein")
    assert record.entities[0].type == "protein"
    defect, record = read(tmp_path, one_sentence(untyped))
    assert (defect.reason, defect.annotation, record.entities) == ("entity missing attribute", "entities", [])


def test_type_as_normalization_needs_an_entity_type() -> None:
    with pytest.raises(ConfigError, match="type_as_normalization needs entity_type"):
        PpiXmlReader.from_mapping({"type_as_normalization": "HPRD"})


@pytest.mark.parametrize(
    ("offsets", "reason"),
    [
        ("0-70", "mention offsets out of range"),
        ("0-5,3-7", "bad charOffset"),
        ("7-0", "bad charOffset"),
        ("zero-7", "bad charOffset"),
        ("1-8", "mention text disagrees with its offsets"),
    ],
)
def test_bad_offsets_drop_the_mention_and_its_interactions(tmp_path: Path, offsets: str, reason: str) -> None:
    bad = f'<entity id="Toy.d1.s0.e0" charOffset="{offsets}" text="Zorblin" type="protein"/>'
    pair = '<interaction id="Toy.d1.s0.i0" e1="Toy.d1.s0.e0" e2="Toy.d1.s0.e1" type="PPI"/>'
    items = read(tmp_path, one_sentence(bad + QUAXIN + pair))
    assert problems(items, Defect) == [("Toy.d1.s0.e0", reason), ("Toy.d1.s0.i0", "pair argument missing")]
    (record,) = [item for item in items if isinstance(item, KBRecord)]
    assert [e.text for e in record.entities] == [["Quaxin"]] and record.relations == []
    assert json.loads(record.meta)["dropped_annotations"] == {"entities": 1, "relations": 1}


def test_dangling_repeated_and_untyped_interactions_are_dropped(tmp_path: Path) -> None:
    pairs = (
        '<interaction id="i0" e1="Toy.d1.s0.e0" e2="Toy.d1.s0.e1" type="PPI"/>'
        '<interaction id="i1" e1="Toy.d1.s0.e1" e2="Toy.d1.s0.e0" type="PPI"/>'
        '<interaction id="i2" e1="Toy.d1.s0.e0" e2="Toy.d1.s0.e9" type="PPI"/>'
        '<interaction id="i3" e1="Toy.d1.s0.e0" e2="Toy.d1.s0.e1"/>'
    )
    items = read(tmp_path, one_sentence(ZORBLIN + QUAXIN + pairs))
    assert problems(items, Defect) == [
        ("i1", "duplicate relation"),
        ("i2", "pair argument missing"),
        ("i3", "relation without type"),
    ]
    (record,) = [item for item in items if isinstance(item, KBRecord)]
    assert len(record.relations) == 1 and json.loads(record.meta)["negative_pairs"] == []


def test_repeated_entity_id_drops_the_second(tmp_path: Path) -> None:
    again = '<entity id="Toy.d1.s0.e0" charOffset="14-20" text="Quaxin" type="protein"/>'
    items = read(tmp_path, one_sentence(ZORBLIN + again))
    assert problems(items, Defect) == [("Toy.d1.s0.e0", "duplicate annotation id")]


def test_documents_that_cannot_be_converted_are_rejected_with_their_reason(tmp_path: Path) -> None:
    text = (
        '<corpus source="Toy"><document id="Toy.d2"/>'
        '<document id="Toy.d3"><sentence id="Toy.d3.s0"/></document>'
        f'<document id="Toy.d1"><sentence id="Toy.d1.s0" text="{S0}"/></document>'
        f'<document id="Toy.d1"><sentence id="Toy.d1.s0" text="{S0}"/></document>'
        f'<document><sentence id="x" text="{S0}"/></document></corpus>'
    )
    items = read(tmp_path, text)
    assert problems(items, Rejection) == [
        ("Toy.d2", "no sentences"),
        ("Toy.d3", "missing attribute"),
        ("Toy.d1", "duplicate id"),
        ("toy.d4", "missing attribute"),
    ]
    assert [item.document_id for item in items if isinstance(item, KBRecord)] == ["Toy.d1"]


def test_malformed_xml_names_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match=r"toy\.xml:2: invalid XML"):
        read(tmp_path, '<corpus source="Toy">\n<document id="d0"><sentence text="x"></document></corpus>')


def test_entity_expansion_bomb_is_refused(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE corpus [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        '<corpus source="Toy"><document id="d0"><sentence id="d0.s0" text="&b;"/></document></corpus>'
    )
    with pytest.raises(ConvertError, match="entity declarations are not allowed"):
        read(tmp_path, bomb)


def test_a_root_other_than_corpus_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="expected <corpus>"):
        read(tmp_path, '<document id="d0"/>')


# implicit negatives of the five catalogued PPI corpora (train, test): every unordered pair of two entities of a
# sentence that is not an interaction, as the catalog notes state them
NEGATIVES = {"aimed": (3880, 904), "bioinfer": (5934, 1198), "hprd50": (226, 44), "iepa": (402, 80), "lll": (135, 31)}


@pytest.mark.real_corpora
@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_real_corpora_negative_pairs_are_every_other_pair_of_a_sentence(mirror: Path, name: str) -> None:
    from biohub.converters.catalog import load_catalog
    from biohub.converters.convert import convert_entry

    result = convert_entry(load_catalog()[name], mirror, progress=False)
    for split, expected in zip(("train", "test"), NEGATIVES[name]):
        metas = [json.loads(record.meta) for record in result.records[split]]
        assert sum(meta["pairs"]["negative"] for meta in metas) == expected
        assert sum(len(meta["negative_pairs"]) for meta in metas) == expected
        assert sum(meta["pairs"]["positive"] for meta in metas) == result.ledger[split].counts["relations"]
