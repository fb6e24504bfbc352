"""PromptCBLUE JSON Lines: CBLUE tasks rewritten as prompts.

Each line is ``{"input": prompt, "target": answer, "answer_choices": [...] | null, "task_type": str,
"task_dataset": str, "sample_id": str}`` and becomes an ``instruction`` record: instruction = ``input``,
input = ``""``, output = ``target``; ``answer_choices``, ``task_type``, ``task_dataset``, ``sample_id`` and any
other field go to ``meta``. The record key is ``sample_id`` (else the line number). The public test file has
empty targets: in ``unlabelled_splits`` such records are kept with ``labeled=False``; elsewhere an empty
target is rejected (``empty target``).

The raw source text of a record (``ReadContext.keep_raw``) is its object, ``json.dumps(obj, ensure_ascii=False)``
(keys in file order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from biohub.converters.base import Item, ReadContext, Reader
from biohub.converters.json_items import JsonItem, convert_items, text_field
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.schema import InstructionRecord


@dataclass(slots=True)
class PromptCblueOptions:
    """``unlabelled_splits``: splits whose records may have an empty ``target`` (kept with ``labeled=False``)."""

    unlabelled_splits: tuple[str, ...] = ("test",)


@register
class PromptCblueReader(Reader):
    """Reads PromptCBLUE prompt/target lines into ``instruction`` records, the task fields kept in ``meta``."""

    name = "promptcblue"
    schema = "instruction"
    description = "PromptCBLUE JSON Lines (input/target/answer_choices/task_type/task_dataset/sample_id)"
    Options = PromptCblueOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``instruction`` record or rejection per object of every file, keyed by ``sample_id``."""
        yield from convert_items(paths, ctx, partial(self._convert, ctx=ctx), id_field="sample_id")

    def _convert(self, item: JsonItem, ctx: ReadContext) -> Item:
        prompt = text_field(item, "input")
        target = item.data.get("target")
        if target is not None and not isinstance(target, str):
            detail = f"{item.where()}: 'target' is a {type(target).__name__}, expected a string"
            raise RecordRejected("bad field type", detail)
        target = target or ""
        labeled = bool(target.strip())
        if not labeled and ctx.split_for(item.key) not in tuple(self.options.unlabelled_splits):
            detail = f"{item.where()}: empty 'target' in split {ctx.split_for(item.key)!r}"
            raise RecordRejected("empty target", detail)
        meta = {"source": item.source(), **item.extras({"input", "target"})}
        record = InstructionRecord(
            **ctx.common(item.key, labeled=labeled, meta=meta), instruction=prompt, input="", output=target if labeled else ""
        )
        ctx.keep_raw(record.id, lambda: json.dumps(item.data, ensure_ascii=False))
        return record
