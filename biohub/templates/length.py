"""Length policy: token counts with a real tokenizer, and splitting long documents into sentence windows.

Examples are measured as the model will see them: the tokenizer's chat template applied to the messages.
A knowledge-base record whose example of a windowed family (NER, normalisation, coreference, events) is longer than
``max_length`` is split into windows of whole sentences (never cutting a mention, nor any extent the family keeps
together: a coreference chain, an event with its trigger, its arguments and the events nested in it; offsets rebased,
the window's place kept in ``meta.window``), and a dialogue whose symptom example is too long into windows of whole
turns (``meta.window``: the turn range); any other over-long example is dropped and counted. The target text is never
truncated.

Tokenizers are loaded by :func:`biohub.models.load_tokenizer` (the default one is the default model's, read from its
GGUF once and cached as a plain tokenizer folder).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from biohub.schema import (
    Coreference,
    DialogueRecord,
    Entity,
    Event,
    EventArgument,
    KBRecord,
    Modification,
    Passage,
    Relation,
    Span,
    Trigger,
    document_text,
)
from biohub.templates.example import Message

_SENTENCE_END = re.compile(r"(?<=[.!?。！？;；])\s*")


class TokenCounter:
    """Counts the tokens of chat examples with a tokenizer's chat template (batched)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def __call__(self, conversations: Sequence[list[Message]]) -> list[int]:
        """The token count of each conversation, chat template included (no extra special tokens added)."""
        if not conversations:
            return []
        texts = [
            self.tokenizer.apply_chat_template([{"role": m.role, "content": m.content} for m in messages], tokenize=False)
            for messages in conversations
        ]
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None and hasattr(backend, "encode_batch_fast"):  # same ids, no offset bookkeeping
            return [len(encoding.ids) for encoding in backend.encode_batch_fast(texts, add_special_tokens=False)]
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]


# --------------------------------------------------------------------------------------------- windows
def event_extents(record: KBRecord) -> dict[str, tuple[int, int]]:
    """The extent of every event: from the first to the last character of its trigger, its argument entities and,
    recursively, the events nested in it (a window that cuts no extent keeps each event whole)."""
    own = {entity.id: (min(s for s, _ in entity.offsets), max(e for _, e in entity.offsets)) for entity in record.entities}
    nested = {event.id: [a.ref_id for a in event.arguments] for event in record.events}
    for event in record.events:
        own[event.id] = (min(s for s, _ in event.trigger.offsets), max(e for _, e in event.trigger.offsets))
    extents: dict[str, tuple[int, int]] = {}
    for root in nested:
        start, end = own[root]
        seen, todo = {root}, list(nested[root])
        while todo:  # nested events are acyclic (schema.validate), but a shared one is visited once
            ref = todo.pop()
            if ref in seen or ref not in own:
                continue
            seen.add(ref)
            start, end = min(start, own[ref][0]), max(end, own[ref][1])
            todo.extend(nested.get(ref, ()))
        extents[root] = (start, end)
    return extents


def sentence_units(record: KBRecord, together: Sequence[Span] = ()) -> list[tuple[int, int]]:
    """Sentence spans over the document text; never inside a mention or one of the ``together`` extents (e.g. a
    coreference chain, from its first mention to its last), never across a passage boundary."""
    units: list[tuple[int, int]] = []
    for passage in record.passages:
        for text, (start, _) in zip(passage.text, passage.offsets):
            cut = start
            for match in _SENTENCE_END.finditer(text):
                end = start + match.end()
                if cut < end < start + len(text):
                    units.append((cut, end))
                    cut = end
            if cut < start + len(text):
                units.append((cut, start + len(text)))
    # a mention's whole extent (all pieces of a discontinuous one) and an event's must stay inside one unit
    spans = [(min(s for s, _ in entity.offsets), max(e for _, e in entity.offsets)) for entity in record.entities]
    spans.extend(together)
    merged: list[tuple[int, int]] = []
    for unit in units:
        if merged and any(s < merged[-1][1] < e for s, e in spans):
            merged[-1] = (merged[-1][0], unit[1])
        else:
            merged.append(unit)
    return merged


def window_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without whitespace at either end (the window's place in the document)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def window_record(record: KBRecord, start: int, end: int, index: int) -> KBRecord:
    """The part of ``record`` in ``[start, end)`` as a record of its own (text stripped, offsets rebased)."""
    text = document_text(record)
    start, end = window_bounds(text, start, end)
    window_id = f"{record.id}.w{index}"
    inside = [e for e in record.entities if all(start <= s and t <= end for s, t in e.offsets)]
    entities = [
        Entity(e.id, e.type, list(e.text), [(s - start, t - start) for s, t in e.offsets], list(e.normalized)) for e in inside
    ]
    kept = {e.id for e in inside}
    relations = [
        Relation(r.id, r.type, r.arg1_id, r.arg2_id, list(r.normalized))
        for r in record.relations
        if {r.arg1_id, r.arg2_id} <= kept
    ]
    chains = [Coreference(c.id, list(c.entity_ids)) for c in record.coreferences if set(c.entity_ids) <= kept]
    extents = event_extents(record)
    events = [
        Event(
            ev.id,
            ev.type,
            Trigger(list(ev.trigger.text), [(s - start, t - start) for s, t in ev.trigger.offsets]),
            [EventArgument(a.role, a.ref_id) for a in ev.arguments],
            list(ev.normalized),
        )
        for ev in record.events
        if start <= extents[ev.id][0] and extents[ev.id][1] <= end
    ]
    kept |= {ev.id for ev in events}
    modifications = [Modification(m.id, m.type, m.ref_id) for m in record.modifications if m.ref_id in kept]
    return dataclasses.replace(  # every annotation layer is set: a window carries only what lies inside it
        record,
        id=window_id,
        passages=[Passage(f"{window_id}.p0", "window", [text[start:end]], [(0, end - start)])],
        entities=entities,
        relations=relations,
        coreferences=chains,
        events=events,
        modifications=modifications,
    )


def split_into_windows(
    record: KBRecord, fits: Callable[[KBRecord], bool], together: Sequence[Span] = ()
) -> list[tuple[KBRecord, tuple[int, int]]] | None:
    """Greedy windows of whole sentences that each ``fit``, with their ``[start, end)`` in the document (so
    ``start + window offset`` is the original offset), none cutting a mention or a ``together`` extent; None when a
    single sentence (or the least text holding such an extent) does not fit."""
    units = sentence_units(record, together)
    text = document_text(record)

    def make(first: int, last: int, index: int) -> tuple[KBRecord, tuple[int, int]]:
        start, end = units[first][0], units[last][1]
        return window_record(record, start, end, index), window_bounds(text, start, end)

    return _greedy(len(units), make, fits)


def window_dialogue(record: DialogueRecord, first: int, end: int, index: int) -> DialogueRecord:
    """Turns ``[first, end)`` of a dialogue as a dialogue of its own (its turns' mentions, offsets into the turns,
    come along unchanged)."""
    return dataclasses.replace(record, id=f"{record.id}.w{index}", turns=list(record.turns[first:end]))


def split_dialogue(
    record: DialogueRecord, fits: Callable[[DialogueRecord], bool]
) -> list[tuple[DialogueRecord, tuple[int, int]]] | None:
    """Greedy windows of whole consecutive turns that each ``fit`` (a mention lies inside its turn, so none is cut),
    with their turn range ``[first, end)``; None when a single turn does not fit."""

    def make(first: int, last: int, index: int) -> tuple[DialogueRecord, tuple[int, int]]:
        return window_dialogue(record, first, last + 1, index), (first, last + 1)

    return _greedy(len(record.turns), make, fits)


W = TypeVar("W")


def _greedy(
    count: int, make: Callable[[int, int, int], tuple[W, tuple[int, int]]], fits: Callable[[W], bool]
) -> list[tuple[W, tuple[int, int]]] | None:
    """Windows of consecutive units ``first..last`` (``make(first, last, index)`` builds one and its place), each the
    longest that ``fits`` from where the previous one ended; None when a single unit does not fit."""
    windows: list[tuple[W, tuple[int, int]]] = []
    first = 0
    while first < count:
        if not fits(make(first, first, len(windows))[0]):
            return None
        # the longest fitting window starting at ``first`` (fitting is monotone in the window's end): binary search
        low, high = first, count - 1
        while low < high:
            middle = (low + high + 1) // 2
            if fits(make(first, middle, len(windows))[0]):
                low = middle
            else:
                high = middle - 1
        windows.append(make(first, low, len(windows)))
        first = low + 1
    return windows
