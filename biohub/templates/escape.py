"""Escaping for the line answer format, so that any mention text round-trips.

A backslash escapes the next character: ``\\\\`` is a backslash, ``\\n`` a newline, ``\\t`` a tab, and any
other escaped character stands for itself (``\\;`` is a literal ``;``, ``\\ `` a literal space). The renderer
escapes backslashes, line breaks, every separator character of the format, and whitespace at the ends of an
item (which the parser would otherwise strip). :func:`split_unescaped` splits on separators that are not
escaped; :func:`unescape` then restores the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

_NAMED = {"n": "\n", "t": "\t", "r": "\r"}
_NAMES = {value: key for key, value in _NAMED.items()}


def escape(text: str, specials: Iterable[str], reserved: Iterable[str] = ()) -> str:
    """Escape ``text`` for an item of the line format.

    ``specials`` are single characters that separate items in this position; ``reserved`` are whole-item
    words with a meaning of their own (``None``, ``无``): an item equal to one of them gets one character
    escaped so that it reads as text.
    """
    escaped = _pattern("".join(sorted(set(specials)))).sub(_escape_match, text)
    if escaped and escaped[0].isspace():
        escaped = "\\" + escaped
    if escaped and escaped[-1].isspace() and not _escaped_at(escaped, len(escaped) - 1):
        escaped = escaped[:-1] + "\\" + escaped[-1]
    if "\\" not in escaped and spells(text, reserved):
        # (An item holding any backslash already reads as text: see is_reserved.) Escape the first character whose
        # escape means itself (not n/t/r), so the item no longer spells the word.
        index = next((i for i, char in enumerate(escaped) if char not in _NAMED and char != "\\"), None)
        if index is None:
            raise ValueError(f"reserved word {text!r} is made only of n/t/r and cannot be escaped")
        escaped = escaped[:index] + "\\" + escaped[index:]
    return escaped


@cache
def _pattern(specials: str) -> re.Pattern[str]:
    """Characters that need a backslash: the specials, the backslash itself and the named control characters."""
    return re.compile("[" + re.escape(specials + "\\" + "".join(_NAMES)) + "]")


def _escape_match(match: re.Match[str]) -> str:
    char = match.group(0)
    return "\\" + _NAMES.get(char, char)


@cache
def _separators(separators: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(separators) + "]")


def split_unescaped(text: str, separators: Iterable[str]) -> list[str]:
    """Split on any separator character not preceded by an escaping backslash; pieces stay escaped."""
    seps = set(separators)
    if "\\" not in text:  # nothing escaped (most items): a plain split on the separator characters
        return _separators("".join(sorted(seps))).split(text)
    pieces, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current.append(text[index : index + 2])
            index += 2
            continue
        if char in seps:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    pieces.append("".join(current))
    return pieces


def strip_unescaped(text: str) -> str:
    """Strip whitespace at both ends that is not escaped (an escaped trailing space is kept)."""
    start = 0
    while start < len(text) and text[start].isspace():
        start += 1
    end = len(text)
    while end > start and text[end - 1].isspace() and not _escaped_at(text, end - 1):
        end -= 1
    return text[start:end]


def _escaped_at(text: str, index: int) -> bool:
    """Whether the character at ``index`` is preceded by an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _unescaped(match: re.Match[str]) -> str:
    char = match.group(1)
    return _NAMED.get(char, char)


def unescape(text: str) -> str:
    """Undo :func:`escape` (a trailing lone backslash is kept as a backslash)."""
    return _ESCAPED.sub(_unescaped, text) if "\\" in text else text


@cache
def _folded(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(word.casefold() for word in words)


def spells(text: str, words: Iterable[str]) -> bool:
    """Whether ``text`` is one of ``words``, ignoring case (``casefold``)."""
    return text.casefold() in _folded(words if isinstance(words, tuple) else tuple(words))


def is_reserved(item: str, reserved: Iterable[str]) -> bool:
    """Whether a raw (still escaped) item spells a reserved word; an escaped spelling is text."""
    return "\\" not in item and spells(item, reserved)
