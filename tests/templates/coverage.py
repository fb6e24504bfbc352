"""Which catalogued corpora the template families cover yet: the task types of issue 21 still without a family
(events, text to structure) make no instruction, so a corpus whose every task is one of them makes none, and its
labels need no display names until its family lands. Coreference has its family (``coref``) but shows no label names,
so a corpus whose other tasks are all without a family needs none either."""

from __future__ import annotations

from biohub.converters.catalog import CatalogEntry

WITHOUT_FAMILY = frozenset({"events", "text_to_structure"})
SHOWS_NO_LABELS = frozenset({"coreference"})  # tasks whose family's instructions name no label (``label_names: ""``)


def untemplated(entry: CatalogEntry) -> bool:
    """Whether no template family serves any task of ``entry`` yet."""
    return set(entry.tasks) <= WITHOUT_FAMILY


def shows_no_labels(entry: CatalogEntry) -> bool:
    """Whether no instruction made of ``entry`` names one of its labels (so its labels need no display names)."""
    return set(entry.tasks) <= WITHOUT_FAMILY | SHOWS_NO_LABELS
