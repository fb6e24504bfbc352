"""Which catalogued corpora the template families cover yet: the task types of issue 21 still without a family
(none now) make no instruction, so a corpus whose every task is one of them makes none, and its labels need no display
names until its family lands. Coreference has its family (``coref``) but shows no label names; event corpora show their
event types by their codes (the shared tasks' own English identifiers; a label file may name them, as chip_cdee's does
in Chinese), and Text2DT has no labels: a corpus whose tasks are only these needs no display names either."""

from __future__ import annotations

from biohub.converters.catalog import CatalogEntry

WITHOUT_FAMILY: frozenset[str] = frozenset()
CODE_NAMED = frozenset({"coreference", "events", "text_to_structure"})  # instructions show no declared label's name


def untemplated(entry: CatalogEntry) -> bool:
    """Whether no template family serves any task of ``entry`` yet."""
    return set(entry.tasks) <= WITHOUT_FAMILY


def needs_label_names(entry: CatalogEntry) -> bool:
    """Whether an instruction made of ``entry`` shows a declared label by its display name (a task outside
    :data:`WITHOUT_FAMILY` and :data:`CODE_NAMED`)."""
    return not set(entry.tasks) <= WITHOUT_FAMILY | CODE_NAMED
