"""The template library: the real family files load, and malformed family files fail with a named entry.

Bad family files are small invented ``toy.yaml`` files written into ``tmp_path`` and loaded with
``load_family``; every error must be a :class:`TemplateError` whose message names the file and the entry.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from biohub.templates.answers import answer_kinds
from biohub.templates.library import (
    LANGUAGES,
    MIN_TEMPLATES,
    PLACEHOLDERS,
    PREFIXES,
    TemplateError,
    data_dir,
    families,
    load_family,
)

FAMILY_FILES = sorted(path.stem for path in (data_dir() / "families").glob("*.yaml"))


# ------------------------------------------------------------------------------------------ the real library
def test_real_library_loads_every_family_file() -> None:
    loaded = families()
    assert sorted(loaded) == FAMILY_FILES
    assert len(loaded) >= 16


@pytest.mark.parametrize("name", FAMILY_FILES)
def test_every_family_has_enough_templates_in_both_languages(name: str) -> None:
    family = families()[name]
    assert family.name == name
    assert family.kind in answer_kinds() and family.prefix in PREFIXES
    assert isinstance(family.version, int) and family.version >= 1
    assert set(family.placeholders) <= PLACEHOLDERS
    for language in LANGUAGES:
        templates = family.templates[language]
        assert len(templates) >= MIN_TEMPLATES >= 10
        assert len({t.id for t in templates}) == len(templates)
        assert len({t.text for t in templates}) == len(templates)
        for template in templates:
            assert template.id.startswith(f"{name}.{language}.")
            assert (template.family, template.version, template.language) == (name, family.version, language)
        for answer_format in ("lines", "json"):
            assert isinstance(family.hints[answer_format][language], str)


def test_template_ids_are_unique_across_the_library() -> None:
    ids = [t.id for family in families().values() for language in LANGUAGES for t in family.templates[language]]
    assert len(ids) == len(set(ids))


def test_real_templates_fill_with_their_placeholders() -> None:
    for family in families().values():
        values = {name: f"<{name}>" for name in family.placeholders}
        for language in LANGUAGES:
            for template in family.templates[language]:
                filled = template.fill(**values)
                assert all(value in filled for value in values.values()), template.id


# ------------------------------------------------------------------------------------------ a toy family
def toy_family(count: int = MIN_TEMPLATES) -> dict[str, Any]:
    """A valid family named ``toy`` (the file must be ``toy.yaml``)."""
    return {
        "family": "toy",
        "version": 1,
        "kind": "label",
        "prefix": "result",
        "placeholders": ["text", "labels"],
        "label_names": "classes",
        "hub": {"stage": 1, "task_category": "text-classification"},
        "eval": {
            "scorer": "label", "metrics": ["accuracy", "macro_f1"], "headline": "accuracy", "group": "TC",
            "max_new_tokens": 16,
        },
        "format_hints": {
            "lines": {"en": "Answer as:\n{example}", "zh": "格式：\n{example}"},
            "json": {"en": "Reply with JSON like {example} (labels: {labels})", "zh": "输出JSON，例如 {example}"},
        },
        "templates": {
            language: [
                {
                    "id": f"toy.{language}.{index:02d}",
                    "text": f"Variant {index} ({language}): classify {{text}} as one of {{labels}}.",
                }
                for index in range(1, count + 1)
            ]
            for language in LANGUAGES
        },
    }


def write_family(tmp_path: Path, data: dict[str, Any] | str, name: str = "toy") -> Path:
    path = tmp_path / f"{name}.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def test_toy_family_loads(tmp_path: Path) -> None:
    family = load_family(write_family(tmp_path, toy_family()))
    assert family.name == "toy" and family.version == 1 and family.kind == "label" and family.prefix == "result"
    assert family.placeholders == ("text", "labels")
    assert [t.id for t in family.templates["zh"]][:2] == ["toy.zh.01", "toy.zh.02"]
    assert family.templates["en"][0].fill(text="T", labels="a, b") == "Variant 1 (en): classify T as one of a, b."
    assert family.hints["json"]["en"].startswith("Reply with JSON")


def test_toy_family_may_have_more_than_the_minimum(tmp_path: Path) -> None:
    family = load_family(write_family(tmp_path, toy_family(count=12)))
    assert len(family.templates["en"]) == 12


# ------------------------------------------------------------------------------------------ loader errors
Mutation = Callable[[dict[str, Any]], None]


def _set_text(language: str, index: int, text: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["templates"][language][index]["text"] = text

    return mutate


def _set_id(language: str, index: int, template_id: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["templates"][language][index]["id"] = template_id

    return mutate


def _set(key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data[key] = value

    return mutate


def _drop_last(language: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["templates"][language].pop()

    return mutate


def _hint(answer_format: str, language: str, text: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["format_hints"][answer_format][language] = text

    return mutate


def _add_key(*path: str | int, key: str = "note", value: Any = "extra") -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path:
            target = target[step]
        target[key] = value

    return mutate


# (mutation, the entry the message must name, a fragment of the reason)
ERRORS: dict[str, tuple[Mutation, str, str]] = {
    "unknown placeholder": (
        _set_text("en", 3, "Classify {text} as {labels} in {colour}."),
        ".templates.en[3]",
        "unknown placeholder",
    ),
    "empty placeholder": (_set_text("zh", 0, "把{text}归入{labels}{}"), ".templates.zh[0]", "unknown placeholder"),
    "unbalanced brace": (_set_text("en", 2, "Classify {text as {labels}."), ".templates.en[2]", "bad braces"),
    "missing declared placeholder": (_set_text("zh", 4, "请判断{text}的类别。"), ".templates.zh[4]", "the family declares"),
    "undeclared known placeholder": (
        _set_text("en", 1, "Classify {text} as {labels}; see {question}."),
        ".templates.en[1]",
        "the family declares",
    ),
    "too few templates (en)": (_drop_last("en"), ".templates.en", f"at least {MIN_TEMPLATES}"),
    "too few templates (zh)": (_drop_last("zh"), ".templates.zh", f"at least {MIN_TEMPLATES}"),
    "templates not a list": (
        _add_key("templates", key="en", value="Classify {text} as {labels}."),
        ".templates.en",
        "expected a list",
    ),
    "id with one digit": (_set_id("en", 0, "toy.en.1"), ".templates.en[0]", "must look like toy.en.NN"),
    "id of another family": (_set_id("en", 5, "other.en.06"), ".templates.en[5]", "must look like toy.en.NN"),
    "id of the other language": (_set_id("zh", 2, "toy.en.03"), ".templates.zh[2]", "must look like toy.zh.NN"),
    "id with capitals": (_set_id("en", 6, "Toy.en.07"), ".templates.en[6]", "must look like"),
    "id not a string": (_set_id("en", 7, 8), ".templates.en[7].id", "expected a string"),
    "duplicate texts": (_set_text("en", 9, "Variant 1 (en): classify {text} as one of {labels}."), ".templates.en", "distinct"),
    "duplicate ids": (_set_id("zh", 9, "toy.zh.01"), ".templates.zh", "distinct"),
    "version a string": (_set("version", "1"), ".version", "expected an integer"),
    "version a float": (_set("version", 1.5), ".version", "expected an integer"),
    "version a bool": (_set("version", True), ".version", "expected an integer"),
    "version zero": (_set("version", 0), ".version", "positive integer"),
    "hint with a placeholder the family lacks": (
        _hint("lines", "en", "Answer about {question}:\n{example}"),
        ".format_hints.lines.en",
        "a hint may use only",
    ),
    "hint with an unknown placeholder": (
        _hint("json", "zh", "例如 {example}{colour}"),
        ".format_hints.json.zh",
        "unknown placeholder",
    ),
    "hint not a string": (_hint("json", "en", ["a", "list"]), ".format_hints.json.en", "expected a string"),
    "unknown top-level key": (_add_key(key="description"), "", "unknown key(s) description"),
    "unknown key in a template entry": (
        _add_key("templates", "zh", 3, key="note"),
        ".templates.zh[3]",
        "unknown key(s) note",
    ),
    "unknown answer format in hints": (
        _add_key("format_hints", key="xml", value={"en": "", "zh": ""}),
        ".format_hints",
        "unknown key(s) xml",
    ),
    "unknown language in hints": (
        _add_key("format_hints", "lines", key="fr", value=""),
        ".format_hints.lines",
        "unknown key(s) fr",
    ),
    "unknown language in templates": (_add_key("templates", key="fr", value=[]), ".templates", "unknown key(s) fr"),
    "missing key": (lambda data: data.pop("prefix"), "", "missing key(s) prefix"),
    "missing language": (lambda data: data["templates"].pop("zh"), ".templates", "missing key(s) zh"),
    "missing id in an entry": (lambda data: data["templates"]["en"][4].pop("id"), ".templates.en[4]", "missing key(s) id"),
    "family is not the file name": (_set("family", "other"), "", "must equal the file name"),
    "unknown kind": (_set("kind", "forest"), ".kind", "unknown answer kind 'forest'"),
    "misspelt kind": (_set("kind", "lable"), ".kind", "did you mean 'label'"),
    "unknown label group": (_set("label_names", "colours"), ".label_names", "is not one of"),
    "unknown key in eval": (_add_key("eval", key="scorers", value=["label"]), ".eval", "unknown key(s) scorers"),
    "missing key in hub": (lambda data: data["hub"].pop("stage"), ".hub", "missing key(s) stage"),
    "stage 3": (lambda data: data["hub"].update(stage=3), ".hub.stage", "is not one of 1, 2"),
    "unknown task category": (
        lambda data: data["hub"].update(task_category="tabular"),
        ".hub.task_category",
        "unknown task category",
    ),
    "unknown metric": (
        lambda data: data["eval"].update(metrics=["accuracy", "macro_f2"]),
        ".eval.metrics[1]",
        "did you mean 'macro_f1'",
    ),
    "unknown report group": (lambda data: data["eval"].update(group="CLS"), ".eval.group", "unknown report group 'CLS'"),
    "headline not computed": (
        lambda data: data["eval"].update(headline="micro_f1"),
        ".eval.headline",
        "not one of the family's metrics",
    ),
    "official headline not computed": (
        lambda data: data["eval"].update(headline_by_official={"f1": "f1_positive"}),
        ".eval.headline_by_official.f1",
        "not one of the family's metrics",
    ),
    "no metrics": (lambda data: data["eval"].update(metrics=[]), ".eval.metrics", "non-empty"),
    "zero budget": (lambda data: data["eval"].update(max_new_tokens=0), ".eval.max_new_tokens", "must be positive"),
    "unknown instruct rule": (_add_key(key="instruct", value={"windows": True}), ".instruct", "unknown key(s) windows"),
    "unknown prefix": (_set("prefix", "verdict"), "", "prefix must be one of"),
    "unknown declared placeholder": (
        _set("placeholders", ["text", "labels", "colour"]),
        ".placeholders",
        "expected a list of names",
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_loader_error_names_file_and_entry(tmp_path: Path, case: str) -> None:
    mutate, entry, reason = ERRORS[case]
    data = copy.deepcopy(toy_family())
    mutate(data)
    path = write_family(tmp_path, data)
    with pytest.raises(TemplateError) as caught:
        load_family(path)
    message = str(caught.value)
    assert message.startswith(f"{path}{entry}"), message
    assert reason in message, message


@pytest.mark.parametrize(
    "text",
    [
        "family: toy\nversion: 1\ntemplates: [unclosed\n",
        "family: toy\n  version: 1\n bad indentation: here\n",
        'family: toy\ntemplates:\n  en:\n    - id: toy.en.01\n      text: "unterminated\n',
    ],
)
def test_invalid_yaml_is_a_template_error(tmp_path: Path, text: str) -> None:
    path = write_family(tmp_path, text)
    with pytest.raises(TemplateError, match="invalid YAML") as caught:
        load_family(path)
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize("text", ["", "- a\n- list\n", "just a string\n"])
def test_a_file_that_is_not_a_mapping_is_a_template_error(tmp_path: Path, text: str) -> None:
    path = write_family(tmp_path, text)
    with pytest.raises(TemplateError, match="expected a mapping") as caught:
        load_family(path)
    assert str(caught.value).startswith(str(path))


def test_template_error_is_a_value_error() -> None:
    assert issubclass(TemplateError, ValueError)
