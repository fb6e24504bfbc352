"""The instruction example: one chat-formatted training/evaluation item made from one unified record.

``gold`` is the structured answer (JSON, in the dataset's label codes) that evaluation compares parsed model
output with; ``meta`` (JSON) holds what a parser needs to read an answer back (answer kind, format, label codes,
display names, option texts), where the example came from (window of a split document, template version) and,
for NER and RE examples, ``gold_kb``: the gold entities (type, text, occurrences, concept ids) and relations (concept
ids) that the official metrics count with (:func:`biohub.templates.instruct.gold_kb_meta`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from datasets import Features, List, Value

from biohub.templates.answers import AnswerSpec, Punctuation


@dataclass(slots=True)
class Message:
    """One chat turn: who speaks (system, user or assistant) and what they say."""

    role: str  # system | user | assistant
    content: str


@dataclass(slots=True)
class InstructionExample:
    """One chat-formatted example as stored in a hub dataset row: its ids and provenance, the template used, the
    conversation, the gold answer (JSON) and the parser metadata (JSON)."""

    id: str
    source_id: str
    dataset: str
    split: str
    task: str
    language: str
    template_id: str
    messages: list[Message]
    gold: str
    meta: str = "{}"

    def to_row(self) -> dict[str, Any]:
        """The example as a row of :data:`EXAMPLE_FEATURES` (messages as role/content dicts)."""
        row = {name: getattr(self, name) for name in EXAMPLE_FEATURES}
        row["messages"] = [{"role": m.role, "content": m.content} for m in self.messages]
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> InstructionExample:
        """Rebuild an example from a row of :data:`EXAMPLE_FEATURES` (the inverse of :meth:`to_row`)."""
        fields = {name: row[name] for name in EXAMPLE_FEATURES if name != "messages"}
        return cls(**fields, messages=[Message(m["role"], m["content"]) for m in row["messages"]])

    @property
    def target(self) -> str:
        """The text of the last assistant message (what the model must produce)."""
        return self.messages[-1].content

    def answer_spec(self) -> tuple[AnswerSpec, str, list[str]]:
        """The spec, answer format and option texts stored in ``meta`` (to parse a model's answer)."""
        return spec_from_meta(json.loads(self.meta))


EXAMPLE_FEATURES = Features(
    {
        "id": Value("string"),
        "source_id": Value("string"),
        "dataset": Value("string"),
        "split": Value("string"),
        "task": Value("string"),
        "language": Value("string"),
        "template_id": Value("string"),
        "messages": List({"role": Value("string"), "content": Value("string")}),
        "gold": Value("string"),
        "meta": Value("string"),
    }
)


def spec_meta(spec: AnswerSpec, answer_format: str, language: str, choices: list[str] | None = None) -> dict[str, Any]:
    """What to store in ``meta["answer"]`` so that a parser can be rebuilt without the template library
    (``modifiers`` only when the spec has some)."""
    meta: dict[str, Any] = {
        "kind": spec.kind,
        "format": answer_format,
        "language": language,
        "labels": list(spec.labels),
        "display": dict(spec.display),
        "prefix": spec.prefix,
        "choices": list(choices or []),
    }
    if spec.modifiers:
        meta["modifiers"] = list(spec.modifiers)
    return meta


@cache
def _punctuation(language: str) -> Punctuation:
    from biohub.templates.library import punctuation

    return punctuation()[language]


def spec_from_meta(meta: dict[str, Any]) -> tuple[AnswerSpec, str, list[str]]:
    """The answer spec, answer format and option texts stored by :func:`spec_meta` (the inverse of it)."""
    answer = meta["answer"]
    punctuation = _punctuation(answer["language"])
    labels, modifiers = tuple(answer["labels"]), tuple(answer.get("modifiers", ()))
    spec = AnswerSpec(answer["kind"], punctuation, labels, dict(answer["display"]), answer["prefix"], modifiers)
    return spec, answer["format"], list(answer["choices"])


@dataclass(slots=True)
class Instance:
    """One task made from a record (or, for answer selection, from the candidate records of one question), before a
    template is chosen: the family, placeholder values, the answer spec and canonical target, extra gold fields, (for
    dialogue/instruction) the conversation itself, the prompt's language when it is not the record's, and the
    candidate records an answer-selection task shows (to split a long one into windows)."""

    family: str
    suffix: str
    fields: dict[str, str]
    spec: AnswerSpec
    target: Any
    gold_extra: dict[str, Any] = field(default_factory=dict)
    choices: list[str] = field(default_factory=list)
    conversation: list[Message] = field(default_factory=list)  # dialogue/instruction: turns before the target
    language: str = ""  # the prompt's language when it is not the record's (translation into the record's language)
    candidates: list[Any] = field(default_factory=list)  # answer selection: the question's candidate records (windows)
