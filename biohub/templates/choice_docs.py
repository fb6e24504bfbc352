"""Closed-answer examples as option lists: which task families are scored by option log-likelihood, and each example
row's choice doc (the prompt, the answer keyword, the options as the answer writes them, the gold option).

Used by ``biohub export --format lm-eval`` (its ``multiple_choice`` tasks) and by ``biohub eval --protocol loglik``
(:mod:`biohub.eval.loglik`), so both score the same options of the same rows. The choice families are those whose
file sets ``hub.choice_export``: one-gold-option multiple choice, yes/no(/maybe), binary relations and single-label
(pair) classification and entailment (answer kinds ``choices`` and ``label``).
"""

from __future__ import annotations

import json
from typing import Any

from biohub.errors import ConfigError
from biohub.templates.answers import render
from biohub.templates.example import spec_from_meta
from biohub.templates.library import families

__all__ = ["DOC_KEYS", "choice_families", "loglik_doc", "system_and_turns"]

DOC_KEYS = ("id", "source_id", "dataset", "task", "language", "template_id")


def system_and_turns(messages: list[dict[str, str]]) -> tuple[str, list[dict[str, str]]]:
    """The system prompt ("" when there is none) and the other turns of a conversation."""
    if messages[0]["role"] == "system":
        return messages[0]["content"], messages[1:]
    return "", messages


def choice_families() -> tuple[str, ...]:
    """The families exported as ``multiple_choice`` tasks too (``hub.choice_export`` in their files), by name."""
    return tuple(name for name, family in families().items() if family.hub.choice_export)


def loglik_doc(row: dict[str, Any], where: str) -> tuple[dict[str, Any] | None, str, str]:
    """(choice doc, target delimiter, "") for a row lm-eval can score by option log-likelihood, or (None, "", the reason
    it is left out). A target that is not the rendering of the row's gold answer is an error naming ``where``."""
    if row["task"] not in choice_families():
        return None, "", "other_task"
    system, turns = system_and_turns(row["messages"])
    if len(turns) != 2:
        return None, "", "multi_turn"
    spec, answer_format, _ = spec_from_meta(json.loads(row["meta"]))
    if answer_format != "lines":
        return None, "", "json_answer_format"
    gold = json.loads(row["gold"])["value"]
    if spec.kind == "choices":
        if len(gold) != 1:
            return None, "", "several_gold_options"
        values: list[Any] = [[letter] for letter in spec.labels]
        gold = [gold[0]]
    elif spec.kind == "label":
        values = list(spec.labels)
    else:
        raise ConfigError(f"{where}: task {row['task']} has answer kind {spec.kind!r}; expected 'choices' or 'label'")
    keyword = f"{spec.prefix}{spec.punct.kv}" if spec.prefix else ""
    delimiter = spec.punct.gap if spec.prefix else ""
    choices = []
    for value in values:
        rendered = render(spec, value, "lines")
        if not rendered.startswith(keyword + delimiter):
            raise ConfigError(f"{where}: rendered answer {rendered!r} does not start with {keyword + delimiter!r}")
        choices.append(rendered[len(keyword + delimiter) :])
    target = turns[1]["content"]
    if gold not in values or render(spec, gold, "lines") != target:
        raise ConfigError(f"{where}: target {target!r} is not the rendering of gold {gold!r} among {values!r}")
    doc = {name: row[name] for name in DOC_KEYS}
    doc.update(system=system, prompt=turns[0]["content"], keyword=keyword, choices=choices, gold_index=values.index(gold))
    doc["target"] = target
    return doc, delimiter, ""
