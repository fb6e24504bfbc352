"""Task instances of the normalisation, coreference and dialogue-symptom families, and how long documents and
dialogues are windowed for them: a coreference chain is never cut, a dialogue is cut between turns, and each
windowed family is windowed on its own (the NER windows stay what they were)."""

from __future__ import annotations

import json

from biohub.schema import (
    Coreference,
    DialogueRecord,
    Entity,
    KBRecord,
    Normalization,
    Passage,
    Turn,
    document_text,
    validate,
)
from biohub.templates.instruct import window_group
from biohub.templates.length import sentence_units
from biohub.templates.tasks import instances
from biohub.templates.tasks_coref import cluster_extents, coreference_target, occurrence
from biohub.templates.tasks_norm import concept_name, normalization_facts
from tests.templates import norm_records
from tests.templates.norm_records import COMMON, DIALOGUE_INFO, KB_INFO, entity
from tests.templates.test_length import _split


def by_family(record, info) -> dict:
    return {instance.family: instance for instance in instances(record, info)}


def test_a_document_gives_its_normalised_mentions_and_its_clusters() -> None:
    found = by_family(norm_records.abstract(), KB_INFO)
    assert set(found) == {"ner", "nen", "coref"}
    assert found["nen"].fields == {"text": norm_records.DOC, "types": "Gene, Cell"}
    assert found["nen"].target == [  # document order, merged by text, "T cells" (no concept) left out
        ["Interleukin-2", ["NCBIGene:3558"]],
        ["IL-2", ["NCBIGene:3558"]],
        ["IL2R", ["NCBIGene:3559"]],
        ["HLA:DR4", ["NCBIGene:3126", "HGNC:4948"]],
    ]
    assert found["coref"].fields == {"text": norm_records.DOC}
    assert found["coref"].target == [[["Interleukin-2", 1], ["IL-2", 1], ["IL-2", 2]]]  # two chains sharing IL-2


def test_a_term_vocabulary_names_its_concepts_by_the_term() -> None:
    (found,) = instances(norm_records.diagnosis(), norm_records.TERM_INFO)
    assert found.family == "nen" and found.target == [["胃癌术后;化疗", ["胃恶性肿瘤", "恶性肿瘤术后化疗"]]]
    assert "ICD-10-Beijing-v601" in normalization_facts().term_vocabularies
    mesh = norm_records.abstract().entities[0].normalized[0]
    assert concept_name(mesh) == "NCBIGene:3558"


def test_a_dialogue_gives_its_symptoms_with_their_terms() -> None:
    found = by_family(norm_records.consultation(), DIALOGUE_INFO)
    assert set(found) == {"dialogue", "dialogue_symptoms"}
    lines = ["患者：我咳嗽，还有点发烧", "医生：咳嗽几天了？", "患者：三天了", "医生：多喝水，注意休息。"]
    assert found["dialogue_symptoms"].fields == {"text": "\n".join(lines)}
    assert found["dialogue_symptoms"].target == [["咳嗽", ["咳嗽"]], ["发烧", ["发热"]]]
    plain = by_family(norm_records.consultation(), norm_records.DatasetInfo("toy", "dialogue", ("dialogue",), (), (), (), False))
    assert set(plain) == {"dialogue"}  # without the normalization task, no symptom example


def test_occurrences_count_every_earlier_place_of_the_text() -> None:
    text = "H4 and H4K16 of H4"
    assert [occurrence(text, "H4", start) for start in (0, 7, 16)] == [1, 2, 3]
    assert occurrence("aaa", "aa", 1) == 2  # overlapping places count


def test_a_record_without_chains_has_the_empty_answer() -> None:
    record = norm_records.abstract()
    record.coreferences = []
    assert coreference_target(record) == [] and cluster_extents(record) == []


def test_window_groups_pair_a_family_with_its_decomposition_only() -> None:
    assert window_group("ner_single") == "ner" and window_group("ner") == "ner"
    assert window_group("nen") == "nen" and window_group("coref") == "coref"


# ------------------------------------------------------------------------------------------ windows
FILLER = "Nothing of note happened in this sentence at all."


def long_document(record_id: str = "long") -> KBRecord:
    """Sixteen sentences; a chain from sentence 2 to sentence 4 (IL-2 ... interleukin 2), a mention in sentence 8."""
    sentences = [FILLER] * 16
    sentences[1] = "We studied IL-2 in mice."
    sentences[3] = "Here interleukin 2 rose."
    sentences[7] = "Later TNF fell."
    text = " ".join(sentences)
    entities = [
        entity(record_id, 0, "Gene", "IL-2", text.index("IL-2"), "NCBIGene:3558"),
        entity(record_id, 1, "Gene", "interleukin 2", text.index("interleukin 2"), "NCBIGene:3558"),
        entity(record_id, 2, "Gene", "TNF", text.index("TNF"), "NCBIGene:7124"),
    ]
    record = KBRecord(
        id=record_id, document_id=record_id, language="en", **COMMON,
        passages=[Passage(f"{record_id}.p0", "abstract", [text], [(0, len(text))])], entities=entities,
        coreferences=[Coreference(f"{record_id}.c0", [f"{record_id}.e0", f"{record_id}.e1"])],
    )
    assert validate(record) == []
    return record


def test_sentence_units_keep_a_chain_whole() -> None:
    record = long_document()
    plain, together = sentence_units(record), sentence_units(record, cluster_extents(record))
    assert len(plain) == 16 and len(together) == 14  # sentences 2 to 4 are one unit
    text = document_text(record)
    assert any("IL-2" in text[s:e] and "interleukin 2" in text[s:e] for s, e in together)


def test_long_documents_are_windowed_per_family_and_never_cut_a_chain() -> None:
    record = long_document()
    info = norm_records.DatasetInfo("toy", "kb", ("ner", "normalization", "coreference"), ("Gene",), (), (), False)
    examples, stats = _split([record], info, 700, formats=("lines",))
    windows = {task: [e for e in examples if e.task == task] for task in ("ner", "nen", "coref")}
    assert all(len(found) > 1 for found in windows.values()), {t: len(f) for t, f in windows.items()}
    assert stats.windowed_records == {"ner": 1, "nen": 1, "coref": 1}
    text = document_text(record)
    chained = [e for e in windows["coref"] if json.loads(e.gold)["value"]]
    assert len(chained) == 1 and json.loads(chained[0].gold)["value"] == [[["IL-2", 1], ["interleukin 2", 1]]]
    start, end = json.loads(chained[0].meta)["window"]
    assert "IL-2" in text[start:end] and "interleukin 2" in text[start:end]
    concepts = sorted(concept for e in windows["nen"] for _, found in json.loads(e.gold)["value"] for concept in found)
    assert concepts == ["NCBIGene:3558", "NCBIGene:3558", "NCBIGene:7124"]  # every mention in exactly one window


def test_only_the_family_whose_example_is_too_long_is_windowed() -> None:
    record = norm_records.abstract()
    many = [Normalization("X", str(i)) for i in range(30)]  # a long NEN answer
    record.entities = [Entity(e.id, e.type, e.text, e.offsets, e.normalized + many) for e in record.entities]
    examples, stats = _split([record], KB_INFO, 700, formats=("lines",))
    assert {e.id for e in examples if e.task != "nen"} == {"doc1:ner", "doc1:coref"}  # not windowed
    assert stats.windowed_records.get("ner") is None


def long_consultation(record_id: str = "talk") -> DialogueRecord:
    turns = []
    for index in range(12):
        role = "user" if index % 2 == 0 else "assistant"
        content = f"第{index}轮：我最近一直咳嗽，晚上更厉害，想问问怎么办。" if role == "user" else f"第{index}轮：请多喝水。"
        mentions = []
        if role == "user":
            mentions.append(entity(record_id, index, "symptom", "咳嗽", content.index("咳嗽"), "CMDD-symptom:咳嗽"))
        turns.append(Turn(role, content, mentions))
    record = DialogueRecord(id=record_id, document_id=record_id, language="zh", turns=turns, **COMMON)
    assert validate(record) == []
    return record


def test_a_long_dialogue_is_windowed_by_whole_turns() -> None:
    record = long_consultation()
    examples, stats = _split([record], DIALOGUE_INFO, 300, formats=("lines",))
    windows = [e for e in examples if e.task == "dialogue_symptoms"]
    assert len(windows) > 1 and stats.windowed_records["dialogue_symptoms"] == 1
    ranges = [json.loads(e.meta)["window"] for e in windows]
    assert ranges[0][0] == 0 and ranges[-1][1] == 12 and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    for example, (first, end) in zip(windows, ranges):
        prompt = example.messages[0].content
        assert all(turn.content in prompt for turn in record.turns[first:end])
        assert json.loads(example.gold)["value"] == [["咳嗽", ["咳嗽"]]]
    assert [e.source_id for e in windows] == ["talk"] * len(windows)
    assert {e.id for e in examples if e.task == "dialogue"} == {"talk:dialogue"}  # the reply example is never windowed
