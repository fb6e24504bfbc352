"""The ``concepts`` answer kind: entity normalisation, each mention with the concept(s) it denotes.

The structure is a list of ``[mention, [concept, ...]]`` pairs: the mention text as written in the input, and the
concepts it is normalised to (``MESH:D003924``, ``NCBIGene:3553``, or a standard term such as ``胃恶性肿瘤``).
Canonical form: one entry per mention (entries of the same mention merged, in first-seen order), each concept once,
and no entry without a concept.

Lines (one line per mention; ``None`` / ``无`` when there is none)::

    IL-1beta: NCBIGene:3553
    type II diabetes: MESH:D003924
    胃癌术后 化疗：胃恶性肿瘤；恶性肿瘤术后化疗

The first unescaped colon (either width) ends the mention, so a colon in a mention is escaped (``HLA\\: x``); a
semicolon in a concept is escaped; a mention that would read as a bullet or number is escaped at its start.

JSON: an object mapping each mention to the list of its concepts, ``{"IL-1beta": ["NCBIGene:3553"]}``
(``{}`` when there is none); lenient parsing also takes a single concept string as a list of one.
"""

from __future__ import annotations

from typing import Any

from biohub.templates.answers import (
    _BULLET,
    CODECS,
    AnswerSpec,
    KindCodec,
    ParseFailure,
    _esc,
    _is_none_answer,
    _lines,
    _split_items,
)
from biohub.templates.escape import escape, strip_unescaped, unescape
from biohub.templates.registry import PARSERS

__all__ = ["KIND", "canonical_concepts", "concept_pairs", "merge_concepts"]

KIND = "concepts"
_KEY_SPECIALS = ":："
_LAYOUT_WORDS = {"en": ("mention ", "concept "), "zh": ("实体", "标准词")}


def canonical_concepts(spec: AnswerSpec, value: Any) -> list[list[Any]]:
    """The canonical form of a ``concepts`` answer (:func:`merge_concepts`; the same for every spec)."""
    return merge_concepts(value)


def merge_concepts(value: Any) -> list[list[Any]]:
    """``[[mention, [concept, ...]], ...]`` merged by mention (first-seen order), concepts deduplicated, entries
    without a concept dropped."""
    merged: dict[str, list[str]] = {}
    for mention, concepts in value:
        kept = merged.setdefault(str(mention), [])
        kept.extend(str(concept) for concept in concepts if str(concept) not in kept)
    return [[mention, concepts] for mention, concepts in merged.items() if concepts]


def concept_pairs(value: Any) -> set[tuple[str, ...]]:
    """The (mention, concept) pairs of a ``concepts`` structure, mention and concept trimmed (empty for None)."""
    return {(str(mention).strip(), str(concept).strip()) for mention, concepts in value or [] for concept in concepts}


def _escape_mention(spec: AnswerSpec, mention: str) -> str:
    """A mention as the key of its line: colons and semicolons escaped, and a start that lenient parsing would read
    as a bullet or number escaped too."""
    key = escape(mention, _KEY_SPECIALS)
    return "\\" + key if _BULLET.match(key) else key


def _render_lines(spec: AnswerSpec, value: Any) -> str:
    p = spec.punct
    if not value:
        return p.none
    return "\n".join(
        f"{_escape_mention(spec, mention)}{p.kv}{p.gap}{(p.list_sep + p.gap).join(_esc(p, c) for c in concepts)}"
        for mention, concepts in value
    )


def _split_key(line: str) -> tuple[str, str, str] | None:
    """``(key, colon, rest)`` at the first unescaped colon of either width; None when the line has none."""
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char in ":：":
            return line[:index], char, line[index + 1 :]
        index += 1
    return None


def _parse_lines(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    p = spec.punct
    if strict and text.strip("\n") == p.none:
        return []
    if not strict and _is_none_answer(spec, text):
        return []
    entries = []
    for line in _lines(text, strict):
        parts = _split_key(line)
        if parts is None or not strip_unescaped(parts[0]):
            if strict:
                raise ParseFailure(f"line {line!r} is not 'mention{p.kv}{p.gap}concept{p.list_sep}{p.gap}...'")
            warnings.append(f"ignored line {line[:60]!r}")
            continue
        key, colon, rest = parts
        if strict:
            if colon != p.kv or not rest.startswith(p.gap):
                raise ParseFailure(f"expected {p.kv + p.gap!r} after the mention in {line!r}")
            concepts = _split_items(p, rest[len(p.gap) :], True)
            mention = unescape(key)
        else:
            concepts = _split_items(p, strip_unescaped(rest), False)
            mention = unescape(strip_unescaped(key))
        if not concepts:
            if strict:
                raise ParseFailure(f"no concept for {mention!r}")
            warnings.append(f"no concept for {mention[:60]!r}")
        entries.append([mention, concepts])
    if strict and not entries:
        raise ParseFailure("no mention line and not the empty answer")
    if not strict and not any(concepts for _, concepts in entries):
        raise ParseFailure("no 'mention: concept' line")
    return entries


def _to_json(spec: AnswerSpec, value: Any) -> Any:
    return {mention: concepts for mention, concepts in value}


def _from_json(spec: AnswerSpec, payload: Any, strict: bool, warnings: list[str]) -> Any:
    if not isinstance(payload, dict):
        raise ParseFailure("expected a JSON object of mention -> concepts")
    entries = []
    for mention, concepts in payload.items():
        if not strict and isinstance(concepts, str):
            concepts = [concepts]
        if not isinstance(concepts, list) or not concepts or not all(isinstance(c, str) and c for c in concepts):
            if strict:
                raise ParseFailure(f"bad entry {mention!r}: expected a non-empty list of concepts")
            warnings.append(f"ignored entry {str(mention)[:40]!r}")
            continue
        entries.append([mention, concepts])
    if payload and not entries:
        raise ParseFailure("no entry of the object maps a mention to concepts")
    return entries


def _layout(spec: AnswerSpec, language: str) -> Any:
    mention, concept = _LAYOUT_WORDS["zh" if language == "zh" else "en"]
    return [[f"{mention}1", [f"{concept}1"]], [f"{mention}2", [f"{concept}2", f"{concept}3"]]]


CODECS.register(KIND)(KindCodec(canonical_concepts, _render_lines, _to_json, _from_json, _layout))
PARSERS.register(KIND)(_parse_lines)
