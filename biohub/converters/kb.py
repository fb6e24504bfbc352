"""Helpers that build knowledge-base records, shared by the formats that need them (PubTator, BioC).

Concept ids and their normalisations, the check of a mention's stated text against the document text at its
offsets, the entity arguments of a concept-level relation, and the document text of passages laid out at their
offsets. Format modules import these from here, never from one another.
"""

from __future__ import annotations

import re

from biohub.converters.problems import Reason
from biohub.schema import Entity, KBRecord, Normalization, Passage, document_text

__all__ = [
    "CONCEPT_SEPARATORS",
    "MENTION_DISAGREES",
    "MENTION_PADDED",
    "NO_CONCEPT",
    "concept_arguments",
    "document_text_of",
    "mention_problem",
    "normalization",
    "split_concepts",
]

CONCEPT_SEPARATORS = re.compile(r"[|+]")
NO_CONCEPT = ("", "-", "-1")


def split_concepts(raw: str, default_db: str) -> tuple[list[str], list[Normalization]]:
    """The concept ids of an id column (``|`` and ``+`` separated) and their normalisations."""
    ids = [part.strip() for part in CONCEPT_SEPARATORS.split(raw.strip())]
    ids = [part for part in ids if part not in NO_CONCEPT]
    return ids, [normalization(concept, default_db) for concept in ids]


def normalization(concept: str, default_db: str) -> Normalization:
    """``OMIM:125700`` -> (OMIM, 125700); ``D003920`` -> (default_db, D003920)."""
    db, sep, local = concept.partition(":")
    return Normalization(db, local) if sep and db and local else Normalization(default_db, concept)


MENTION_PADDED = Reason.MENTION_TEXT_PADDED_WITH_WHITESPACE_TRIMMED
MENTION_DISAGREES = Reason.MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS


def mention_problem(stated: str, actual: str) -> Reason | None:
    """Compare a mention's stated text with the document text at its offsets (offsets are authoritative).

    None when they are equal; :data:`MENTION_PADDED` when they differ only by whitespace around the stated
    text (the mention is kept with the document text, the repair counted); else :data:`MENTION_DISAGREES`
    (the mention is dropped). Shared by the PubTator and BioC readers."""
    if stated == actual:
        return None
    return MENTION_PADDED if stated.strip() == actual else MENTION_DISAGREES


def concept_arguments(entities: list[Entity], concepts_of: list[list[str]], concepts: list[str]) -> tuple[list[str], list[str]]:
    """Entity arguments of a concept-level relation: for each concept, the id of the first entity (in
    ``entities`` order) normalised to it (``concepts_of[i]`` holds the concept ids of ``entities[i]``).

    Returns (argument ids, concepts no entity is normalised to); the ids are complete only when the second
    list is empty. Shared by the PubTator and BioC readers."""
    args: list[str] = []
    missing: list[str] = []
    for concept in concepts:
        found = next((entity.id for entity, ids in zip(entities, concepts_of) if concept in ids), None)
        if found is None:
            missing.append(concept)
        else:
            args.append(found)
    return args, missing


def document_text_of(passages: list[Passage]) -> str:
    """The document text of ``passages`` (laid out at their offsets, as :func:`biohub.schema.document_text`)."""
    return document_text(KBRecord(id="", document_id="", dataset="", split="", language="en", passages=passages))
