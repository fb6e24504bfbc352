"""Helpers that build knowledge-base records, shared by the formats that need them (PubTator, BioC).

Concept ids and their normalisations, the check of a mention's stated text against the document text at its
offsets, the entity arguments of a concept-level relation, and the document text of passages laid out at their
offsets. Format modules import these from here, never from one another.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from biohub.converters.problems import Reason
from biohub.schema import Entity, KBRecord, Normalization, Passage, document_text

__all__ = [
    "CONCEPT_SEPARATORS",
    "ConceptIds",
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


@dataclass(frozen=True, slots=True)
class ConceptIds:
    """How a column of concept ids reads: the characters that separate ids (``|+`` for NCBI-disease and BC5CDR,
    ``,`` for BioRED, none for tmVar, whose ids ``c|SUB|G|1138|A,C`` hold both), and the database of each id.

    An id's database is, in this order: its ``DB:`` prefix (renamed by ``db_names``: ``RSID`` -> ``dbSNP``); the
    first of ``db_patterns`` (regular expression -> database, e.g. ``^rs\\d+$`` -> dbSNP) it matches in full; the
    database of its mention's type (``type_dbs``: ``GeneOrGeneProduct`` -> NCBIGene); else ``default_db``.
    ``-1``, ``-`` and empty ids mean "no concept"."""

    default_db: str
    separators: str = "|+"
    type_dbs: Mapping[str, str] = field(default_factory=dict)
    db_patterns: Mapping[str, str] = field(default_factory=dict)
    db_names: Mapping[str, str] = field(default_factory=dict)

    def split(self, raw: str, entity_type: str = "") -> tuple[list[str], list[Normalization]]:
        """The concept ids of an id column (as written) and their normalisations."""
        parts = _separator_pattern(self.separators).split(raw.strip()) if self.separators else [raw]
        ids = [part.strip() for part in parts if part.strip() not in NO_CONCEPT]
        return ids, [self.normalization(concept, entity_type) for concept in ids]

    def is_several(self, raw: str) -> bool:
        """Whether the column holds more than one id (a composite or combined mention)."""
        return bool(self.separators) and any(sep in raw.strip() for sep in self.separators)

    def normalization(self, concept: str, entity_type: str = "") -> Normalization:
        """The normalisation of one concept id, its database found as the class doc says."""
        db, sep, local = concept.partition(":")
        if sep and db and local:
            return Normalization(self.db_names.get(db, db), local)
        for pattern, pattern_db in self.db_patterns.items():
            if _compiled(pattern).fullmatch(concept):
                return Normalization(pattern_db, concept)
        return Normalization(self.type_dbs.get(entity_type, self.default_db), concept)


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


@functools.cache
def _separator_pattern(separators: str) -> re.Pattern[str]:
    """The compiled pattern that splits an id column on any of ``separators``."""
    return re.compile(f"[{re.escape(separators)}]")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled once (``db_patterns`` are tried for every id)."""
    return re.compile(pattern)


def document_text_of(passages: list[Passage]) -> str:
    """The document text of ``passages`` (laid out at their offsets, as :func:`biohub.schema.document_text`)."""
    return document_text(KBRecord(id="", document_id="", dataset="", split="", language="en", passages=passages))
