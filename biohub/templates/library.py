"""Loading the template library: task-family files, language punctuation and label display names (all data).

``templates/data/families/<family>.yaml``::

    family: ner                      # the task family (file name)
    version: 1                       # bump when any text changes; recorded with every example
    kind: spans_by_type              # answer kind (see answers.py: answer_kinds())
    prefix: ""                       # "result" | "answer" | "score" | "" : the keyword before the value
    placeholders: [text, types]      # exactly the placeholders every template of the family uses
    label_names: entity_types        # label group of labels/<dataset>.yaml naming the answer's labels ("" none)
    instruct:                        # optional; each key defaults to off
      windowed: true                 # a too-long document is split into sentence windows (others are dropped)
      decompose_into: ner_single     # with `decompose`, also one example per label, of this family
      pass_through: false            # the templates are system prompts before the record's own turns
    hub: {stage: 1, task_category: token-classification, choice_export: false}
      # stage 1: in mix_stage1 (the default `mixing.stage1` of recipes) and mix_stage2; stage 2: mix_stage2 only;
      # task_category: the Hugging Face task category on the card; choice_export: also an lm-eval loglik task
    eval:
      scorer: ner                    # scorer by name (registered by biohub.eval.score; see templates/registry.py)
      metrics: [f1_mention, ...]     # every metric the scorer computes for the family (registry.METRICS)
      headline: f1_mention           # the default headline of the `all` suite's rows
      headline_by_official: {}       # optional: catalog official metric -> headline (e.g. {macro_f1: macro_f1})
      group: NER                     # report group (registry.GROUPS)
      max_new_tokens: 384            # greedy generation budget of one answer
    format_hints:                    # appended to the instruction: how to write the answer, per format + language
      lines: {en: "...", zh: "..."}  # placeholders as in the templates, plus {example}
      json: {en: "...", zh: "..."}
    modifier_hints:                  # optional: appended after the format hint when the answer's items may carry
      lines: {en: "...", zh: "..."}  # modifications (events: negation, speculation, tendency); {modifiers} is
      json: {en: "...", zh: "..."}   # their names
    templates:
      en:
        - id: ner.en.01
          text: "... {text} ... {types} ..."
      zh: [...]

``templates/data/labels/<dataset>.yaml`` maps a dataset's label codes to display names per language
(``entity_types`` / ``relation_types`` / ``event_types`` / ``classes`` -> code -> {en, zh}; ``event_roles`` names the
roles of event arguments, ``event_modifications`` the types of the events' modifications); labels without an entry
are shown as their code.

Unknown keys, unknown kind, metric, group or category names, missing languages, fewer than
``MIN_TEMPLATES`` templates per language, a template that does not use exactly the family's placeholders, and
values of the wrong type are errors.

Families beyond the shipped ones: every ``*.yaml`` in the folders named by the environment variable
``BIOHUB_FAMILIES`` (separated by ``os.pathsep``) is loaded as well; a name already taken is an error.
"""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from biohub.errors import BiohubError
from biohub.templates.answers import Punctuation, answer_kinds
from biohub.templates.registry import GROUPS, METRICS, TASK_CATEGORIES, RegistryError, check_name
from biohub.typed import build_config, load_yaml

EXTRA_FAMILIES_ENV = "BIOHUB_FAMILIES"
LabelGroup = Literal["", "entity_types", "relation_types", "event_types", "classes"]

LANGUAGES = ("en", "zh")
PREFIXES = ("", "result", "answer", "score")
PLACEHOLDERS = {
    "text", "types", "type", "relations", "labels", "text_1", "text_2", "question", "options", "context", "example",
    "modifiers",
}
MIN_TEMPLATES = 10
_ID = re.compile(r"^[a-z0-9_]+\.(en|zh)\.\d{2}$")


class TemplateError(BiohubError, ValueError):
    """A template data file is malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Template:
    """One instruction text of a family in one language: its id (``<family>.<language>.<nn>``), the family's
    version, and the text with ``{placeholders}``."""

    id: str
    family: str
    version: int
    language: str
    text: str

    def fill(self, **values: str) -> str:
        """The instruction with every placeholder replaced (a missing value raises ``KeyError``)."""
        return self.text.format(**values)


@dataclass(frozen=True, slots=True)
class InstructRules:
    """How ``biohub instruct`` treats the family's examples (see the module doc)."""

    windowed: bool = False
    decompose_into: str = ""
    pass_through: bool = False


@dataclass(frozen=True, slots=True)
class HubFacts:
    """What ``biohub build`` and ``biohub export`` need: stage, card task category, multiple-choice export."""

    stage: Literal[1, 2]
    task_category: str
    choice_export: bool = False


@dataclass(frozen=True, slots=True)
class EvalFacts:
    """How the family is scored: scorer name, the metrics it computes, the default headline, report group, budget."""

    scorer: str
    metrics: tuple[str, ...]
    headline: str
    group: str
    max_new_tokens: int
    headline_by_official: dict[str, str] = field(default_factory=dict)

    def computes(self, metric: str) -> bool:
        """Whether ``metric`` is one of the family's metrics (a per-type ``name[type]`` counts as ``name``)."""
        return metric.split("[", 1)[0] in self.metrics

    def headline_for(self, official: str) -> str:
        """The headline of a row whose dataset's official (catalog) metric is ``official``."""
        return self.headline_by_official.get(official, self.headline)


@dataclass(frozen=True, slots=True)
class Family:
    """Everything biohub knows about one task family, as loaded and checked from its YAML file: answer kind and
    prefix, placeholders, format hints and templates per language, label display group, and the instruct, hub
    and eval facts."""

    name: str
    version: int
    kind: str
    prefix: str
    placeholders: tuple[str, ...]
    hints: dict[str, dict[str, str]]  # format -> language -> hint
    modifier_hints: dict[str, dict[str, str]]  # format -> language -> hint on modifications ({} when none)
    templates: dict[str, tuple[Template, ...]]  # language -> templates
    label_names: str  # label group naming the answer's labels ("" none)
    instruct: InstructRules
    hub: HubFacts
    eval: EvalFacts
    path: str  # the family file (for error messages)


def data_dir() -> Path:
    """The folder of the shipped template data (``families/``, ``labels/``, ``languages.yaml``)."""
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


@dataclass(frozen=True, slots=True)
class _ByLanguage:
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class _Hints:
    lines: _ByLanguage
    json: _ByLanguage


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class _Entries:
    en: list[_Entry]
    zh: list[_Entry]


@dataclass(frozen=True, slots=True)
class _FamilyFile:
    """The shape of a family file; its values are checked further by :func:`load_family`."""

    family: str
    version: int
    kind: str
    prefix: str
    placeholders: list[str]
    label_names: LabelGroup
    format_hints: _Hints
    templates: _Entries
    hub: HubFacts
    eval: EvalFacts
    instruct: InstructRules = InstructRules()
    modifier_hints: _Hints | None = None


@dataclass(frozen=True, slots=True)
class _LabelFile:
    entity_types: dict[str, _ByLanguage] = field(default_factory=dict)
    relation_types: dict[str, _ByLanguage] = field(default_factory=dict)
    event_types: dict[str, _ByLanguage] = field(default_factory=dict)
    event_roles: dict[str, _ByLanguage] = field(default_factory=dict)  # argument roles of the events (not a label set)
    event_modifications: dict[str, _ByLanguage] = field(default_factory=dict)  # types of the events' modifications
    classes: dict[str, _ByLanguage] = field(default_factory=dict)


def _shaped(cls: type, data: Any, where: str) -> Any:
    """``from_mapping`` (the one YAML-to-dataclass validator) with its TypeError as a TemplateError."""
    return build_config(cls, data, where, TemplateError)


def load_family(path: Path) -> Family:
    """Load and validate one family file (``load_yaml``: safe, no duplicate keys)."""
    where = str(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"), where)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{where}: invalid YAML: {exc}") from None
    shape: _FamilyFile = _shaped(_FamilyFile, data, where)
    if shape.family != path.stem:
        raise TemplateError(f"{where}: family {shape.family!r} must equal the file name")
    try:
        check_name("answer kind", shape.kind, answer_kinds(), f"{where}.kind")
    except RegistryError as exc:
        raise TemplateError(str(exc)) from None
    if shape.prefix not in PREFIXES:
        raise TemplateError(f"{where}: prefix must be one of {PREFIXES}")
    if shape.version < 1:
        raise TemplateError(f"{where}.version: expected a positive integer")
    declared = shape.placeholders
    if not set(declared) <= PLACEHOLDERS:
        raise TemplateError(f"{where}.placeholders: expected a list of names from {sorted(PLACEHOLDERS)}")
    hints = {
        answer_format: {language: getattr(getattr(shape.format_hints, answer_format), language) for language in LANGUAGES}
        for answer_format in ("lines", "json")
    }
    for answer_format, by_language in hints.items():
        for language, hint in by_language.items():
            here = f"{where}.format_hints.{answer_format}.{language}"
            if not _placeholders(hint, here) <= set(declared) | {"example"}:
                raise TemplateError(f"{here}: a hint may use only {{example}} and the family's placeholders")
    modifier_hints = {}
    if shape.modifier_hints is not None:
        given = shape.modifier_hints
        modifier_hints = {
            answer_format: {language: getattr(getattr(given, answer_format), language) for language in LANGUAGES}
            for answer_format in ("lines", "json")
        }
        for answer_format, by_language in modifier_hints.items():
            for language, hint in by_language.items():
                here = f"{where}.modifier_hints.{answer_format}.{language}"
                if _placeholders(hint, here) - {"modifiers"}:
                    raise TemplateError(f"{here}: a modifier hint may use only {{modifiers}}")
    templates = {
        language: _templates(shape, getattr(shape.templates, language), language, f"{where}.templates.{language}")
        for language in LANGUAGES
    }
    _check_facts(shape, where)
    return Family(
        shape.family, shape.version, shape.kind, shape.prefix, tuple(declared), hints, modifier_hints, templates,
        shape.label_names, shape.instruct, shape.hub, shape.eval, where,
    )


def _check_facts(shape: _FamilyFile, where: str) -> None:
    """The family's hub and eval facts, checked against the registry's names and the family's own metrics."""
    hub, evaluation = shape.hub, shape.eval
    try:
        check_name("task category", hub.task_category, TASK_CATEGORIES, f"{where}.hub.task_category")
        check_name("report group", evaluation.group, GROUPS, f"{where}.eval.group")
        for index, metric in enumerate(evaluation.metrics):
            check_name("metric", metric, METRICS, f"{where}.eval.metrics[{index}]")
    except RegistryError as exc:
        raise TemplateError(str(exc)) from None
    if not evaluation.metrics or len(set(evaluation.metrics)) != len(evaluation.metrics):
        raise TemplateError(f"{where}.eval.metrics: expected a non-empty list of distinct metric names")
    for key, headline in {"headline": evaluation.headline, **evaluation.headline_by_official}.items():
        if headline not in evaluation.metrics:
            here = "headline" if key == "headline" else f"headline_by_official.{key}"
            known = ", ".join(evaluation.metrics)
            raise TemplateError(f"{where}.eval.{here}: {headline!r} is not one of the family's metrics ({known})")
    if evaluation.max_new_tokens < 1:
        raise TemplateError(f"{where}.eval.max_new_tokens: must be positive")


def _templates(shape: _FamilyFile, entries: list[_Entry], language: str, where: str) -> tuple[Template, ...]:
    if len(entries) < MIN_TEMPLATES:
        raise TemplateError(f"{where}: expected a list of at least {MIN_TEMPLATES} templates")
    declared = set(shape.placeholders)
    built = []
    for index, entry in enumerate(entries):
        here = f"{where}[{index}]"
        if not _ID.match(entry.id) or not entry.id.startswith(f"{shape.family}.{language}."):
            raise TemplateError(f"{here}: id {entry.id!r} must look like {shape.family}.{language}.NN")
        used = _placeholders(entry.text, here)
        if used != declared:
            raise TemplateError(f"{here}: uses placeholders {sorted(used)}, the family declares {sorted(declared)}")
        built.append(Template(entry.id, shape.family, shape.version, language, entry.text))
    if len({t.id for t in built}) != len(built) or len({t.text for t in built}) != len(built):
        raise TemplateError(f"{where}: ids and texts must be distinct")
    return tuple(built)


def family_folders() -> list[Path]:
    """The shipped family folder, then the folders of ``BIOHUB_FAMILIES`` (if set)."""
    extra = [Path(part) for part in os.environ.get(EXTRA_FAMILIES_ENV, "").split(os.pathsep) if part]
    for folder in extra:
        if not folder.is_dir():
            raise TemplateError(f"{EXTRA_FAMILIES_ENV}: {folder} is not a folder")
    return [data_dir() / "families", *extra]


@cache
def families() -> dict[str, Family]:
    """Every task family of the library (and of ``BIOHUB_FAMILIES``), by name."""
    found: dict[str, Family] = {}
    for folder in family_folders():
        for family in map(load_family, sorted(folder.glob("*.yaml"))):
            if family.name in found:
                raise TemplateError(f"{family.path}: family {family.name!r} is already defined in {found[family.name].path}")
            found[family.name] = family
    for family in found.values():
        target = family.instruct.decompose_into
        if target and target not in found:
            raise TemplateError(f"{family.path}.instruct.decompose_into: {check_message('family', target, found)}")
    return dict(sorted(found.items()))


def check_message(what: str, name: str, known: Any) -> str:
    """The "unknown ... did you mean" text for ``name``."""
    try:
        check_name(what, name, known)
    except RegistryError as exc:
        return str(exc)
    return ""


def family_order(names: Any) -> tuple[str, ...]:
    """Family names in the library's order: by report group (registry.GROUPS), then by name."""
    library = families()
    return tuple(sorted(names, key=lambda name: (GROUPS.index(library[name].eval.group), name)))


def stage1_families() -> tuple[str, ...]:
    """The families of training stage 1 (``hub.stage: 1``), in library order: the default ``stage1`` of recipes."""
    return family_order(name for name, family in families().items() if family.hub.stage == 1)


@cache
def punctuation() -> dict[str, Punctuation]:
    """Separators and keywords per language."""
    languages = data_dir() / "languages.yaml"
    data = load_yaml(languages.read_text(encoding="utf-8"), str(languages))
    return {language: Punctuation(**{**values, "none_words": tuple(values["none_words"])}) for language, values in data.items()}


@cache
def label_names(dataset: str) -> dict[str, dict[str, dict[str, str]]]:
    """``{group: {code: {en, zh}}}`` for a dataset (empty when the library has no file for it)."""
    path = data_dir() / "labels" / f"{dataset}.yaml"
    if not path.exists():
        return {}
    data = load_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    _shaped(_LabelFile, data, str(path))
    return data


def display_names(dataset: str, group: str, codes: tuple[str, ...], language: str) -> dict[str, str]:
    """Display name per code in ``language`` (the code itself when the library has none)."""
    names = label_names(dataset).get(group, {})
    return {code: names.get(code, {}).get(language, code) for code in codes}
