"""Tiny invented records of the normalisation, coreference and dialogue-symptom families (shared by the template,
instruct and eval tests): an English abstract with normalised mentions and two chains sharing a mention, a Chinese
raw diagnosis with two standard terms, and a Chinese consultation with symptom mentions."""

from __future__ import annotations

from biohub.schema import Coreference, DialogueRecord, Entity, KBRecord, Normalization, Passage, Turn, validate
from biohub.templates.tasks import DatasetInfo

COMMON = {"dataset": "toy", "split": "test"}
DOC = "Interleukin-2 (IL-2) activates T cells. Later IL-2 binds IL2R and HLA:DR4."
KB_INFO = DatasetInfo("toy", "kb", ("ner", "normalization", "coreference"), ("Gene", "Cell"), (), (), False)
TERM_INFO = DatasetInfo("toy", "kb", ("normalization",), ("diagnosis",), (), (), False)
DIALOGUE_INFO = DatasetInfo("toy", "dialogue", ("dialogue", "normalization"), (), (), (), False)


def entity(record_id: str, index: int, kind: str, text: str, start: int, *concepts: str) -> Entity:
    """One contiguous mention at ``start`` normalised to ``db:id`` concepts."""
    normalized = [Normalization(*concept.split(":", 1)) for concept in concepts]
    return Entity(f"{record_id}.e{index}", kind, [text], [(start, start + len(text))], normalized)


def abstract(record_id: str = "doc1") -> KBRecord:
    """``DOC`` with IL-2 twice, a mention holding a colon, a mention with no concept, and chains [Interleukin-2,
    IL-2] and [IL-2, IL-2 #2] that share the first IL-2 (one cluster)."""
    second = DOC.index("IL-2", DOC.index("IL-2") + 1)
    entities = [
        entity(record_id, 0, "Gene", "Interleukin-2", 0, "NCBIGene:3558"),
        entity(record_id, 1, "Gene", "IL-2", DOC.index("IL-2"), "NCBIGene:3558"),
        entity(record_id, 2, "Cell", "T cells", DOC.index("T cells")),
        entity(record_id, 3, "Gene", "IL-2", second, "NCBIGene:3558"),
        entity(record_id, 4, "Gene", "IL2R", DOC.index("IL2R"), "NCBIGene:3559"),
        entity(record_id, 5, "Gene", "HLA:DR4", DOC.index("HLA:DR4"), "NCBIGene:3126", "HGNC:4948"),
    ]
    chains = [
        Coreference(f"{record_id}.c0", [f"{record_id}.e1", f"{record_id}.e0"]),
        Coreference(f"{record_id}.c1", [f"{record_id}.e1", f"{record_id}.e3"]),
    ]
    record = KBRecord(
        id=record_id, document_id=record_id, language="en", **COMMON,
        passages=[Passage(f"{record_id}.p0", "abstract", [DOC], [(0, len(DOC))])], entities=entities, coreferences=chains,
    )
    assert validate(record) == [], validate(record)
    return record


def diagnosis(record_id: str = "dx1") -> KBRecord:
    """A raw diagnosis (CHIP-CDN style): the whole text one mention, two standard terms of a term vocabulary."""
    text = "胃癌术后;化疗"
    terms = ("ICD-10-Beijing-v601:胃恶性肿瘤", "ICD-10-Beijing-v601:恶性肿瘤术后化疗")
    record = KBRecord(
        id=record_id, document_id=record_id, language="zh", **COMMON,
        passages=[Passage(f"{record_id}.p0", "text", [text], [(0, len(text))])],
        entities=[entity(record_id, 0, "diagnosis", text, 0, *terms)],
    )
    assert validate(record) == [], validate(record)
    return record


def consultation(record_id: str = "d1") -> DialogueRecord:
    """A consultation (CMDD style): symptom mentions in the turns, normalised to CMDD symptom terms."""
    turns = [
        Turn("user", "我咳嗽，还有点发烧", [entity(record_id, 0, "symptom", "咳嗽", 1, "CMDD-symptom:咳嗽"),
                                           entity(record_id, 1, "symptom", "发烧", 7, "CMDD-symptom:发热")]),
        Turn("assistant", "咳嗽几天了？", [entity(record_id, 2, "symptom", "咳嗽", 0, "CMDD-symptom:咳嗽")]),
        Turn("user", "三天了"),
        Turn("assistant", "多喝水，注意休息。"),
    ]
    record = DialogueRecord(id=record_id, document_id=record_id, language="zh", turns=turns, **COMMON)
    assert validate(record) == [], validate(record)
    return record
