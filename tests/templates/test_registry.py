"""The registry: names -> parsers and scorers, with "did you mean ...?" for an unknown name."""

from __future__ import annotations

import pytest

from biohub.templates.answers import CODECS, KINDS, answer_kinds
from biohub.templates.library import families, stage1_families
from biohub.templates.registry import GROUPS, METRICS, PARSERS, Registry, RegistryError, check_name


def test_unknown_name_suggests_the_closest() -> None:
    registry: Registry[int] = Registry("scorer")
    registry.register("binary_relation")(1)
    registry.register("label")(2)
    assert registry.get("label") == 2 and "label" in registry and registry.names() == ("binary_relation", "label")
    expected = r"^x\.yaml: unknown scorer 'lable'; did you mean 'label'\? \(known: binary_relation, label\)$"
    with pytest.raises(RegistryError, match=expected):
        registry.get("lable", "x.yaml")
    with pytest.raises(RegistryError, match="unknown scorer 'zzz' \\(known"):
        registry.get("zzz")
    with pytest.raises(RegistryError, match="registered twice"):
        registry.register("label")(3)
    with pytest.raises(RegistryError, match="did you mean 'PAIR'"):
        check_name("report group", "PAIRS", GROUPS)


def test_every_answer_kind_has_a_registered_parser() -> None:
    assert PARSERS.names() == answer_kinds()  # kinds of their own modules after the built-in ones
    assert set(answer_kinds()) - set(KINDS) == set(CODECS.names()) == {"clusters", "concepts", "ranking", "events", "tree"}


def test_family_facts_keep_the_former_tables() -> None:
    library = families()
    assert stage1_families() == (
        "ner", "ner_single", "dialogue_symptoms", "nen", "re", "re_binary", "events", "events_single", "coref",
        "classification", "multilabel_classification", "entailment", "pair_classification", "sts", "answer_selection",
    )
    assert {name for name, f in library.items() if f.hub.choice_export} == {
        "qa_multiple_choice", "qa_yesno", "re_binary", "classification", "pair_classification", "entailment"
    }  # the closed-answer families of issue 22 (lm-eval multiple_choice export, biohub eval --protocol loglik)
    windowed = {name for name, f in library.items() if f.instruct.windowed}
    assert windowed == {"ner", "ner_single", "nen", "coref", "dialogue_symptoms", "events", "events_single", "answer_selection"}
    assert library["ner"].instruct.decompose_into == "ner_single"
    assert library["events"].instruct.decompose_into == "events_single"
    assert all(set(f.eval.metrics) <= METRICS for f in library.values())
