"""Which catalogued corpora the template families cover yet: the task types of issue 21 still without a family
(events, coreference, normalisation, text to structure) make no instruction, so a corpus whose every task is one of
them makes none, and its labels need no display names until its family lands."""

from __future__ import annotations

from biohub.converters.catalog import CatalogEntry

WITHOUT_FAMILY = frozenset({"events", "coreference", "normalization", "text_to_structure"})


def untemplated(entry: CatalogEntry) -> bool:
    """Whether no template family serves any task of ``entry`` yet."""
    return set(entry.tasks) <= WITHOUT_FAMILY
