"""The normalisation, coreference and dialogue-symptom families on the real corpora, one fast test per corpus: the
gold answers hold every annotation (chains counted as SOURCE.md counts the Equiv lines; every normalised mention with
each of its concepts), and rendered gold answers score exactly 1.0 through the family's scorer. (That every labelled
record round-trips through every template and format is tests/templates/test_real_templates.py's, for every corpus.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.eval.score import compute, judge
from biohub.eval.suite import Entry
from biohub.schema import DialogueRecord, KBRecord
from biohub.templates.instruct import InstructOptions, make_examples, read_records
from biohub.templates.library import families
from biohub.templates.tasks import DatasetInfo, instances
from biohub.templates.tasks_norm import concept_name
from tests.real_conversions import corpus

pytestmark = pytest.mark.real_corpora

# Equiv lines per labelled split, as SOURCE.md counts them (the chains of KBRecord.coreferences)
CHAINS = {
    "bionlp_st_2009": {"train": 536, "validation": 110},
    "bionlp_st_2011_epi": {"train": 440, "validation": 168},
    "bionlp_st_2011_ge": {"train": 571, "validation": 128},
    "bionlp_st_2011_id": {"train": 170, "validation": 31},
    "bionlp_st_2011_rel": {"train": 535, "validation": 110},
    "bionlp_st_2013_cg": {"train": 466, "validation": 176},
    "bionlp_st_2013_ge": {"train": 53, "validation": 41},
    "genia_ptm_event": {"train": 18, "validation": 0, "test": 7},
    "an_em": {"train": 10, "validation": 2, "test": 14},
}
NORMALISED = ("chip_cdn", "biored", "tmvar_v2", "osiris", "cmdd")
FAMILY = {"cmdd": "dialogue_symptoms"}


def _records(folder: Path, info: DatasetInfo, split: str) -> list:
    return [r for r in read_records(folder / f"{split}.parquet", info.schema) if r.labeled]


def _scores_one(folder: Path, info: DatasetInfo, split: str, family: str) -> dict[str, float]:
    examples = [e for _, _, e in make_examples(read_records(folder / f"{split}.parquet", info.schema), info,
                                               InstructOptions(formats=("lines", "json"), seed=5)) if e.task == family]
    assert examples
    judged = [judge(e.to_row(), e.target) for e in examples]
    values = compute(Entry(family, info.name, split, (family,), families()[family].eval.headline), judged)
    assert all(j.parse_ok for j in judged)
    return values


@pytest.mark.parametrize("name", [corpus(name) for name in sorted(CHAINS)])
def test_coreference_corpus(unified, name: str) -> None:
    folder = unified(name) / name
    info = DatasetInfo.load(folder)
    for split, chains in CHAINS[name].items():
        records = _records(folder, info, split)
        assert sum(len(r.coreferences) for r in records) == chains
        for record in records:
            (coref,) = [i for i in instances(record, info) if i.family == "coref"]
            chained = {member for chain in record.coreferences for member in chain.entity_ids}
            members = {(e.text[0], e.offsets[0][0]) for e in record.entities if e.id in chained}
            assert sum(len(cluster) for cluster in coref.target) == len(members)  # every member once, in one cluster
            assert len(coref.target) <= len(record.coreferences)
    split = max(CHAINS[name], key=lambda split: (split != "train", CHAINS[name][split]))  # an eval split with chains
    values = _scores_one(folder, info, split, "coref")
    assert values["conll_f1"] == 1.0 and values["muc_f1"] == values["b3_f1"] == values["ceafe_f1"] == 1.0


@pytest.mark.parametrize("name", [corpus(name) for name in NORMALISED])
def test_normalisation_corpus(unified, name: str) -> None:
    folder = unified(name) / name
    info = DatasetInfo.load(folder)
    family = FAMILY.get(name, "nen")
    splits = sorted(path.stem for path in folder.glob("*.parquet"))
    labelled = [split for split in splits if _records(folder, info, split)]
    for split in labelled:
        for record in _records(folder, info, split):
            (found,) = [i for i in instances(record, info) if i.family == family]
            gold = {(mention, concept) for mention, concepts in found.target for concept in concepts}
            if isinstance(record, DialogueRecord):
                entities = [e for turn in record.turns for e in turn.entities]
            else:
                assert isinstance(record, KBRecord)
                entities = record.entities
            expected = {(" ".join(e.text), concept_name(n)) for e in entities for n in e.normalized}
            assert gold == expected, record.id
    values = _scores_one(folder, info, labelled[-1], family)
    assert values["f1_mention_concept"] == values["f1_concept_set"] == 1.0
    assert values["fp_mention_concept"] == values["fn_mention_concept"] == 0


def test_chip_cdn_terms_are_the_standard_terms_of_the_source(unified) -> None:
    """CHIP-CDN: each raw diagnosis is its own one mention; its concepts are the ICD terms, named by the term alone
    (10915 train / 3529 dev after the duplicates of one record are counted once, as the ledger says)."""
    folder = unified("chip_cdn") / "chip_cdn"
    info = DatasetInfo.load(folder)
    ledger = json.loads((unified("chip_cdn") / "ledger.json").read_text())["chip_cdn"]
    for split, terms in (("train", 10915), ("validation", 3529)):
        targets = [instances(r, info)[0].target for r in _records(folder, info, split)]
        assert all(len(target) == 1 for target in targets)
        assert sum(len(concepts) for (_, concepts), in targets) == terms
        assert ledger[split]["counts"]["labeled"] == len(targets)
        assert not any(":" in concept and concept.startswith("ICD") for (_, concepts), in targets for concept in concepts)
