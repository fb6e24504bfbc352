"""Agreement between distributions of the issue-20 corpora read by the BRAT and PubTator readers (real mirror).

BioRED: the PubTator reference and the BioC copy hold the same documents, passages, mentions (with their
normalisations) and concept relations with their novelty. AnEM: the BIO copy's mentions are the standoff mentions.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from biohub.converters.catalog import load_catalog
from biohub.converters.convert import ConversionResult, convert_entry
from biohub.schema import KBRecord
from tests.conftest import mirror_path

CATALOG = load_catalog()

pytestmark = [pytest.mark.real_corpora, pytest.mark.slow]


@cache
def converted(name: str, alternate: str | None = None) -> ConversionResult:
    return convert_entry(CATALOG[name], mirror_path(), alternate=alternate, progress=False)


def content(record: KBRecord) -> tuple[list[str], list[tuple], list[tuple]]:
    """What a document holds, without ids: passage texts, mentions and relations (with their novelty)."""
    infons = json.loads(record.meta).get("relation_infons", {})
    mentions = sorted(
        (e.type, tuple(e.offsets), tuple(e.text), tuple((n.db_name, n.db_id) for n in e.normalized)) for e in record.entities
    )
    relations = sorted(
        (r.type, tuple((n.db_name, n.db_id) for n in r.normalized), infons.get(r.id, {}).get("novel", ""))
        for r in record.relations
    )
    return [text for passage in record.passages for text in passage.text], mentions, relations


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_biored_pubtator_and_bioc_agree(mirror: Path, split: str) -> None:
    reference = {r.document_id: r for r in converted("biored").records[split] if isinstance(r, KBRecord)}
    bioc = {r.document_id: r for r in converted("biored", "bioc").records[split] if isinstance(r, KBRecord)}
    assert reference.keys() == bioc.keys()
    differing = [key for key in reference if content(reference[key]) != content(bioc[key])]
    assert not differing, f"{split}: documents that differ: {differing[:5]}"


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_an_em_bio_copy_has_the_standoff_mentions(mirror: Path, split: str) -> None:
    """Same number of mentions of each type; the BIO copy has no document boundaries, so types are compared in bulk."""
    standoff = Counter(e.type for r in converted("an_em").records[split] if isinstance(r, KBRecord) for e in r.entities)
    bio = Counter(e.type for r in converted("an_em", "bio").records[split] if isinstance(r, KBRecord) for e in r.entities)
    assert standoff == bio


def test_an_em_frag_joins_two_mentions_of_one_type_kept_apart() -> None:
    """A ``frag`` relation joins a modifier that lacks its head to a complete mention that has it ("ventral and dorsal
    striatum": ventral -> dorsal striatum); both are mentions of the official (BIO) evaluation, so they stay two
    entities joined by the relation, never one entity of two pieces (which would also read "ventral ... dorsal
    striatum")."""
    frags = []
    for split in ("train", "validation", "test"):
        for record in converted("an_em").records[split]:
            assert isinstance(record, KBRecord)
            entities = {e.id: e for e in record.entities}
            frags += [(entities[r.arg1_id], entities[r.arg2_id]) for r in record.relations if r.type == "frag"]
    assert len(frags) == 37  # SOURCE.md: R types frag 37
    for modifier, mention in frags:
        assert modifier.type == mention.type and len(modifier.offsets) == len(mention.offsets) == 1
        (start, end), (other_start, other_end) = modifier.offsets[0], mention.offsets[0]
        assert end <= other_start or other_end <= start, (modifier.text, mention.text)  # two mentions, apart
