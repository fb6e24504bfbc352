"""The target of the ``coref`` family: a document's coreference chains as clusters of mentions (kind ``clusters``,
:mod:`biohub.templates.answers_coref`), and the extents a window must keep whole.

A mention is ``[text, occurrence]``: its text (a discontinuous mention's pieces joined by one space, as
``tasks.mention_text`` does) and which occurrence of that text in the document it is, counting every place the text
starts before the mention (1 = the first). Chains that share an entity are one cluster (coreference is
transitive; GENIA-PTM and BioNLP ST ID list a few such pairs); mentions are in document order, clusters in the order
of their first mention.
"""

from __future__ import annotations

from typing import Any

from biohub.schema import Entity, KBRecord, Span, document_text

__all__ = ["cluster_extents", "coreference_target", "occurrence"]


def _start(entity: Entity) -> int:
    return min(start for start, _ in entity.offsets)


def occurrence(text: str, mention: str, start: int) -> int:
    """1 + the number of places ``mention`` starts in ``text`` before ``start`` (overlapping places count)."""
    count, index = 1, text.find(mention)
    while 0 <= index < start:
        count += 1
        index = text.find(mention, index + 1)
    return count


def _chains(record: KBRecord) -> list[list[Entity]]:
    """The record's chains with chains sharing an entity merged, members in document order, chains by first member."""
    by_id = {entity.id: entity for entity in record.entities}
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for chain in record.coreferences:
        for member in chain.entity_ids[1:]:
            parent[root(member)] = root(chain.entity_ids[0])
    groups: dict[str, list[Entity]] = {}
    for chain in record.coreferences:
        for member in chain.entity_ids:
            group = groups.setdefault(root(member), [])
            if by_id[member] not in group:
                group.append(by_id[member])
    chains = [sorted(group, key=lambda e: (_start(e), e.id)) for group in groups.values()]
    return sorted(chains, key=lambda chain: (_start(chain[0]), chain[0].id))


def coreference_target(record: KBRecord) -> list[list[list[Any]]]:
    """The clusters of the record's coreference chains, each mention as ``[text, occurrence]``."""
    text = document_text(record)
    clusters = []
    for chain in _chains(record):
        mentions: list[list[Any]] = []
        for entity in chain:
            mention = " ".join(entity.text)
            key = [mention, occurrence(text, mention, _start(entity))]
            if key not in mentions:
                mentions.append(key)
        clusters.append(mentions)
    return clusters


def cluster_extents(record: KBRecord) -> list[Span]:
    """``(first start, last end)`` of every chain: what a window of the document must hold whole."""
    return [
        (min(_start(e) for e in chain), max(end for e in chain for _, end in e.offsets)) for chain in _chains(record)
    ]
