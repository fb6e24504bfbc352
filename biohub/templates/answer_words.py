"""Keywords of the structured answer layouts (events, decision trees), per language: data, ``data/answer_words.yaml``.

The separators of every layout come from the language's punctuation (``data/languages.yaml``); these are the words
the event and decision-tree layouts add (``trigger``, ``condition``, ``yes``, ...). A layout is rendered in the
language of its punctuation (:func:`words_for`); lenient parsing accepts the words of every language (:func:`every`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from pathlib import Path

from biohub.errors import ConfigError
from biohub.templates.answers import Punctuation
from biohub.typed import build_config, load_yaml


class AnswerWordsError(ConfigError):
    """The keyword file is malformed (a bug in the shipped data)."""


@dataclass(frozen=True, slots=True)
class Words:
    """The keywords of one language (see ``data/answer_words.yaml`` for each one's place in the layouts)."""

    event: str
    trigger: str
    modification: str
    condition: str
    decision: str
    yes: str
    no: str
    and_: str
    or_: str
    arrow: str
    indent: str
    example_trigger: str
    example_role: str
    example_argument: str
    example_head: str
    example_relation: str
    example_tail: str


def _path() -> Path:
    return Path(str(resources.files("biohub.templates") / "data" / "answer_words.yaml"))


@cache
def words() -> dict[str, Words]:
    """The keywords of every language, by language code."""
    path = _path()
    data = load_yaml(path.read_text(encoding="utf-8"), str(path))
    renamed = {"and": "and_", "or": "or_"}  # Python keywords as field names
    return {
        language: build_config(Words, {renamed.get(k, k): v for k, v in values.items()}, f"{path}.{language}", AnswerWordsError)
        for language, values in data.items()
    }


@cache
def words_for(punct: Punctuation) -> Words:
    """The keywords of the language whose punctuation ``punct`` is (an answer is rendered in its spec's language)."""
    from biohub.templates.library import punctuation  # the library loads this module's kinds: imported when called

    for language, known in punctuation().items():
        if known == punct:
            return words()[language]
    raise AnswerWordsError(f"no language has the punctuation {punct!r}")


def every(name: str) -> tuple[str, ...]:
    """The keyword ``name`` (a field of :class:`Words`) in every language, stripped of blanks and brackets, distinct."""
    if name not in {f.name for f in fields(Words)}:
        raise AnswerWordsError(f"no keyword {name!r}")
    return tuple(dict.fromkeys(getattr(w, name).strip(" ()（）") for w in words().values()))
