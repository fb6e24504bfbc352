"""Helpers for sentence-level corpus XML, where each ``<sentence text=...>`` holds ``<entity charOffset=...>`` elements
whose offsets are relative to the sentence text: the DDI 2013 XML and the PPI learning format share them.

The two formats differ only in their conventions, which are parameters here: the separator between the pieces
of a discontinuous mention (DDI ``;``, PPI ``,``) and whether a piece's end is inclusive (DDI) or exclusive (PPI).
Format modules import these from here, never from one another.
"""

from __future__ import annotations

import re

from biohub.schema import Span

__all__ = ["char_offsets", "disjoint", "locate", "spells"]

_OFFSET = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


def char_offsets(raw: str, separator: str, *, inclusive_end: bool) -> list[Span] | None:
    """``"a-b<separator>c-d"`` as end-exclusive, sentence-relative spans in their given order, or None when malformed
    (a piece that is not ``start-end``, or one that ends before it starts)."""
    spans: list[Span] = []
    for part in raw.split(separator):
        match = _OFFSET.match(part)
        if not match:
            return None
        start, end = int(match.group(1)), int(match.group(2)) + (1 if inclusive_end else 0)
        if end <= start:
            return None
        spans.append((start, end))
    return spans


def disjoint(spans: list[Span]) -> bool:
    """Whether the pieces of a discontinuous mention follow one another without overlapping."""
    return all(previous[1] <= following[0] for previous, following in zip(spans, spans[1:]))


def spells(pieces: list[str], expected: str) -> bool:
    """Whether the text pieces of a mention spell its stated ``text``: exactly for a continuous mention; ignoring
    whitespace for a discontinuous one (the stated text joins the pieces without a fixed separator)."""
    if len(pieces) == 1:
        return pieces[0] == expected
    return "".join("".join(pieces).split()) == "".join(expected.split())


def locate(spans: list[Span], text: str, expected: str, max_shift: int) -> list[Span] | None:
    """``spans`` if they lie inside ``text`` and spell ``expected``; else the same spans shifted together by the
    smallest amount up to ``max_shift`` that makes them do so; else None."""
    for shift in sorted(range(-max_shift, max_shift + 1), key=abs):
        moved = [(s + shift, e + shift) for s, e in spans]
        if all(0 <= s < e <= len(text) for s, e in moved) and spells([text[s:e] for s, e in moved], expected):
            return moved
    return None
