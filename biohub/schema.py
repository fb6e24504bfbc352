"""The unified, BigBio-compatible record schema shared by every biohub stage.

Seven schemas cover every corpus: ``kb`` (documents with passages, entities, relations, events,
coreferences, modifications), ``qa``, ``text`` (single- and multi-label classification), ``pairs`` (sentence pairs with
a label and/or a numeric score), ``t2t``, ``dialogue`` and ``instruction`` (Alpaca shape).

Every record carries the same common fields: a globally unique ``id``, ``document_id``, ``dataset``,
``split``, ``language`` (``en``/``zh``), a ``labeled`` flag (unlabelled test files are kept, flagged, and
never scored) and ``meta`` (a JSON object string holding source-specific extras).

Conventions (BigBio's): offsets are end-exclusive character offsets into the *document text*, which is
the passages' texts laid out at their offsets (for the usual "passages joined by one space" layout this
is exactly ``" ".join(passage texts)``); a mention may be discontinuous (parallel ``text``/``offsets``
lists). Ids are unique across a whole dataset: sub-ids are prefixed with the record id.

This module imports nothing else of biohub.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cache
from itertools import pairwise
from typing import Any, ClassVar, Literal, get_args

from datasets import Features, List, Value

Language = Literal["en", "zh"]
SchemaName = Literal["kb", "qa", "text", "pairs", "t2t", "dialogue", "instruction"]
QAType = Literal["yesno", "multiple_choice", "factoid", "list", "summary", "open"]
Role = Literal["system", "user", "assistant"]

LANGUAGES: tuple[str, ...] = get_args(Language)
SCHEMAS: tuple[str, ...] = get_args(SchemaName)
QA_TYPES: tuple[str, ...] = get_args(QAType)
ROLES: tuple[str, ...] = get_args(Role)
STANDARD_SPLITS: tuple[str, ...] = ("train", "validation", "test")
SPLIT_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

Span = tuple[int, int]


# --------------------------------------------------------------------------------------------- kb parts
@dataclass(slots=True)
class Normalization:
    """A link from a mention or relation to a knowledge-base concept (e.g. MESH:D003693)."""

    db_name: str
    db_id: str


@dataclass(slots=True)
class Passage:
    """A titled or typed stretch of the document (title, abstract, sentence, ...)."""

    id: str
    type: str
    text: list[str]
    offsets: list[Span]


@dataclass(slots=True)
class Entity:
    """A (possibly discontinuous) mention: ``text[i]`` is the document text at ``offsets[i]``."""

    id: str
    type: str
    text: list[str]
    offsets: list[Span]
    normalized: list[Normalization] = field(default_factory=list)


@dataclass(slots=True)
class Relation:
    """A typed, directed link between two entities of the same record."""

    id: str
    type: str
    arg1_id: str
    arg2_id: str
    normalized: list[Normalization] = field(default_factory=list)


@dataclass(slots=True)
class EventArgument:
    """One argument of an event: its role (e.g. ``Theme``) and the id of the entity or event that fills it."""

    role: str
    ref_id: str


@dataclass(slots=True)
class Trigger:
    """The words that signal an event, as a (possibly discontinuous) span: ``text[i]`` is the document text at
    ``offsets[i]``."""

    text: list[str]
    offsets: list[Span]


@dataclass(slots=True)
class Event:
    """An event with a trigger span and role-labelled arguments (entity or event ids)."""

    id: str
    type: str
    trigger: Trigger
    arguments: list[EventArgument] = field(default_factory=list)
    normalized: list[Normalization] = field(default_factory=list)


@dataclass(slots=True)
class Coreference:
    """A coreference chain: the ids of the entities of this record that name the same thing."""

    id: str
    entity_ids: list[str]


@dataclass(slots=True)
class Modification:
    """A modification of an event or entity of the same record, e.g. BioNLP ST's ``M1<TAB>Negation E3``: its own id,
    its type (``Negation``, ``Speculation``, ...) and the id of the event or entity it modifies (BigBio's ``ref_id``)."""

    id: str
    type: str
    ref_id: str


@dataclass(slots=True)
class Turn:
    """One dialogue turn; ``role`` is ``user`` (patient/human), ``assistant`` (doctor/model) or ``system``.

    ``entities``: mentions annotated in this turn (e.g. CMDD's symptoms), offsets into ``content``; ids unique in
    the record."""

    role: str
    content: str
    entities: list[Entity] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- records
@dataclass(slots=True, kw_only=True)
class RecordBase:
    """Fields every record carries."""

    id: str
    document_id: str
    dataset: str
    split: str
    language: str
    labeled: bool = True
    meta: str = "{}"

    schema: ClassVar[str] = "base"


@dataclass(slots=True, kw_only=True)
class KBRecord(RecordBase):
    """A document (its passages) with its annotations: entities, relations, events, coreference chains and the
    modifications (negation, speculation, ...) of its events. ``modifications`` is the last column, added after the
    others, so parquet files written before it existed still read (as records without modifications)."""

    passages: list[Passage]
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    coreferences: list[Coreference] = field(default_factory=list)
    modifications: list[Modification] = field(default_factory=list)
    schema: ClassVar[str] = "kb"


@dataclass(slots=True, kw_only=True)
class QARecord(RecordBase):
    """A question of one of the :data:`QA_TYPES`, with its choices (multiple choice / yes-no), optional context and
    gold answer(s)."""

    question: str
    type: str
    choices: list[str] = field(default_factory=list)
    context: str = ""
    answer: list[str] = field(default_factory=list)
    schema: ClassVar[str] = "qa"


@dataclass(slots=True, kw_only=True)
class TextRecord(RecordBase):
    """A text with its class labels (one for single-label corpora, any number for multi-label ones)."""

    text: str
    labels: list[str] = field(default_factory=list)
    schema: ClassVar[str] = "text"


@dataclass(slots=True, kw_only=True)
class PairsRecord(RecordBase):
    """A sentence pair with a class label (e.g. entailment), a numeric similarity score, or both."""

    text_1: str
    text_2: str
    label: str = ""
    score: float | None = None
    schema: ClassVar[str] = "pairs"


@dataclass(slots=True, kw_only=True)
class T2TRecord(RecordBase):
    """A text-to-text example (summary, translation, ...): the source ``text_1`` and the target ``text_2``."""

    text_1: str
    text_2: str
    text_1_name: str = ""
    text_2_name: str = ""
    schema: ClassVar[str] = "t2t"


@dataclass(slots=True, kw_only=True)
class DialogueRecord(RecordBase):
    """A conversation as ordered turns; a labelled one ends with the assistant's (doctor's) turn."""

    turns: list[Turn]
    schema: ClassVar[str] = "dialogue"


@dataclass(slots=True, kw_only=True)
class InstructionRecord(RecordBase):
    """An Alpaca-shaped instruction example: the instruction, an optional input and the expected output."""

    instruction: str
    input: str = ""
    output: str = ""
    schema: ClassVar[str] = "instruction"


Record = KBRecord | QARecord | TextRecord | PairsRecord | T2TRecord | DialogueRecord | InstructionRecord

RECORD_TYPES: dict[str, type[Record]] = {
    "kb": KBRecord,
    "qa": QARecord,
    "text": TextRecord,
    "pairs": PairsRecord,
    "t2t": T2TRecord,
    "dialogue": DialogueRecord,
    "instruction": InstructionRecord,
}


# --------------------------------------------------------------------------------------------- features
def _common_features() -> dict[str, Any]:
    return {
        "id": Value("string"),
        "document_id": Value("string"),
        "dataset": Value("string"),
        "split": Value("string"),
        "language": Value("string"),
        "labeled": Value("bool"),
        "meta": Value("string"),
    }


_OFFSETS = List(List(Value("int32")))
_NORMALIZED = List({"db_name": Value("string"), "db_id": Value("string")})
_ENTITY = {
    "id": Value("string"),
    "type": Value("string"),
    "text": List(Value("string")),
    "offsets": _OFFSETS,
    "normalized": _NORMALIZED,
}

_SCHEMA_FEATURES: dict[str, dict[str, Any]] = {
    "kb": {
        "passages": List(
            {"id": Value("string"), "type": Value("string"), "text": List(Value("string")), "offsets": _OFFSETS}
        ),
        "entities": List(
            {
                "id": Value("string"),
                "type": Value("string"),
                "text": List(Value("string")),
                "offsets": _OFFSETS,
                "normalized": _NORMALIZED,
            }
        ),
        "relations": List(
            {
                "id": Value("string"),
                "type": Value("string"),
                "arg1_id": Value("string"),
                "arg2_id": Value("string"),
                "normalized": _NORMALIZED,
            }
        ),
        "events": List(
            {
                "id": Value("string"),
                "type": Value("string"),
                "trigger": {"text": List(Value("string")), "offsets": _OFFSETS},
                "arguments": List({"role": Value("string"), "ref_id": Value("string")}),
                "normalized": _NORMALIZED,
            }
        ),
        "coreferences": List({"id": Value("string"), "entity_ids": List(Value("string"))}),
        "modifications": List({"id": Value("string"), "type": Value("string"), "ref_id": Value("string")}),
    },
    "qa": {
        "question": Value("string"),
        "type": Value("string"),
        "choices": List(Value("string")),
        "context": Value("string"),
        "answer": List(Value("string")),
    },
    "text": {"text": Value("string"), "labels": List(Value("string"))},
    "pairs": {
        "text_1": Value("string"),
        "text_2": Value("string"),
        "label": Value("string"),
        "score": Value("float64"),
    },
    "t2t": {
        "text_1": Value("string"),
        "text_2": Value("string"),
        "text_1_name": Value("string"),
        "text_2_name": Value("string"),
    },
    "dialogue": {"turns": List({"role": Value("string"), "content": Value("string"), "entities": List(_ENTITY)})},
    "instruction": {"instruction": Value("string"), "input": Value("string"), "output": Value("string")},
}


def features_for(schema: str) -> Features:
    """The ``datasets.Features`` of one schema: the common fields followed by the schema's own."""
    if schema not in _SCHEMA_FEATURES:
        raise ValueError(f"unknown schema {schema!r}; expected one of {', '.join(SCHEMAS)}")
    return Features({**_common_features(), **_SCHEMA_FEATURES[schema]})


# --------------------------------------------------------------------------------------------- (de)serialisation
@cache
def _columns(schema: str) -> tuple[str, ...]:
    return tuple(features_for(schema))


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


_ATOMS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """Dataclasses to dicts and tuples to lists, recursively (a fast, copy-free ``asdict``). Atoms (str, int, float,
    bool, None) are tested by exact type inline, not by a call each: most values of a record are atoms in lists."""
    kind: type = type(value)
    if kind in _ATOMS:
        return value
    if kind is list or kind is tuple:
        return [item if type(item) in _ATOMS else _plain(item) for item in value]
    if isinstance(value, (str, int, float, bool)):  # a subclass of an atom (an enum member, say)
        return value
    return {name: item if type(item := getattr(value, name)) in _ATOMS else _plain(item) for name in _field_names(kind)}


def to_row(record: Record) -> dict[str, Any]:
    """A plain dict with exactly the columns of ``features_for(record.schema)``, in that order."""
    return {name: _plain(getattr(record, name)) for name in _columns(record.schema)}


def _spans(raw: list[list[int]]) -> list[Span]:
    return [(start, end) for start, end in raw]  # int32 columns: Python ints already


def _entity(row: dict[str, Any]) -> Entity:
    normalized = [Normalization(**n) for n in row["normalized"]]
    return Entity(row["id"], row["type"], list(row["text"]), _spans(row["offsets"]), normalized)


def from_row(schema: str, row: dict[str, Any]) -> Record:
    """Rebuild a typed record from a row of a parquet file written by biohub."""
    record_type: type = RECORD_TYPES[schema]
    names = _field_names(record_type)
    data = {k: v for k, v in row.items() if k in names}
    if schema == "kb":
        data["passages"] = [Passage(p["id"], p["type"], list(p["text"]), _spans(p["offsets"])) for p in row["passages"]]
        data["entities"] = [_entity(e) for e in row["entities"]]
        data["relations"] = [
            Relation(r["id"], r["type"], r["arg1_id"], r["arg2_id"], [Normalization(**n) for n in r["normalized"]])
            for r in row["relations"]
        ]
        data["events"] = [
            Event(
                ev["id"],
                ev["type"],
                Trigger(list(ev["trigger"]["text"]), _spans(ev["trigger"]["offsets"])),
                [EventArgument(**a) for a in ev["arguments"]],
                [Normalization(**n) for n in ev["normalized"]],
            )
            for ev in row["events"]
        ]
        data["coreferences"] = [Coreference(c["id"], list(c["entity_ids"])) for c in row["coreferences"]]
        data["modifications"] = [Modification(m["id"], m["type"], m["ref_id"]) for m in row.get("modifications") or []]
    elif schema == "dialogue":
        data["turns"] = [Turn(t["role"], t["content"], [_entity(e) for e in t.get("entities") or []]) for t in row["turns"]]
    return RECORD_TYPES[schema](**data)


def dump_meta(meta: dict[str, Any]) -> str:
    """Serialise source-specific extras deterministically (sorted keys, UTF-8 kept)."""
    return json.dumps(meta, ensure_ascii=False, sort_keys=True)


# --------------------------------------------------------------------------------------------- document text
def document_text(record: KBRecord) -> str:
    """The text the record's offsets point into: every passage text laid out at its offsets, gaps as spaces."""
    pieces: list[tuple[int, str]] = []
    end = 0
    for passage in record.passages:
        for text, (start, stop) in zip(passage.text, passage.offsets):
            pieces.append((start, text))
            end = max(end, stop)
    buffer = [" "] * end
    for start, text in pieces:
        buffer[start : start + len(text)] = list(text)
    return "".join(buffer)


# --------------------------------------------------------------------------------------------- validation
@dataclass(slots=True)
class LabelSet:
    """The labels a dataset declares; empty tuples mean 'not constrained'."""

    entity_types: tuple[str, ...] = ()
    relation_types: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    multi_label: bool = False


def validate(record: Record, labels: LabelSet | None = None) -> list[str]:
    """BigBio-style invariants of one record; returns a list of problems (empty when valid).

    Dataset-wide id uniqueness is kept by the conversion (the readers' reject loop), which sees every record.
    """
    labels = labels or LabelSet()
    problems = _validate_common(record)
    checker = _CHECKERS[record.schema]
    problems.extend(checker(record, labels))
    return problems


def _validate_common(record: Record) -> list[str]:
    problems = []
    if not record.id:
        problems.append("empty id")
    if record.language not in LANGUAGES:
        problems.append(f"language {record.language!r} not in {LANGUAGES}")
    if not SPLIT_PATTERN.match(record.split):
        problems.append(f"split {record.split!r} is not a valid split name")
    try:
        if not isinstance(json.loads(record.meta), dict):
            problems.append("meta is not a JSON object")
    except json.JSONDecodeError:
        problems.append("meta is not valid JSON")
    return problems


def _check_spans(kind: str, item_id: str, texts: list[str], offsets: list[Span], doc: str) -> list[str]:
    if len(texts) != len(offsets):
        return [f"{kind} {item_id}: {len(texts)} text pieces but {len(offsets)} offsets"]
    if not offsets:
        return [f"{kind} {item_id}: no offsets"]
    problems = []
    for text, (start, end) in zip(texts, offsets):
        if not 0 <= start < end <= len(doc):
            problems.append(f"{kind} {item_id}: offsets [{start}, {end}) out of range 0..{len(doc)}")
        elif doc[start:end] != text:
            problems.append(f"{kind} {item_id}: text {text!r} != document text {doc[start:end]!r} at [{start}, {end})")
    return problems


def _check_kb(record: KBRecord, labels: LabelSet) -> list[str]:
    problems: list[str] = []
    ids = [p.id for p in record.passages] + [e.id for e in record.entities] + [r.id for r in record.relations]
    ids += [ev.id for ev in record.events] + [c.id for c in record.coreferences] + [m.id for m in record.modifications]
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            problems.append(f"duplicate id {item_id}")
        seen.add(item_id)
    if not record.passages:
        problems.append("no passages")
    pieces = []
    for passage in record.passages:
        if len(passage.text) != len(passage.offsets):
            problems.append(f"passage {passage.id}: text/offsets length mismatch")
        for text, (start, end) in zip(passage.text, passage.offsets):
            pieces.append((start, end, passage.id))
            if end - start != len(text):
                problems.append(f"passage {passage.id}: offsets [{start}, {end}) do not span its {len(text)} characters")
    pieces.sort()
    for (_, end, first), (start, _, second) in pairwise(pieces):
        if start < end:
            problems.append(f"passages {first} and {second} overlap")
    doc = document_text(record)
    for entity in record.entities:
        problems.extend(_check_spans("entity", entity.id, entity.text, entity.offsets, doc))
        if labels.entity_types and entity.type not in labels.entity_types:
            problems.append(f"entity {entity.id}: type {entity.type!r} not in the declared entity types")
    problems.extend(_check_links(record, labels, doc))
    if not record.labeled and (record.relations or record.events or record.coreferences or record.modifications):
        # entities are allowed: a shared task's test documents come with their given entities (BioNLP ST .a1) as input
        problems.append("unlabeled record carries annotations")
    return problems


def _check_links(record: KBRecord, labels: LabelSet, doc: str) -> list[str]:
    """Relations, events, coreferences and modifications: every reference resolves, nested events are acyclic."""
    problems: list[str] = []
    entity_ids = {e.id for e in record.entities}
    event_ids = {ev.id for ev in record.events}
    for relation in record.relations:
        for arg in (relation.arg1_id, relation.arg2_id):
            if arg not in entity_ids and arg not in event_ids:
                problems.append(f"relation {relation.id}: argument {arg} is not an entity of this record (nor an event)")
        if labels.relation_types and relation.type not in labels.relation_types:
            problems.append(f"relation {relation.id}: type {relation.type!r} not in the declared relation types")
    for event in record.events:
        problems.extend(_check_spans("event trigger", event.id, event.trigger.text, event.trigger.offsets, doc))
        for argument in event.arguments:
            if argument.ref_id not in entity_ids and argument.ref_id not in event_ids:
                problems.append(f"event {event.id}: argument {argument.ref_id} does not exist")
        if labels.event_types and event.type not in labels.event_types:
            problems.append(f"event {event.id}: type {event.type!r} not in the declared event types")
    problems.extend(f"event {event_id}: nested events form a cycle" for event_id in nested_event_cycles(record.events))
    for coref in record.coreferences:
        for ref in coref.entity_ids:
            if ref not in entity_ids:
                problems.append(f"coreference {coref.id}: entity {ref} does not exist")
    for modification in record.modifications:
        if modification.ref_id not in event_ids and modification.ref_id not in entity_ids:
            problems.append(f"modification {modification.id}: {modification.ref_id} is not an event or entity of this record")
    return problems


def nested_event_cycles(events: list[Event]) -> list[str]:
    """The ids of events that reach themselves through their event arguments (a nested-event cycle), in order."""
    nested = {ev.id: [a.ref_id for a in ev.arguments] for ev in events}
    state: dict[str, int] = {}  # 1: on the current path, 2: done (no cycle through it)
    cyclic: list[str] = []
    for root in nested:
        if state.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, index = stack.pop()
            children = [child for child in nested[node] if child in nested]
            if index < len(children):
                stack.append((node, index + 1))
                child = children[index]
                if state.get(child) == 1:
                    cyclic.append(child)
                elif not state.get(child):
                    state[child] = 1
                    stack.append((child, 0))
            else:
                state[node] = 2
    return list(dict.fromkeys(cyclic))


def _check_qa(record: QARecord, labels: LabelSet) -> list[str]:
    problems: list[str] = []
    if record.type not in QA_TYPES:
        problems.append(f"qa type {record.type!r} not in {QA_TYPES}")
    if not record.question.strip():
        problems.append("empty question")
    if record.type in ("yesno", "multiple_choice"):
        if len(set(record.choices)) != len(record.choices) or len(record.choices) < 2:
            problems.append(f"{record.type} question needs at least two distinct choices, got {record.choices}")
        for answer in record.answer:
            if answer not in record.choices:
                problems.append(f"answer {answer!r} not among the choices {record.choices}")
    if record.labeled and not record.answer:
        problems.append("labeled question without an answer")
    if not record.labeled and record.answer:
        problems.append("unlabeled question carries an answer")
    if labels.classes:
        problems.extend(f"answer {a!r} not in the declared label set" for a in record.answer if a not in labels.classes)
    return problems


def _check_text(record: TextRecord, labels: LabelSet) -> list[str]:
    problems: list[str] = []
    if not record.text.strip():
        problems.append("empty text")
    if len(set(record.labels)) != len(record.labels):
        problems.append(f"duplicate labels {record.labels}")
    if record.labeled and not labels.multi_label and len(record.labels) != 1:
        problems.append(f"single-label record has {len(record.labels)} labels")
    if not record.labeled and record.labels:
        problems.append("unlabeled record carries labels")
    if labels.classes:
        problems.extend(f"label {x!r} not in the declared label set" for x in record.labels if x not in labels.classes)
    return problems


def _check_pairs(record: PairsRecord, labels: LabelSet) -> list[str]:
    problems: list[str] = []
    if not record.text_1.strip() or not record.text_2.strip():
        problems.append("empty text_1 or text_2")
    if record.labeled and not record.label and record.score is None:
        problems.append("labeled pair has neither a label nor a score")
    if not record.labeled and (record.label or record.score is not None):
        problems.append("unlabeled pair carries a label or score")
    if labels.classes and record.label and record.label not in labels.classes:
        problems.append(f"label {record.label!r} not in the declared label set")
    if record.score is not None and not math.isfinite(record.score):
        problems.append(f"score {record.score!r} is not a finite number")
    return problems


def _check_t2t(record: T2TRecord, labels: LabelSet) -> list[str]:
    problems = ["empty text_1"] if not record.text_1.strip() else []
    if record.labeled and not record.text_2.strip():
        problems.append("labeled record with empty text_2")
    if record.text_2_name == DECISION_TREE and record.text_2.strip():
        try:
            DecisionNode.parse(record.text_2)
        except ValueError as exc:
            problems.append(f"text_2 is not a decision tree: {exc}")
    return problems


def _check_dialogue(record: DialogueRecord, labels: LabelSet) -> list[str]:
    problems: list[str] = []
    if not record.turns:
        problems.append("dialogue without turns")
    seen: set[str] = set()
    for index, turn in enumerate(record.turns):
        if turn.role not in ROLES:
            problems.append(f"turn {index}: role {turn.role!r} not in {ROLES}")
        if not turn.content.strip():
            problems.append(f"turn {index}: empty content")
        for entity in turn.entities:
            if entity.id in seen:
                problems.append(f"duplicate id {entity.id}")
            seen.add(entity.id)
            problems.extend(_check_spans(f"turn {index} entity", entity.id, entity.text, entity.offsets, turn.content))
            if labels.entity_types and entity.type not in labels.entity_types:
                problems.append(f"turn {index} entity {entity.id}: type {entity.type!r} not in the declared entity types")
    if record.labeled and record.turns and record.turns[-1].role != "assistant":
        problems.append("labeled dialogue does not end with an assistant turn")
    return problems


def _check_instruction(record: InstructionRecord, labels: LabelSet) -> list[str]:
    problems = ["empty instruction"] if not record.instruction.strip() else []
    if record.labeled and not record.output.strip():
        problems.append("labeled instruction with empty output")
    return problems


# each checker takes the record class of its schema (validate dispatches on ``record.schema``)
_CHECKERS: dict[str, Callable[[Any, LabelSet], list[str]]] = {
    "kb": _check_kb,
    "qa": _check_qa,
    "text": _check_text,
    "pairs": _check_pairs,
    "t2t": _check_t2t,
    "dialogue": _check_dialogue,
    "instruction": _check_instruction,
}


# --------------------------------------------------------------------------------------------- decision trees (Text2DT)
DECISION_TREE = "decision_tree"  # the text_2_name of a t2t record whose text_2 is a serialised DecisionNode tree
TREE_ROLES = ("C", "D")  # condition, decision
LOGICAL_RELATIONS = ("and", "or", "null")
Triple = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class DecisionNode:
    """A node of a medical decision tree (Text2DT): a condition (``C``) or a decision (``D``), each a set of
    (head, relation, tail) triples joined by ``logical_rel`` (``and``, ``or``, ``null`` for one triple or none).

    A condition has the subtree taken when it holds (``yes``) and the one taken when it does not (``no``); a
    decision is a leaf (its triples may be empty: nothing to do). The serialisation (:meth:`to_text`) is the
    nodes in pre-order as a JSON list, the layout Text2DT ships, and :meth:`parse` reads it back exactly."""

    role: str
    triples: tuple[Triple, ...]
    logical_rel: str
    yes: DecisionNode | None = None
    no: DecisionNode | None = None

    def preorder(self) -> list[DecisionNode]:
        """The tree's nodes in pre-order: a condition, then its ``yes`` subtree, then its ``no`` subtree."""
        order: list[DecisionNode] = []
        stack: list[DecisionNode] = [self]
        while stack:
            node = stack.pop()
            order.append(node)
            if node.no is not None:
                stack.append(node.no)
            if node.yes is not None:
                stack.append(node.yes)
        return order

    def to_nodes(self) -> list[dict[str, Any]]:
        """The pre-order node list, each ``{"role", "triples": [[head, relation, tail], ...], "logical_rel"}``."""
        return [{"role": n.role, "triples": [list(t) for t in n.triples], "logical_rel": n.logical_rel} for n in self.preorder()]

    def to_text(self) -> str:
        """The tree as one line of JSON (the pre-order node list, non-ASCII kept); :meth:`parse` inverts it."""
        return json.dumps(self.to_nodes(), ensure_ascii=False)

    @classmethod
    def from_nodes(cls, nodes: Any) -> DecisionNode:
        """The tree of a pre-order node list; ``ValueError`` naming the node when the list is not one well-formed
        tree (a bad role, relation or triple, a condition without its two branches, nodes left over)."""
        if not isinstance(nodes, list) or not nodes:
            raise ValueError("a decision tree is a non-empty list of nodes")
        built: list[DecisionNode] = []  # subtrees already built, read from the end of the pre-order list
        for index in range(len(nodes) - 1, -1, -1):
            role, triples, logical_rel = _tree_node(nodes[index], index)
            if role == "D":
                built.append(cls(role, triples, logical_rel))
                continue
            if len(built) < 2:
                raise ValueError(f"node {index}: condition without its two branches")
            yes, no = built.pop(), built.pop()
            built.append(cls(role, triples, logical_rel, yes, no))
        if len(built) != 1:
            raise ValueError(f"the nodes form {len(built)} trees, not one")
        return built[0]

    @classmethod
    def parse(cls, text: str) -> DecisionNode:
        """The tree serialised by :meth:`to_text`; ``ValueError`` when ``text`` is not one."""
        try:
            nodes = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc.msg}") from None
        return cls.from_nodes(nodes)


def _tree_node(raw: Any, index: int) -> tuple[str, tuple[Triple, ...], str]:
    """(role, triples, logical_rel) of one serialised node; ``ValueError`` naming it when malformed."""
    if not isinstance(raw, dict) or set(raw) != {"role", "triples", "logical_rel"}:
        raise ValueError(f"node {index}: expected exactly role, triples and logical_rel")
    role, triples, logical_rel = raw["role"], raw["triples"], raw["logical_rel"]
    if role not in TREE_ROLES or logical_rel not in LOGICAL_RELATIONS:
        raise ValueError(f"node {index}: role {role!r} / logical_rel {logical_rel!r} not in {TREE_ROLES} / {LOGICAL_RELATIONS}")
    if not isinstance(triples, list) or (role == "C" and not triples):
        raise ValueError(f"node {index}: triples must be a list, non-empty for a condition")
    for triple in triples:
        if not isinstance(triple, list) or len(triple) != 3 or not all(isinstance(x, str) and x.strip() for x in triple):
            raise ValueError(f"node {index}: triple {triple!r} is not [head, relation, tail] strings")
    return role, tuple((h, r, t) for h, r, t in triples), logical_rel
