"""Which task families a unified record yields, and each one's placeholder values and target structure.

A dataset's tasks come from its ``info.json`` (written by the converters): ``ner`` makes a joint NER example
(and, with ``decompose``, one example per entity type), ``re`` a triple-extraction example,
``relation_classification`` on text records a yes/no example (GAD, EU-ADR), ``classification`` /
``multilabel_classification`` / ``pair_classification`` / ``sts`` one example each, ``normalization`` a ``nen``
example on kb records (every normalised mention with its concepts) and a ``dialogue_symptoms`` example on dialogues
(the symptoms of the turns with their standard terms), ``coreference`` a ``coref`` example (the record's chains as
clusters of mentions, also when it has none), QA records one example of the
family of their question type (an open-ended type ``T`` the family ``qa_T`` when the library holds one; else
``qa_open_context`` / ``qa_open``), dialogues and Alpaca-style instructions one pass-through example. Only labelled
records yield examples (unlabelled test files have no target).

Issue 21's families: ``entailment`` pairs one ``entailment`` example (a label); ``summarization`` text-to-text records
one ``summarization`` example (source -> target); ``translation`` records two ``translation`` examples, one per
direction, each prompted in its source language (:func:`translation_languages`); and ``answer_selection`` datasets
(pairs of a question and one candidate answer, labelled correct or not) one ``answer_selection`` example per question:
its candidates are the records sharing a document id (:func:`record_units`), shown numbered, and the answer lists the
correct ones best first (:func:`answer_selection`). ``events`` makes an event-extraction example (and, with
``decompose``, one per event type the record holds: :func:`event_answer`); ``text_to_structure`` on a text-to-text
record whose target is a decision tree (Text2DT) a decision-tree example.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biohub.schema import (
    DECISION_TREE,
    DecisionNode,
    DialogueRecord,
    Event,
    InstructionRecord,
    KBRecord,
    PairsRecord,
    QARecord,
    Record,
    T2TRecord,
    TextRecord,
    document_text,
)
from biohub.templates.answers import LETTERS, AnswerSpec
from biohub.templates.example import Instance, Message
from biohub.templates.library import display_names, families, label_names, punctuation
from biohub.templates.tasks_coref import coreference_target
from biohub.templates.tasks_norm import dialogue_symptom_target, dialogue_text, normalization_target


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """What the templates need to know about a converted dataset (its ``info.json``; see :meth:`from_info`)."""

    name: str
    schema: str
    tasks: tuple[str, ...]
    entity_types: tuple[str, ...]
    relation_types: tuple[str, ...]
    classes: tuple[str, ...]
    multi_label: bool
    event_types: tuple[str, ...] = ()
    modification_types: tuple[str, ...] = ()  # of events (Negation, Speculation, CHIP-CDEE's tendency values)

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> DatasetInfo:
        """The dataset info of a conversion's ``info.json`` content (``biohub.converters.convert.conversion_info``):
        the observed entity, relation and event types, and the declared classes (the observed ones when none are
        declared).
        ``biohub instruct`` reads it from the file, ``biohub build`` takes it from the conversion it just ran."""
        observed = info["observed_labels"]
        declared = info["labels"]
        return cls(
            name=info["dataset"],
            schema=info["schema"],
            tasks=tuple(info["tasks"]),
            entity_types=tuple(observed["entity_types"]),
            relation_types=tuple(observed["relation_types"]),
            classes=tuple(declared["classes"]) or tuple(observed["classes"]),
            multi_label=bool(declared["multi_label"]),
            event_types=tuple(observed.get("event_types", ())),  # info.json written before events had families: none
            modification_types=tuple(observed.get("modification_types", ())),  # (before answers carried them: none)
        )

    @classmethod
    def load(cls, folder: Path) -> DatasetInfo:
        """Read ``info.json`` of a converted dataset folder (see :meth:`from_info`)."""
        return cls.from_info(json.loads((folder / "info.json").read_text(encoding="utf-8")))


def _spec(info: DatasetInfo, family: str, language: str, codes: tuple[str, ...]) -> AnswerSpec:
    """The answer spec of ``family``: its kind and prefix, labels ``codes`` shown by the family's ``label_names``."""
    punct = punctuation()[language]
    facts = families()[family]
    prefix = {"result": punct.result, "answer": punct.answer, "score": punct.score, "": ""}[facts.prefix]
    display = display_names(info.name, facts.label_names, codes, language) if facts.label_names else {}
    return AnswerSpec(facts.kind, punct, codes, display, prefix)


def _names(spec: AnswerSpec, codes: tuple[str, ...]) -> str:
    joiner = "、" if spec.punct.gap == "" else ", "
    return joiner.join(spec.name(code) for code in codes)


def instances(record: Record, info: DatasetInfo, *, decompose: bool = False) -> list[Instance]:
    """Every task instance of one labelled record (none for an unlabelled one)."""
    if not record.labeled:
        return []
    if isinstance(record, KBRecord):
        return _kb(record, info, decompose)
    if isinstance(record, TextRecord):
        return [_text(record, info)]
    if isinstance(record, PairsRecord):
        if ANSWER_SELECTION in info.tasks:
            return [answer_selection([record], info)]
        return [_pair(record, info)]
    if isinstance(record, T2TRecord):
        return _t2t(record, info)
    if isinstance(record, QARecord):
        return [_qa(record, info)]
    if isinstance(record, DialogueRecord):
        return [_dialogue(record, info), *_dialogue_symptoms(record, info)]
    if isinstance(record, InstructionRecord):
        return [_instruction(record, info)]
    return []


# --------------------------------------------------------------------------------------------- kb
def mention_text(texts: list[str]) -> str:
    """A (possibly discontinuous) mention as one string: its pieces joined by one space."""
    return " ".join(texts)


def _kb(record: KBRecord, info: DatasetInfo, decompose: bool) -> list[Instance]:
    text = document_text(record)
    out: list[Instance] = []
    if "ner" in info.tasks and info.entity_types:
        by_type: dict[str, list[str]] = {code: [] for code in info.entity_types}
        for entity in record.entities:
            by_type.setdefault(entity.type, []).append(mention_text(entity.text))
        spec = _spec(info, "ner", record.language, info.entity_types)
        out.append(Instance("ner", "", {"text": text, "types": _names(spec, info.entity_types)}, spec, by_type))
        single_family = families()["ner"].instruct.decompose_into
        if decompose and single_family:
            for code in info.entity_types:
                single = _spec(info, single_family, record.language, (code,))
                fields = {"text": text, "type": single.name(code)}
                out.append(Instance(single_family, f".{code}", fields, single, by_type[code]))
    if "re" in info.tasks and info.relation_types:
        names = {entity.id: mention_text(entity.text) for entity in record.entities}
        triples = [[r.type, names[r.arg1_id], names[r.arg2_id]] for r in record.relations]
        spec = _spec(info, "re", record.language, info.relation_types)
        out.append(Instance("re", "", {"text": text, "relations": _names(spec, info.relation_types)}, spec, triples))
    if "events" in info.tasks and info.event_types:
        out.extend(_events(record, info, text, decompose))
    if "normalization" in info.tasks:
        spec = _spec(info, "nen", record.language, info.entity_types)
        fields = {"text": text, "types": _names(spec, info.entity_types)}
        out.append(Instance("nen", "", fields, spec, normalization_target(record)))
    if "coreference" in info.tasks:
        spec = _spec(info, "coref", record.language, ())
        out.append(Instance("coref", "", {"text": text}, spec, coreference_target(record)))
    return out


def _events(record: KBRecord, info: DatasetInfo, text: str, decompose: bool) -> list[Instance]:
    """The event-extraction example of a record and, with ``decompose``, one per event type the record holds (its
    answer: the events of that type and the events they contain, which the answer must number to refer to them)."""
    spec = _event_spec(info, "events", record.language, info.event_types)
    fields = {"text": text, "types": _names(spec, info.event_types)}
    out = [Instance("events", "", fields, spec, event_answer(record))]
    single_family = families()["events"].instruct.decompose_into
    if decompose and single_family:
        present = {event.type for event in record.events}
        for code in (code for code in info.event_types if code in present):
            single = _event_spec(info, single_family, record.language, (code, *(c for c in info.event_types if c != code)))
            fields = {"text": text, "type": single.name(code)}
            out.append(Instance(single_family, f".{code}", fields, single, event_answer(record, {code})))
    return out


def _event_spec(info: DatasetInfo, family: str, language: str, codes: tuple[str, ...]) -> AnswerSpec:
    """The spec of an events answer: the event types ``codes`` (for a decomposed example the asked type first) with
    their display names, the display names of the dataset's argument roles (label file group ``event_roles``), and
    the modification types its events carry (``modifiers``, shown by the group ``event_modifications``)."""
    spec = _spec(info, family, language, codes)
    names = label_names(info.name)
    roles = {code: shown[language] for code, shown in names.get("event_roles", {}).items()}
    modifiers = names.get("event_modifications", {})
    shown_modifiers = {code: modifiers.get(code, {}).get(language, code) for code in info.modification_types}
    display = {**roles, **shown_modifiers, **spec.display}
    return dataclasses.replace(spec, display=display, modifiers=info.modification_types)


def event_answer(record: KBRecord, types: Collection[str] | None = None) -> list[list[Any]]:
    """The events of ``record`` as an events answer (``biohub.templates.answers_events``): every event, or those of
    ``types`` and the events they contain, in document order of their triggers; each ``[type, trigger text,
    [[role, entity text or event number], ...]]`` and, for an event with modifications, their types as a fourth item
    (the answer kind's canonical form moves contained events first and orders the modifications)."""
    def place(event: Event) -> tuple[int, int, str, str]:
        return min(s for s, _ in event.trigger.offsets), max(e for _, e in event.trigger.offsets), event.type, event.id

    ordered = sorted(record.events, key=place)
    if types is not None:
        nested = {event.id: [a.ref_id for a in event.arguments] for event in record.events}
        keep: set[str] = set()
        todo = [event.id for event in record.events if event.type in types]
        while todo:
            event_id = todo.pop()
            if event_id not in keep:
                keep.add(event_id)
                todo.extend(ref for ref in nested[event_id] if ref in nested)
        ordered = [event for event in ordered if event.id in keep]
    number = {event.id: index for index, event in enumerate(ordered, start=1)}
    refer: dict[str, Any] = {entity.id: mention_text(entity.text) for entity in record.entities} | number
    modified: dict[str, dict[str, None]] = {}
    for modification in record.modifications:
        modified.setdefault(modification.ref_id, {})[modification.type] = None
    answer = []
    for event in ordered:
        item = [event.type, mention_text(event.trigger.text), [[a.role, refer[a.ref_id]] for a in event.arguments]]
        answer.append([*item, list(modified[event.id])] if event.id in modified else item)
    return answer


# --------------------------------------------------------------------------------------------- text, pairs
def _text(record: TextRecord, info: DatasetInfo) -> Instance:
    if "relation_classification" in info.tasks:
        family = "re_binary"
    else:
        family = "multilabel_classification" if info.multi_label else "classification"
    spec = _spec(info, family, record.language, info.classes)
    target: Any = list(record.labels) if family == "multilabel_classification" else record.labels[0]
    return Instance(family, "", {"text": record.text, "labels": _names(spec, info.classes)}, spec, target)


def _pair(record: PairsRecord, info: DatasetInfo) -> Instance:
    fields = {"text_1": record.text_1, "text_2": record.text_2}
    if record.score is not None and not record.label:
        return Instance("sts", "", fields, _spec(info, "sts", record.language, ()), record.score)
    family = "entailment" if "entailment" in info.tasks else "pair_classification"
    spec = _spec(info, family, record.language, info.classes)
    return Instance(family, "", {**fields, "labels": _names(spec, info.classes)}, spec, record.label)


# --------------------------------------------------------------------------------------------- answer selection
ANSWER_SELECTION = "answer_selection"
POSITIVE_CLASSES = ("1", "true", "yes", "correct")  # the class of a candidate that answers its question


def record_units(records: Sequence[Record], info: DatasetInfo) -> list[list[Record]]:
    """The records that make examples together, in the order of their first record: for an answer-selection dataset
    the candidates of one question (the records sharing a document id), else each record alone."""
    if ANSWER_SELECTION not in info.tasks:
        return [[record] for record in records]
    units: dict[str, list[Record]] = {}
    for record in records:
        units.setdefault(record.document_id, []).append(record)
    return list(units.values())


def unit_instances(unit: Sequence[Record], info: DatasetInfo, *, decompose: bool = False) -> list[Instance]:
    """Every task instance of a unit of :func:`record_units`: a question's answer-selection task (none unless every
    candidate is labelled), or the instances of a record alone."""
    if len(unit) == 1:
        return instances(unit[0], info, decompose=decompose)
    if not all(record.labeled for record in unit):
        return []
    return [answer_selection(unit, info)]


def _meta_number(record: Record, key: str) -> float:
    value = json.loads(record.meta).get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.inf


def answer_selection(
    candidates: Sequence[Record], info: DatasetInfo, window: tuple[int, int] | None = None, index: int = 0
) -> Instance:
    """The answer-selection task of one question: its candidate answers (the ``text_2`` of its records, in the order
    of ``meta.system_rank`` when given, else as read) numbered from 1 in ``{options}``, and as target the numbers of
    the correct ones (label :data:`POSITIVE_CLASSES`), best first (by ``meta.reference_rank`` when given, else in
    candidate order). ``window`` = ``[start, end)``: only those candidates (renumbered from 1; id suffix ``.w<index>``)."""
    ordered = sorted(candidates, key=lambda record: _meta_number(record, "system_rank"))
    pairs = [record for record in ordered if isinstance(record, PairsRecord)]
    if len(pairs) != len(ordered) or len({record.text_1 for record in pairs}) != 1:
        raise ValueError(f"{ordered[0].id}: answer selection needs pairs records of one question")
    positive = next((code for code in POSITIVE_CLASSES if code in info.classes), None)
    if positive is None:
        raise ValueError(f"{info.name}: no class of {POSITIVE_CLASSES} marks a correct candidate (classes: {info.classes})")
    start, end = window or (0, len(pairs))
    shown = pairs[start:end]
    correct = [number for number, record in enumerate(shown, start=1) if record.label == positive]
    target = sorted(correct, key=lambda number: (_meta_number(shown[number - 1], "reference_rank"), number))
    language = pairs[0].language
    spec = _spec(info, ANSWER_SELECTION, language, tuple(str(number) for number in range(1, len(shown) + 1)))
    options = "\n\n".join(f"[{number}] {record.text_2}" for number, record in enumerate(shown, start=1))
    suffix = f".w{index}" if window is not None else ""
    fields = {"question": pairs[0].text_1, "options": options}
    return Instance(ANSWER_SELECTION, suffix, fields, spec, target, candidates=list(pairs))


# --------------------------------------------------------------------------------------------- text to text
OTHER_LANGUAGE = {"en": "zh", "zh": "en"}


def translation_languages(record: T2TRecord) -> tuple[str, str]:
    """(language of ``text_1``, language of ``text_2``): the texts' names when they are language codes (ParaMed:
    ``en`` / ``zh``), else the record's language and the other one."""
    names = (record.text_1_name, record.text_2_name)
    if all(name in OTHER_LANGUAGE for name in names) and names[0] != names[1]:
        return names[0], names[1]
    return record.language, OTHER_LANGUAGE[record.language]


def _t2t(record: T2TRecord, info: DatasetInfo) -> list[Instance]:
    """The summarization or translation examples of a text-to-text record, or the decision-tree example (Text2DT) of
    a text-to-structure record whose target is a serialised tree."""
    if "text_to_structure" in info.tasks and record.text_2_name == DECISION_TREE:
        tree = DecisionNode.parse(record.text_2).to_nodes()
        return [Instance("decision_tree", "", {"text": record.text_1}, _spec(info, "decision_tree", record.language, ()), tree)]
    if "summarization" in info.tasks:
        spec = _spec(info, "summarization", record.language, ())
        return [Instance("summarization", "", {"text": record.text_1}, spec, record.text_2)]
    if "translation" not in info.tasks:
        return []
    first, second = translation_languages(record)
    out = []
    for source, target, text, reference in ((first, second, record.text_1, record.text_2),
                                            (second, first, record.text_2, record.text_1)):
        spec = _spec(info, "translation", source, ())
        extra = {"target_language": target}
        out.append(Instance("translation", f".{source}-{target}", {"text": text}, spec, reference, extra, language=source))
    return out


# --------------------------------------------------------------------------------------------- qa
def _qa(record: QARecord, info: DatasetInfo) -> Instance:
    if record.type == "multiple_choice":
        letters = tuple(LETTERS[: len(record.choices)])
        spec = _spec(info, "qa_multiple_choice", record.language, letters)
        options = "\n".join(f"{letter}. {choice}" for letter, choice in zip(letters, record.choices))
        target = [letters[record.choices.index(answer)] for answer in record.answer]
        fields = {"question": record.question, "options": options}
        return Instance("qa_multiple_choice", "", fields, spec, target, choices=list(record.choices))
    if record.type == "yesno":
        codes = tuple(record.choices)
        spec = _spec(info, "qa_yesno", record.language, codes)
        fields = {"question": record.question, "context": record.context, "options": _names(spec, codes)}
        return Instance("qa_yesno", "", fields, spec, record.answer[0])
    if record.type in ("factoid", "list"):
        family = f"qa_{record.type}"
        spec = _spec(info, family, record.language, ())
        groups = json.loads(record.meta).get("exact_answer")
        if groups and all(isinstance(group, list) and group for group in groups):
            target = [group[0] for group in groups]  # one name per answer entity; synonyms stay in gold
        else:
            target = list(record.answer[:1]) if record.type == "factoid" else list(record.answer)
        if record.type == "factoid":
            target = target[:1]
        extra = {"synonyms": groups} if groups else {}
        return Instance(family, "", {"question": record.question, "context": record.context}, spec, target, gold_extra=extra)
    fields = {"question": record.question, **({"context": record.context} if record.context.strip() else {})}
    family = _open_family(record.type, fields)
    return Instance(family, "", fields, _spec(info, family, record.language, ()), record.answer[0])


def _open_family(question_type: str, fields: dict[str, str]) -> str:
    """The family of an open-ended question (``summary``, ``open``): ``qa_<type>`` when the library holds a free-text
    family of that name whose placeholders are the question's fields (a family file is enough, e.g. ``qa_summary``),
    else ``qa_open_context`` (with a context) or ``qa_open``."""
    own = families().get(f"qa_{question_type}")
    if own is not None and own.kind == "text" and set(own.placeholders) == set(fields):
        return own.name
    return "qa_open_context" if "context" in fields else "qa_open"


# --------------------------------------------------------------------------------------------- pass-through
def _dialogue(record: DialogueRecord, info: DatasetInfo) -> Instance:
    turns = [Message(turn.role, turn.content) for turn in record.turns]
    spec = _spec(info, "dialogue", record.language, ())
    return Instance("dialogue", "", {}, spec, turns[-1].content, conversation=turns[:-1])


def _dialogue_symptoms(record: DialogueRecord, info: DatasetInfo) -> list[Instance]:
    """The symptoms a dialogue mentions with their standard terms (datasets with ``normalization``), or nothing."""
    if "normalization" not in info.tasks:
        return []
    spec = _spec(info, "dialogue_symptoms", record.language, ())
    fields = {"text": dialogue_text(record, spec.punct, record.language)}
    return [Instance("dialogue_symptoms", "", fields, spec, dialogue_symptom_target(record))]


def _instruction(record: InstructionRecord, info: DatasetInfo) -> Instance:
    user = record.instruction if not record.input.strip() else f"{record.instruction}\n\n{record.input}"
    spec = _spec(info, "instruction", record.language, ())
    return Instance("instruction", "", {}, spec, record.output, conversation=[Message("user", user)])
