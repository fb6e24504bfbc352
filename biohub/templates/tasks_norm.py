"""Targets of the normalisation families: ``nen`` (the mentions of a document, each with its concepts) and
``dialogue_symptoms`` (the symptoms mentioned in a dialogue, each with its standard term), both of kind
``concepts`` (:mod:`biohub.templates.answers_norm`).

How a concept is written and how a dialogue is laid out in a prompt are data: ``data/normalization.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from biohub.schema import DialogueRecord, Entity, KBRecord, Normalization
from biohub.templates.answers import Punctuation
from biohub.templates.answers_norm import merge_concepts
from biohub.templates.library import TemplateError, data_dir
from biohub.typed import build_config, load_yaml

__all__ = ["NormalizationFacts", "concept_name", "dialogue_symptom_target", "dialogue_text", "normalization_facts",
           "normalization_target"]


@dataclass(frozen=True, slots=True)
class Speakers:
    """The name shown before each turn of a dialogue, per role."""

    user: str
    assistant: str
    system: str


@dataclass(frozen=True, slots=True)
class NormalizationFacts:
    """``data/normalization.yaml``: the knowledge bases whose ids are terms, and the speakers per language."""

    term_vocabularies: tuple[str, ...]
    speakers: dict[str, Speakers]


@cache
def normalization_facts() -> NormalizationFacts:
    """The facts of ``data/normalization.yaml`` (checked: unknown or missing keys are errors naming the file)."""
    path = data_dir() / "normalization.yaml"
    data = load_yaml(path.read_text(encoding="utf-8"), str(path))
    facts: NormalizationFacts = build_config(NormalizationFacts, data, str(path), TemplateError)
    return facts


def concept_name(normalization: Normalization) -> str:
    """How an answer names a concept: the term alone for a terminology of terms, else ``<db>:<id>``."""
    if normalization.db_name in normalization_facts().term_vocabularies:
        return normalization.db_id
    return f"{normalization.db_name}:{normalization.db_id}"


def _pairs(entities: Iterable[Entity]) -> list[list[Any]]:
    """``[[mention, [concept, ...]], ...]`` of normalised mentions (a discontinuous one's pieces joined by one space,
    as ``tasks.mention_text`` does), in the order given, merged by mention text (the kind's canonical form)."""
    return merge_concepts([[" ".join(e.text), [concept_name(n) for n in e.normalized]] for e in entities])


def normalization_target(record: KBRecord) -> list[list[Any]]:
    """Every normalised mention of a document with its concepts, mentions in document order (a mention without a
    concept is no normalisation target)."""
    entities = sorted(record.entities, key=lambda e: (min(start for start, _ in e.offsets), e.id))
    return _pairs(e for e in entities if e.normalized)


def dialogue_text(record: DialogueRecord, punct: Punctuation, language: str) -> str:
    """The dialogue as one ``<speaker>: <turn>`` line per turn (speaker names of ``data/normalization.yaml``)."""
    speakers = normalization_facts().speakers[language]
    return "\n".join(f"{getattr(speakers, turn.role)}{punct.kv}{punct.gap}{turn.content}" for turn in record.turns)


def dialogue_symptom_target(record: DialogueRecord) -> list[list[Any]]:
    """Every normalised mention of a dialogue's turns with its standard term(s), in dialogue order."""
    return _pairs(e for turn in record.turns for e in sorted(turn.entities, key=lambda e: e.offsets[0][0]) if e.normalized)
