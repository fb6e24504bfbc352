"""Agreement between the distributions of one corpus in the mirror (reference vs alternates).

NCBI-disease: the PubTator reference, the BRAT test copy and the CoNLL copy hold the same mentions.
BC5CDR: the PubTator reference and the BioC copy hold the same documents, passages and CID relations, and the
BioC mentions are the PubTator mentions plus one annotation per individual part of a composite mention.
JNLPBA: how BioBERT's untyped test copy differs from the original typed test file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from biohub.converters.catalog import load_catalog
from biohub.converters.convert import ConversionResult, convert_entry
from biohub.schema import Entity, KBRecord
from tests.conftest import mirror_path

CATALOG = load_catalog()

pytestmark = pytest.mark.real_corpora


@cache
def converted(name: str, alternate: str | None = None) -> ConversionResult:
    return convert_entry(CATALOG[name], mirror_path(), alternate=alternate, progress=False)


def norms(entity: Entity) -> tuple[tuple[str, str], ...]:
    return tuple((n.db_name, n.db_id) for n in entity.normalized)


def records(name: str, split: str, alternate: str | None = None) -> dict[str, KBRecord]:
    return {r.document_id: r for r in converted(name, alternate).records[split]}  # type: ignore[misc]


# --------------------------------------------------------------------------------------------- NCBI disease
def test_ncbi_pubtator_and_brat_hold_identical_test_mentions(mirror: Path) -> None:
    def mentions(alternate: str | None) -> set[tuple]:
        return {
            (r.document_id, e.offsets[0][0], e.offsets[0][1], e.type, e.text[0], norms(e))
            for r in converted("ncbi_disease", alternate).records["test"]
            for e in r.entities
        }

    pubtator, brat = mentions(None), mentions("brat")
    assert len(pubtator) == len(brat) == 960
    assert pubtator == brat  # offsets, types, texts and normalisations (MeSH renamed to MESH) all equal


def _squeezed(text: str) -> tuple[str, list[int]]:
    """``text`` without whitespace, and for each position of ``text`` the index it maps to in the result."""
    index, position = [], 0
    for char in text + " ":
        index.append(position)
        position += not char.isspace()
    return re.sub(r"\s", "", text), index


def _stream_mentions(recs: list[KBRecord]) -> tuple[str, Counter[tuple[int, int, str]]]:
    """All records' texts concatenated without whitespace, and their mentions as spans in that stream."""
    stream, mentions = [], Counter()
    base = 0
    for record in recs:
        text = " ".join(p.text[0] for p in record.passages)
        squeezed, index = _squeezed(text)
        for entity in record.entities:
            (start, end), piece = entity.offsets[0], entity.text[0]
            mentions[(base + index[start], base + index[end], re.sub(r"\s", "", piece))] += 1
        stream.append(squeezed)
        base += len(squeezed)
    return "".join(stream), mentions


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_ncbi_conll_has_the_pubtator_mentions_at_the_same_places(mirror: Path, split: str) -> None:
    """CoNLL retokenises and has no document boundaries, but its sentences follow the documents sorted by PMID:
    without whitespace the two texts are one identical character stream, and the mentions are the same spans
    of it. The CoNLL train copy repeats the duplicated document 8528200 (rejected from the reference)."""
    documents = sorted(records("ncbi_disease", split).values(), key=lambda r: r.document_id)
    if split == "train":
        at = next(i for i, r in enumerate(documents) if r.document_id == "8528200")
        documents.insert(at + 1, documents[at])
    reference_stream, reference = _stream_mentions(documents)
    conll_stream, conll = _stream_mentions(converted("ncbi_disease", "conll").records[split])  # type: ignore[arg-type]
    assert conll_stream == reference_stream
    # Two PubTator train mentions end one character short of their last word (upstream: "autosomal dominant
    # disorde", "absence of the seventh component of complemen"); CoNLL's token-level tags extend them to the word.
    missing, extra = sorted(reference - conll), sorted(conll - reference)
    short = {"train": ["autosomaldominantdisorde", "absenceoftheseventhcomponentofcomplemen"]}.get(split, [])
    assert sorted(text for *_, text in missing) == sorted(short)
    assert [(start, end + 1) for start, end, _ in missing] == [(start, end) for start, end, _ in extra]
    assert all(full[:-1] == cut for (*_, cut), (*_, full) in zip(missing, extra))
    assert sum(conll.values()) == {"train": 5145, "validation": 787, "test": 960}[split]
    assert {e.type for r in converted("ncbi_disease", "conll").records[split] for e in r.entities} == {"Disease"}


# --------------------------------------------------------------------------------------------- BC5CDR
INDIVIDUAL = "IndividualMention"
# BioC IndividualMention annotations dropped as defects (locations shifted upstream), per split.
SHIFTED = {
    "train": {("20722491", "colorectal cancers"), ("11587867", "opistothonus dysfunction"), ("15863244", "midline (MD) defects")},
    "validation": {("6415512", "atypical absence seizures")},
    "test": set(),
}
# Individual mentions whose BioC MeSH id is not the id at the same position of PubTator's composite id list.
OTHER_ID = {
    "train": {},
    "validation": {},
    "test": {
        ("24100055", "end-stage liver disease"): ("D058625", "D017114"),
        ("7477981", "mid-dose dyskinesias"): ("D004409", "D002819"),
    },
}


def _mention(entity: Entity) -> tuple:
    return (tuple(entity.offsets), tuple(entity.text), entity.type, norms(entity))


def _roles(record: KBRecord) -> dict[str, str]:
    infons = json.loads(record.meta).get("annotation_infons", {})
    return {entity_id: values.get("CompositeRole", "") for entity_id, values in infons.items()}


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_bc5cdr_pubtator_and_bioc_agree(mirror: Path, split: str) -> None:
    pubtator, bioc = records("bc5cdr", split), records("bc5cdr", split, "bioc")
    assert pubtator.keys() == bioc.keys() and len(pubtator) == 500
    for pmid, record in pubtator.items():
        other = bioc[pmid]
        assert [(p.type, p.text, p.offsets) for p in record.passages] == [(p.type, p.text, p.offsets) for p in other.passages]

        # Relations: the same CID concept pairs, anchored on the same mentions.
        def relations(r: KBRecord) -> set[tuple]:
            spans = {e.id: tuple(e.offsets) for e in r.entities}
            return {
                (x.type, tuple((n.db_name, n.db_id) for n in x.normalized), spans[x.arg1_id], spans[x.arg2_id])
                for x in r.relations
            }

        assert relations(record) == relations(other), pmid

        # Mentions: BioC without its IndividualMention annotations == PubTator, exactly.
        roles = _roles(other)
        plain = Counter(_mention(e) for e in other.entities if roles.get(e.id) != INDIVIDUAL)
        assert plain == Counter(_mention(e) for e in record.entities), pmid

    # Individual mentions: PubTator lists their texts (7th column), BioC annotates them (with locations).
    listed: Counter[tuple[str, str]] = Counter()
    listed_ids: dict[tuple[str, str], str] = {}
    composites = 0
    for pmid, record in pubtator.items():
        meta = json.loads(record.meta)
        for entity_id, parts in meta.get("individual_mentions", {}).items():
            composites += 1
            ids = meta["concept_ids"][entity_id].split("|")
            assert len(ids) == len(parts)
            for text, concept in zip(parts, ids):
                listed[(pmid, text)] += 1
                listed_ids[(pmid, text)] = concept
    annotated: Counter[tuple[str, str]] = Counter()
    other_id = {}
    for pmid, record in bioc.items():
        roles = _roles(record)
        for entity in record.entities:
            if roles.get(entity.id) == INDIVIDUAL:
                annotated[(pmid, " ".join(entity.text))] += 1
                concept = entity.normalized[0].db_id if entity.normalized else "-1"
                if concept != listed_ids[(pmid, " ".join(entity.text))]:
                    other_id[(pmid, " ".join(entity.text))] = (listed_ids[(pmid, " ".join(entity.text))], concept)
    assert composites == {"train": 89, "validation": 89, "test": 57}[split]
    assert sum(listed.values()) == {"train": 185, "validation": 182, "test": 119}[split]
    assert listed - annotated == Counter(SHIFTED[split]) and not annotated - listed
    assert other_id == OTHER_ID[split]
    # Hence the SOURCE.md annotation counts: BioC = PubTator mentions + individual mentions.
    pubtator_mentions = sum(len(r.entities) for r in pubtator.values())
    bioc_mentions = sum(len(r.entities) for r in bioc.values())
    assert pubtator_mentions + sum(listed.values()) == {"train": 9570, "validation": 9773, "test": 9928}[split]
    assert bioc_mentions + len(SHIFTED[split]) == pubtator_mentions + sum(listed.values())


# --------------------------------------------------------------------------------------------- JNLPBA
def test_jnlpba_biobert_test_is_the_typed_test_without_cell_types(mirror: Path) -> None:
    """Same 3856 sentences in the same order; BioBERT keeps only protein/DNA/RNA mentions (untyped),
    retokenised and with tokens cut to 20 characters, which moves 4 mentions."""
    biobert = converted("jnlpba").records["test"]
    typed = converted("jnlpba", "typed_test").records["test"]
    assert len(biobert) == len(typed) == 3856
    same_characters = 0
    kept: Counter[str] = Counter()
    only_biobert = only_typed = 0
    for ours, theirs in zip(biobert, typed):
        a_text, a_index = _squeezed(ours.passages[0].text[0])
        b_text, b_index = _squeezed(theirs.passages[0].text[0])
        same_characters += a_text == b_text
        a = {(a_index[e.offsets[0][0]], a_index[e.offsets[0][1]]) for e in ours.entities}
        b = {(b_index[e.offsets[0][0]], b_index[e.offsets[0][1]]): e.type for e in theirs.entities}
        kept.update(b[span] for span in a if span in b)
        only_biobert += len(a - set(b))
        only_typed += sum(1 for span, label in b.items() if span not in a and label in ("protein", "DNA", "RNA"))
    assert same_characters == 3856 - 21
    assert kept == Counter({"protein": 5064, "DNA": 1055, "RNA": 118})
    assert only_biobert == only_typed == 4
    tokens = [sum(len(json.loads(r.meta)["tokens"]) for r in recs) for recs in (biobert, typed)]
    assert tokens == [114709, 101039]
