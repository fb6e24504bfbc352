"""Turn task instances into chat examples: seeded template (and format) choice, prompt, target, gold, meta.

The template of an example is chosen by a hash of ``(seed, example id)``, so the choice does not depend on
the order records are processed in, and the same inputs + seed give the same bytes. The chosen template id
(and the family's version) is recorded with every example.
"""

from __future__ import annotations

import json
from typing import Any

from biohub.schema import Record
from biohub.templates.answers import CODECS, AnswerSpec, canonical, render
from biohub.templates.example import Instance, InstructionExample, Message, spec_meta
from biohub.templates.library import Template, families
from biohub.text import seeded_choice

_PLACEHOLDER_WORDS = {
    "en": {
        "mention": "mention ",
        "answer": "answer ",
        "label": "label ",
        "relation": "relation ",
        "head": "head",
        "tail": "tail",
    },
    "zh": {"mention": "实体", "answer": "答案", "label": "标签", "relation": "关系", "head": "头实体", "tail": "尾实体"},
}


def layout_example(spec: AnswerSpec, answer_format: str, language: str) -> str:
    """A rendered answer showing the layout, for the format hint: placeholders for mentions, answers, labels and
    relations, so that a model copying the layout names nothing real; real names only where the layout needs them
    (entity-type keys, the single relation of a one-relation task)."""
    words = _PLACEHOLDER_WORDS["zh" if language == "zh" else "en"]

    def numbered(kind: str) -> list[str]:
        return [f"{words[kind]}1", f"{words[kind]}2"]

    if spec.kind == "spans_by_type":
        value: Any = {code: (numbered("mention") if index == 0 else []) for index, code in enumerate(spec.labels)}
    elif spec.kind == "spans":
        value = numbered("answer" if spec.prefix else "mention")
    elif spec.kind == "triples":
        relations = [spec.labels[0]] * 2 if len(spec.labels) == 1 else numbered("relation")
        value = [list(triple) for triple in zip(relations, numbered("head"), numbered("tail"))] if spec.labels else []
    elif spec.kind == "label":
        value = words["answer" if spec.prefix == spec.punct.answer else "label"].strip()
    elif spec.kind == "labels":
        value = numbered("label")
    elif spec.kind == "choices":
        value = ["B"]
    elif spec.kind == "score":
        value = 2.5
    elif spec.kind in CODECS:
        value = CODECS.get(spec.kind).layout(spec, language)
    else:
        return ""
    return render(spec, value, answer_format)


def prompt_text(template: Template, instance: Instance, answer_format: str) -> str:
    """The user message: the filled template, then the family's format hint for this format and language."""
    family = families()[instance.family]
    prompt = template.fill(**instance.fields)
    hint = family.hints[answer_format][template.language]
    if hint:
        example = layout_example(instance.spec, answer_format, template.language)
        prompt = f"{prompt}\n\n{hint.format(example=example, **instance.fields)}"
    spec = instance.spec
    if spec.modifiers and family.modifier_hints:  # the answer's items may carry modifications: say which
        names = ("、" if spec.punct.gap == "" else ", ").join(spec.name(code) for code in spec.modifiers)  # as {types}
        prompt = f"{prompt}\n{family.modifier_hints[answer_format][template.language].format(modifiers=names)}"
    return prompt


def messages_for(template: Template, instance: Instance, answer_format: str) -> list[Message]:
    """The conversation of one example: user prompt (or system prompt + turns) and the target answer."""
    expected = set(families()[instance.family].placeholders)
    if set(instance.fields) != expected:
        raise ValueError(f"{instance.family}: fields {sorted(instance.fields)} but the templates use {sorted(expected)}")
    target = render(instance.spec, instance.target, answer_format)
    if families()[instance.family].instruct.pass_through:  # the templates are system prompts
        turns = list(instance.conversation)
        system = template.text
        if turns and turns[0].role == "system":  # the record's own system turn follows the template's, in one message
            system = f"{system}\n\n{turns.pop(0).content}"
        return [Message("system", system), *turns, Message("assistant", target)]
    return [Message("user", prompt_text(template, instance, answer_format)), Message("assistant", target)]


def format_for(instance: Instance, example_id: str, seed: int, formats: tuple[str, ...]) -> str:
    """The answer format of an example: free-text answers are always plain text (``lines``); otherwise one of
    ``formats``, chosen by the seeded hash when several are allowed."""
    if instance.spec.kind == "text":
        return "lines"
    return formats[seeded_choice(len(formats), seed, example_id, "format")] if len(formats) > 1 else formats[0]


def build_example(
    record: Record,
    instance: Instance,
    *,
    seed: int,
    formats: tuple[str, ...],
    source_id: str | None = None,
    extra_meta: dict[str, Any] | None = None,
) -> InstructionExample:
    """One example from one instance of ``record`` (a window of a long record keeps the original's ``source_id``)."""
    family = families()[instance.family]
    example_id = f"{record.id}:{instance.family}{instance.suffix}"
    language = instance.language or record.language
    options = family.templates[language]
    template = options[seeded_choice(len(options), seed, example_id)]
    answer_format = format_for(instance, example_id, seed, formats)
    gold = {"value": canonical(instance.spec, instance.target), **instance.gold_extra}
    meta = {
        "answer": spec_meta(instance.spec, answer_format, language, instance.choices),
        "template_version": family.version,
        **(extra_meta or {}),
    }
    return InstructionExample(
        id=example_id,
        source_id=source_id or record.id,
        dataset=record.dataset,
        split=record.split,
        task=instance.family,
        language=language,
        template_id=template.id,
        messages=messages_for(template, instance, answer_format),
        gold=json.dumps(gold, ensure_ascii=False, sort_keys=True),
        meta=json.dumps(meta, ensure_ascii=False, sort_keys=True),
    )


def longest_template(family: str, language: str) -> Template:
    """The family's longest template in a language (a conservative choice for length checks)."""
    return max(families()[family].templates[language], key=lambda template: len(template.text))
