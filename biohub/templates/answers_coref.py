"""The ``clusters`` answer kind: coreference, the groups of mentions of a text that name the same thing.

The structure is a list of clusters, each a list of mentions ``[text, occurrence]``: the mention's text and which
occurrence of that text in the input it is (1 = the first place the text appears, 2 = the second, ...), so that two
mentions with the same words stay apart. Canonical form: each mention once per cluster, clusters that share a
mention merged into one (coreference is transitive), and no cluster of fewer than two mentions (it links nothing).

Lines (one cluster per line, in brackets; ``None`` / ``无`` when there is none)::

    [interleukin-1beta, IL-1beta]
    [H4, H4 #2]

A mention is written as its text, followed by `` #k`` when it is the k-th occurrence of that text (k >= 2). The
text escapes the separators of a bracketed list (``, ; [ ] ( ) < >`` in either width, ``、``) and ``#``, so an
unescaped ``#`` always starts an occurrence number.

Lenient parsing reads bracketed groups anywhere in a line (full-width brackets too), or a list without brackets
after a label (``Cluster 1: a, b``), splitting on commas, semicolons and ``、`` of either width.

JSON: a list of clusters, each a list of mentions; a first occurrence is its text, a later one an object
``{"text": "H4", "occurrence": 2}``: ``[["interleukin-1beta", "IL-1beta"], ["H4", {"text": "H4", "occurrence": 2}]]``
(``[]`` when there is none). Lenient parsing also takes the list under a key of an object (``{"clusters": [...]}``).
"""

from __future__ import annotations

import re
from typing import Any

from biohub.templates.answers import (
    _PAIR_SPECIALS,
    CODECS,
    AnswerSpec,
    KindCodec,
    ParseFailure,
    _is_none_answer,
    _lines,
    _split_strict,
)
from biohub.templates.escape import escape, split_unescaped, strip_unescaped, unescape
from biohub.templates.registry import PARSERS

__all__ = ["KIND", "Mention", "canonical_clusters", "mention_key", "merge_clusters"]

KIND = "clusters"
Mention = tuple[str, int]  # (text, occurrence)
_SPECIALS = _PAIR_SPECIALS + "、#"
_LENIENT_SEPARATORS = ",，;；、"
_GROUP = re.compile(r"[\[【]((?:\\.|[^\]】\\])*)[\]】]")
_LABEL = re.compile(r"^[^:：\[【,，;；、]{0,40}[:：]\s*")  # "Cluster 1: ..." / "组1：..." before a list without brackets
_LAYOUT_WORDS = {"en": "mention ", "zh": "实体"}


def mention_key(mention: Any) -> Mention:
    """``(text, occurrence)`` of a mention given as ``[text, occurrence]``, ``(text, occurrence)`` or a bare text
    (the first occurrence)."""
    if isinstance(mention, str):
        return mention, 1
    text, occurrence = mention
    return str(text), int(occurrence)


def canonical_clusters(spec: AnswerSpec, value: Any) -> list[list[list[Any]]]:
    """The canonical form of a ``clusters`` answer (:func:`merge_clusters`; the same for every spec)."""
    return merge_clusters(value)


def merge_clusters(value: Any) -> list[list[list[Any]]]:
    """Clusters with each mention once, clusters sharing a mention merged (in the order they first appear), and
    clusters of fewer than two mentions dropped; mentions as ``[text, occurrence]``."""
    merged: list[list[Mention]] = []
    for cluster in value:
        mentions = list(dict.fromkeys(mention_key(m) for m in cluster))
        joined = [index for index, kept in enumerate(merged) if set(kept) & set(mentions)]
        if not joined:
            merged.append(mentions)
            continue
        target = merged[joined[0]]
        for index in joined[1:]:
            target.extend(m for m in merged[index] if m not in target)
        target.extend(m for m in mentions if m not in target)
        merged = [kept for index, kept in enumerate(merged) if index not in joined[1:]]
    return [[[text, occurrence] for text, occurrence in cluster] for cluster in merged if len(cluster) >= 2]


def _mention_text(text: str, occurrence: int) -> str:
    marker = f" #{occurrence}" if occurrence > 1 else ""
    return escape(text, _SPECIALS) + marker


def _render_lines(spec: AnswerSpec, value: Any) -> str:
    p = spec.punct
    if not value:
        return p.none
    joiner = p.pair_sep + p.gap
    return "\n".join("[" + joiner.join(_mention_text(text, k) for text, k in cluster) + "]" for cluster in value)


def _last_marker(raw: str) -> int | None:
    """The index of the last unescaped ``#`` of a raw (escaped) item, or None."""
    found, index = None, 0
    while index < len(raw):
        if raw[index] == "\\":
            index += 2
            continue
        if raw[index] == "#":
            found = index
        index += 1
    return found


def _split_marker(raw: str, strict: bool) -> tuple[str, int]:
    """``(raw text, occurrence)`` of a raw item ``text`` or ``text #k`` (the text still escaped)."""
    marker = _last_marker(raw)
    if marker is not None:
        number = raw[marker + 1 :].strip()
        if number.isascii() and number.isdigit() and int(number) >= 1:
            return raw[:marker], int(number)
        if strict:
            raise ParseFailure(f"{raw!r}: '#' must be followed by an occurrence number")
    return raw, 1


def _strict_mention(raw: str) -> Mention:
    """``(text, occurrence)`` of a raw item exactly as the renderer writes it."""
    text, occurrence = _split_marker(raw, True)
    if occurrence > 1:
        if not text.endswith(" "):
            raise ParseFailure(f"{raw!r}: expected ' #k' after the mention")
        text = text[:-1]
    if not text:
        raise ParseFailure("empty mention")
    return unescape(text), occurrence


def _lenient_mention(raw: str) -> Mention | None:
    """``(text, occurrence)`` of a raw item, blanks around it ignored; None for an empty one."""
    text, occurrence = _split_marker(raw, False)
    text = unescape(strip_unescaped(text))
    return (text, occurrence) if text else None


def _parse_lines(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    p = spec.punct
    if strict:
        if text.strip("\n") == p.none:
            return []
        clusters = []
        for line in _lines(text, True):
            if not (line.startswith("[") and line.endswith("]")):
                raise ParseFailure(f"line {line!r} is not '[mention{p.pair_sep}{p.gap}mention...]'")
            clusters.append([_strict_mention(raw) for raw in _split_strict(line[1:-1], p.pair_sep, p.gap)])
        return clusters
    if _is_none_answer(spec, text):
        return []
    clusters = []
    for line in _lines(text, False):
        groups = [match.group(1) for match in _GROUP.finditer(line)]
        labelled = _LABEL.match(line)
        if not groups and labelled:  # "Cluster 1: a, b" (a list without brackets, after a label)
            groups = [line[labelled.end() :]]
        if not groups:
            warnings.append(f"ignored line {line[:60]!r}")
        for group in groups:
            mentions = [m for m in map(_lenient_mention, split_unescaped(group, _LENIENT_SEPARATORS)) if m]
            if len(mentions) >= 2:
                clusters.append(mentions)
            else:
                warnings.append(f"ignored {group[:60]!r}: not a group of mentions")
    if not clusters:
        raise ParseFailure("no '[mention, mention, ...]' group of mentions")
    return clusters


def _to_json(spec: AnswerSpec, value: Any) -> Any:
    return [[text if k == 1 else {"text": text, "occurrence": k} for text, k in cluster] for cluster in value]


def _json_mention(item: Any, strict: bool) -> Mention | None:
    if isinstance(item, str) and item:
        return item, 1
    if isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"]:
        occurrence = item.get("occurrence", 1)
        if isinstance(occurrence, int) and not isinstance(occurrence, bool) and occurrence >= 1:
            if strict and (set(item) != {"text", "occurrence"} or occurrence == 1):
                return None
            return item["text"], occurrence
    return None


def _from_json(spec: AnswerSpec, payload: Any, strict: bool, warnings: list[str]) -> Any:
    if not strict and isinstance(payload, dict):
        payload = next((value for value in payload.values() if isinstance(value, list)), payload)
    if not isinstance(payload, list):
        raise ParseFailure("expected a JSON list of clusters (lists of mentions)")
    clusters: list[list[Mention]] = []
    for cluster in payload:
        read = [_json_mention(item, strict) for item in cluster] if isinstance(cluster, list) else [None]
        mentions = [m for m in read if m is not None]
        if len(mentions) < len(read):
            if strict:
                raise ParseFailure(f"bad cluster {cluster!r}")
            warnings.append(f"ignored cluster {str(cluster)[:60]!r}")
        clusters.append(mentions)
    if payload and not any(clusters):
        raise ParseFailure("no entry of the list is a cluster of mentions")
    return clusters


def _layout(spec: AnswerSpec, language: str) -> Any:
    word = _LAYOUT_WORDS["zh" if language == "zh" else "en"]
    return [[[f"{word}1", 1], [f"{word}2", 1]], [[f"{word}3", 1], [f"{word}3", 2]]]


CODECS.register(KIND)(KindCodec(canonical_clusters, _render_lines, _to_json, _from_json, _layout, json_type=list))
PARSERS.register(KIND)(_parse_lines)
