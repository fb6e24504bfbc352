"""Text2DT JSON (CHIP 2022 / CBLUE: text to medical decision tree): a text and its condition/decision tree.

A JSON array (or JSON Lines) of ``{"text", "tree": [{"role": "C"|"D", "triples": [[head, relation, tail], ...],
"logical_rel": "and"|"or"|"null"}, ...]}`` where ``tree`` lists the nodes in pre-order: a condition is followed
by the subtree taken when it holds, then the one taken when it does not; decisions are leaves. Each object becomes
a ``t2t`` record: ``text_1`` the text, ``text_2`` the tree serialised by
:meth:`biohub.schema.DecisionNode.to_text` (``text_2_name`` ``decision_tree``), which
:meth:`~biohub.schema.DecisionNode.parse` reads back into the typed tree exactly. A tree that is not one
well-formed tree (bad role, relation or triple, a condition without two branches, nodes left over) rejects the
record (``bad decision tree``). The text's patient-group topic (before the first ``@``) goes to ``meta.topic``.
``fields`` maps ``text``, ``tree`` and ``id`` (absent: records keyed by position). The raw source text of a
record is its object as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader
from biohub.converters.json_items import JsonItem, convert_items, merge_fields, text_field
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import DECISION_TREE, DecisionNode, T2TRecord

__all__ = ["Text2dtOptions", "Text2dtReader"]

_FIELDS = {"text": "text", "tree": "tree", "id": "id"}


@dataclass(slots=True)
class Text2dtOptions:
    """``fields``: the file's names for ``text``, ``tree`` and ``id`` (names not given keep their defaults)."""

    fields: dict[str, str] = field(default_factory=lambda: dict(_FIELDS))

    def __post_init__(self) -> None:
        self.fields = merge_fields(self.fields, _FIELDS, "text2dt")


@register
class Text2dtReader(Reader):
    """Reads Text2DT objects into ``t2t`` records whose target is the serialised, typed decision tree."""

    name = "text2dt"
    schema = "t2t"
    description = "Text2DT JSON: text + pre-order condition/decision tree of triples -> t2t with a round-trippable tree"
    Options = Text2dtOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``t2t`` record or rejection per object of every file."""
        yield from convert_items(paths, ctx, partial(self._convert, ctx=ctx), id_field=self.options.fields["id"])

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Item:
        names = self.options.fields
        text = text_field(item, names["text"])
        try:
            tree = DecisionNode.from_nodes(item.data.get(names["tree"]))
        except ValueError as exc:
            raise RecordRejected(Reason.BAD_DECISION_TREE, f"{item.where()}: {names['tree']!r}: {exc}") from None
        meta: dict[str, Any] = {"source": item.source(), **item.extras(set(names.values()))}
        topic, at, _ = text.partition("@")
        if at:
            meta["topic"] = topic
        record = T2TRecord(
            **ctx.common(item.key, meta=meta), text_1=text, text_2=tree.to_text(), text_1_name="text", text_2_name=DECISION_TREE
        )
        ctx.keep_raw(record.id, lambda: json.dumps(item.data, ensure_ascii=False))
        return record
