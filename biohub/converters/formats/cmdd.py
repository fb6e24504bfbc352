"""CMDD dialogue JSON (Chinese Medical Diagnosis Dialogue, Lin et al. 2019): one dialogue per file, symptoms tagged per
utterance.

Each file holds ``{"data-split", "example-id", "dialogue-content": [{"speaker": "医生"|"患者", "sentence", "label",
"normalized": [...], "type": [...]}]}``: ``label`` has one character tag (``O``/``B``/``I``) per character of the
sentence; ``normalized`` gives the standard symptom name of each tagged mention in order, ``type`` its status
(``1`` true, ``2`` false, ``3`` uncertain). Each file becomes a ``dialogue`` record keyed by ``example-id`` whose
turns carry their symptom mentions (``Turn.entities``, offsets into the turn) normalised to ``(db_name, name)``;
the statuses go to ``meta.symptom_status`` (entity id -> ``true``/``false``/``uncertain``). Speakers map to roles
by ``roles``. The record is labelled (has a reference reply) when its last turn is the doctor's.

Problems: a file that is not a dialogue object, an utterance without its fields, an unknown speaker, a label whose
length differs from the sentence or with a tag other than O/B/I rejects the dialogue. An empty utterance is dropped
(``empty turn dropped``); an ``I`` after ``O`` opens a mention (repair ``orphan I- tag opened a chunk``); when an
utterance's ``normalized`` / ``type`` lists do not pair one to one with its mentions, the mentions are kept without
normalisation and status (``normalizations do not align with mentions``); an unknown status is dropped
(``bad value``). The raw source text of a record is the file's object as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader, expand_paths, load_json
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import ROLES, DialogueRecord, Entity, Normalization, Turn

__all__ = ["CmddOptions", "CmddReader"]

_UTTERANCE_KEYS = ("speaker", "sentence", "label", "normalized", "type")


@dataclass(slots=True)
class CmddOptions:
    """``roles``: speaker -> ``user`` / ``assistant``; ``entity_type``: type of the tagged mentions; ``db_name``: the
    vocabulary of the normalised names; ``statuses``: status code -> name (for ``meta.symptom_status``)."""

    roles: dict[str, str] = field(default_factory=lambda: {"医生": "assistant", "患者": "user"})
    entity_type: str = "symptom"
    db_name: str = "CMDD-symptom"
    statuses: dict[str, str] = field(default_factory=lambda: {"1": "true", "2": "false", "3": "uncertain"})

    def __post_init__(self) -> None:
        for role in self.roles.values():
            if role not in ROLES:
                raise ValueError(f"roles: {role!r} is not one of {', '.join(ROLES)}")
        self.statuses = {str(k): str(v) for k, v in self.statuses.items()}


@dataclass(slots=True)
class _Dialogue:
    """What the reader builds for one file: turns, the status of each mention, and the items to yield before it."""

    record_id: str
    turns: list[Turn] = field(default_factory=list)
    status: dict[str, str] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    mentions: int = 0
    names: int = 0


def chunks(label: str) -> tuple[list[tuple[int, int]], int]:
    """The mention spans of a character tag string (``B`` opens, ``I`` continues, ``O`` closes) and how many ``I``
    tags opened a mention because they followed ``O`` or the start; a tag other than O/B/I is a ``ValueError``."""
    spans: list[tuple[int, int]] = []
    orphans, start = 0, None
    for index, tag in enumerate(label):
        if tag not in "OBI":
            raise ValueError(f"tag {tag!r} at character {index} is not O, B or I")
        if tag == "I" and start is None:
            orphans += 1
            tag = "B"
        if start is not None and tag != "I":
            spans.append((start, index))
            start = None
        if tag == "B":
            start = index
    if start is not None:
        spans.append((start, len(label)))
    return spans, orphans


@register
class CmddReader(Reader):
    """Reads CMDD dialogue files into ``dialogue`` records whose turns carry their normalised symptom mentions."""

    name = "cmdd-json"
    schema = "dialogue"
    description = "CMDD dialogue JSON (one dialogue per file): utterances with char BIO symptom tags, names and statuses"
    Options = CmddOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``dialogue`` record (plus its defects) or rejection per ``*.json`` file."""
        for path in expand_paths(paths, ".json"):
            data = load_json(path)
            key = data.get("example-id") if isinstance(data, dict) else None
            if not isinstance(key, (str, int)) or isinstance(key, bool) or str(key) == "":
                yield ctx.reject(path, path.name, Reason.MISSING_FIELD, f"{path.name}: no example-id in a dialogue object")
                continue
            key = str(key)
            if (first := ctx.read_before(key)) is not None:
                detail = f"example-id {key} already read in {first}"
                yield ctx.reject(path, path.name, Reason.DUPLICATE_ID, detail, document_id=key)
                continue
            ctx.note_read(key, path.name)
            yield from self.rejecting(ctx, path, path.name, partial(self._convert, path, key, data, ctx), document_id=key)

    def _convert(self, path: Path, key: str, data: dict[str, Any], ctx: ReadContext) -> Iterator[Item]:
        utterances = data.get("dialogue-content")
        if not isinstance(utterances, list) or not utterances:
            raise RecordRejected(Reason.BAD_CONVERSATION, f"{path.name}: dialogue-content is not a non-empty list")
        dialogue = _Dialogue(ctx.record_id(key))
        for n, utterance in enumerate(utterances):
            self._turn(path, key, n, utterance, dialogue, ctx)
        if not dialogue.turns:
            raise RecordRejected(Reason.BAD_CONVERSATION, f"{path.name}: every utterance is empty")
        ctx.count_read(key, entities=dialogue.mentions, normalizations=dialogue.names, turns=len(utterances))
        meta: dict[str, Any] = {"source": {"path": path.name}, "data_split": data.get("data-split")}
        if dialogue.status:
            meta["symptom_status"] = dialogue.status
        labeled = dialogue.turns[-1].role == "assistant"
        record = DialogueRecord(**ctx.common(key, labeled=labeled, meta=meta), turns=dialogue.turns)
        ctx.keep_raw(record.id, lambda: json.dumps(data, ensure_ascii=False))
        yield from dialogue.items
        yield record

    def _turn(self, path: Path, key: str, n: int, utterance: Any, dialogue: _Dialogue, ctx: ReadContext) -> None:
        """Add utterance ``n`` as a turn (or a defect for an empty one); :class:`RecordRejected` for a broken one."""
        where = f"{path.name} utterance {n}"
        if not isinstance(utterance, dict) or any(k not in utterance for k in _UTTERANCE_KEYS):
            raise RecordRejected(Reason.BAD_TURN, f"{where}: needs {', '.join(_UTTERANCE_KEYS)}")
        speaker, text, label = utterance["speaker"], utterance["sentence"], utterance["label"]
        names, statuses = utterance["normalized"], utterance["type"]
        if not (isinstance(text, str) and isinstance(label, str) and isinstance(names, list) and isinstance(statuses, list)):
            raise RecordRejected(Reason.BAD_TURN, f"{where}: sentence and label must be strings, normalized and type lists")
        role = self.options.roles.get(str(speaker))
        if role is None:
            raise RecordRejected(Reason.UNKNOWN_ROLE, f"{where}: speaker {speaker!r} has no role (option roles)")
        if len(label) != len(text):
            raise RecordRejected(Reason.MALFORMED_LABELS, f"{where}: {len(label)} tags for {len(text)} characters")
        try:
            spans, orphans = chunks(label)
        except ValueError as exc:
            raise RecordRejected(Reason.UNKNOWN_TAG, f"{where}: {exc}") from None
        defect = partial(ctx.defect, path, f"utterance {n}", document_id=key)
        if not text.strip():  # holds no mention (one tag per character), so only the turn itself is dropped
            dialogue.items.append(defect(Reason.EMPTY_TURN_DROPPED, f"{where}: {speaker} said {text!r}", annotation="turns"))
            return
        dialogue.mentions += len(spans)
        dialogue.names += len(names)
        if orphans:
            detail = f"{where}: {orphans} I tag(s) after O opened a mention"
            dialogue.items.append(defect(Reason.ORPHAN_I_TAG_OPENED_A_CHUNK, detail, dropped=False, annotation="entities"))
        aligned = len(names) == len(spans) == len(statuses) and all(isinstance(x, str) and x.strip() for x in names)
        if not aligned:
            counts = f"{len(spans)} mentions, {len(names)} names, {len(statuses)} statuses"
            for m, name in enumerate(names):
                detail = f"{where}: {counts}; name {m} {name!r} dropped"
                dialogue.items.append(defect(Reason.NORMALIZATIONS_DO_NOT_ALIGN, detail, annotation="normalizations"))
        entities = []
        for m, (start, end) in enumerate(spans):
            entity_id = f"{dialogue.record_id}.t{len(dialogue.turns)}.e{m}"
            normalized = [Normalization(self.options.db_name, names[m])] if aligned else []
            entities.append(Entity(entity_id, self.options.entity_type, [text[start:end]], [(start, end)], normalized))
            if aligned:
                status = self.options.statuses.get(str(statuses[m]))
                if status is None:
                    dialogue.items.append(defect(Reason.BAD_VALUE, f"{where}: status {statuses[m]!r} of mention {m} dropped"))
                else:
                    dialogue.status[entity_id] = status
        dialogue.turns.append(Turn(role, text, entities))
