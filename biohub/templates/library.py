"""Loading the template library: task-family files, language punctuation and label display names (all data).

``templates/data/families/<family>.yaml``::

    family: ner                      # the task family (file name)
    version: 1                       # bump when any text changes; recorded with every example
    kind: spans_by_type              # answer kind (see answers.py)
    prefix: ""                       # "result" | "answer" | "score" | "" : the keyword before the value
    placeholders: [text, types]      # exactly the placeholders every template of the family uses
    format_hints:                    # appended to the instruction: how to write the answer, per format + language
      lines: {en: "...", zh: "..."}  # placeholders as in the templates, plus {example}
      json: {en: "...", zh: "..."}
    templates:
      en:
        - id: ner.en.01
          text: "... {text} ... {types} ..."
      zh: [...]

``templates/data/labels/<dataset>.yaml`` maps a dataset's label codes to display names per language
(``entity_types`` / ``relation_types`` / ``classes`` -> code -> {en, zh}); labels without an entry are shown
as their code. Unknown keys, missing languages, fewer than ``MIN_TEMPLATES`` templates per language, a
template that does not use exactly the family's placeholders, and values of the wrong type are errors.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from biohub.errors import BiohubError
from biohub.templates.answers import KINDS, Punctuation

LANGUAGES = ("en", "zh")
PREFIXES = ("", "result", "answer", "score")
PLACEHOLDERS = {
    "text", "types", "type", "relations", "labels", "text_1", "text_2", "question", "options", "context", "example",
}
MIN_TEMPLATES = 10
_ID = re.compile(r"^[a-z0-9_]+\.(en|zh)\.\d{2}$")


class TemplateError(BiohubError, ValueError):
    """A template data file is malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    family: str
    version: int
    language: str
    text: str

    def fill(self, **values: str) -> str:
        return self.text.format(**values)


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    version: int
    kind: str
    prefix: str
    placeholders: tuple[str, ...]
    hints: dict[str, dict[str, str]]  # format -> language -> hint
    templates: dict[str, tuple[Template, ...]]  # language -> templates


def data_dir() -> Path:
    return Path(str(resources.files("biohub.templates") / "data"))


def _placeholders(text: str, where: str) -> set[str]:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise TemplateError(f"{where}: bad braces: {exc}") from None
    unknown = names - PLACEHOLDERS
    if unknown or any(not name for name in names):
        raise TemplateError(f"{where}: unknown placeholder(s) {sorted(unknown) or ['{}']}; allowed: {sorted(PLACEHOLDERS)}")
    return names


def _strict_keys(data: Any, allowed: set[str], required: set[str], where: str) -> None:
    if not isinstance(data, dict):
        raise TemplateError(f"{where}: expected a mapping")
    unknown, missing = set(data) - allowed, required - set(data)
    if unknown:
        raise TemplateError(f"{where}: unknown key(s) {sorted(unknown)}")
    if missing:
        raise TemplateError(f"{where}: missing key(s) {sorted(missing)}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def load_family(path: Path) -> Family:
    """Load and validate one family file (``yaml.safe_load`` only)."""
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TemplateError(f"{where}: invalid YAML: {exc}") from None
    keys = {"family", "version", "kind", "prefix", "placeholders", "format_hints", "templates"}
    _strict_keys(data, keys, keys, where)
    if data["family"] != path.stem:
        raise TemplateError(f"{where}: family {data['family']!r} must equal the file name")
    if data["kind"] not in KINDS or data["prefix"] not in PREFIXES:
        raise TemplateError(f"{where}: kind must be one of {KINDS}, prefix one of {PREFIXES}")
    if not isinstance(data["version"], int) or isinstance(data["version"], bool) or data["version"] < 1:
        raise TemplateError(f"{where}.version: expected a positive integer")
    declared = data["placeholders"]
    if not isinstance(declared, list) or not set(map(str, declared)) <= PLACEHOLDERS:
        raise TemplateError(f"{where}.placeholders: expected a list of names from {sorted(PLACEHOLDERS)}")
    hints = data["format_hints"]
    _strict_keys(hints, {"lines", "json"}, {"lines", "json"}, f"{where}.format_hints")
    for answer_format, by_language in hints.items():
        _strict_keys(by_language, set(LANGUAGES), set(LANGUAGES), f"{where}.format_hints.{answer_format}")
        for language, hint in by_language.items():
            here = f"{where}.format_hints.{answer_format}.{language}"
            if not _placeholders(_text(hint, here), here) <= set(declared) | {"example"}:
                raise TemplateError(f"{here}: a hint may use only {{example}} and the family's placeholders")
    _strict_keys(data["templates"], set(LANGUAGES), set(LANGUAGES), f"{where}.templates")
    templates = {
        language: _templates(data, language, set(declared), f"{where}.templates.{language}") for language in LANGUAGES
    }
    return Family(data["family"], data["version"], data["kind"], data["prefix"], tuple(declared), hints, templates)


def _templates(data: dict[str, Any], language: str, declared: set[str], where: str) -> tuple[Template, ...]:
    entries = data["templates"][language]
    if not isinstance(entries, list) or len(entries) < MIN_TEMPLATES:
        raise TemplateError(f"{where}: expected a list of at least {MIN_TEMPLATES} templates")
    built = []
    for index, entry in enumerate(entries):
        here = f"{where}[{index}]"
        _strict_keys(entry, {"id", "text"}, {"id", "text"}, here)
        template_id, text = _text(entry["id"], f"{here}.id"), _text(entry["text"], f"{here}.text")
        if not _ID.match(template_id) or not template_id.startswith(f"{data['family']}.{language}."):
            raise TemplateError(f"{here}: id {template_id!r} must look like {data['family']}.{language}.NN")
        used = _placeholders(text, here)
        if used != declared:
            raise TemplateError(f"{here}: uses placeholders {sorted(used)}, the family declares {sorted(declared)}")
        built.append(Template(template_id, data["family"], data["version"], language, text))
    if len({t.id for t in built}) != len(built) or len({t.text for t in built}) != len(built):
        raise TemplateError(f"{where}: ids and texts must be distinct")
    return tuple(built)


@cache
def families() -> dict[str, Family]:
    """Every task family of the library, by name."""
    folder = data_dir() / "families"
    return {family.name: family for family in map(load_family, sorted(folder.glob("*.yaml")))}


@cache
def punctuation() -> dict[str, Punctuation]:
    """Separators and keywords per language."""
    data = yaml.safe_load((data_dir() / "languages.yaml").read_text(encoding="utf-8"))
    return {language: Punctuation(**{**values, "none_words": tuple(values["none_words"])}) for language, values in data.items()}


@cache
def label_names(dataset: str) -> dict[str, dict[str, dict[str, str]]]:
    """``{group: {code: {en, zh}}}`` for a dataset (empty when the library has no file for it)."""
    path = data_dir() / "labels" / f"{dataset}.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    groups = {"entity_types", "relation_types", "classes"}
    _strict_keys(data, groups, set(), str(path))
    for group, codes in data.items():
        for code, names in codes.items():
            _strict_keys(names, set(LANGUAGES), set(LANGUAGES), f"{path}.{group}.{code}")
    return data


def display_names(dataset: str, group: str, codes: tuple[str, ...], language: str) -> dict[str, str]:
    """Display name per code in ``language`` (the code itself when the library has none)."""
    names = label_names(dataset).get(group, {})
    return {code: names.get(code, {}).get(language, code) for code in codes}
