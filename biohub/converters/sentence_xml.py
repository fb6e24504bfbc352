"""Helpers for sentence-level corpus XML, shared by the XML formats; format modules import these from here, never
from one another.

* Offset attributes: each ``<sentence text=...>`` holds ``<entity charOffset=...>`` elements whose offsets are
  relative to the sentence text (DDI 2013 XML, PPI learning format). The two differ only in their conventions,
  which are parameters here: the separator between the pieces of a discontinuous mention (DDI ``;``, PPI ``,``) and
  whether a piece's end is inclusive (DDI) or exclusive (PPI).
* Inline markup: mentions as elements inside mixed-content text, with no offsets (OSIRIS, GENIA event XML);
  :func:`flatten` recovers the text and where each element's text falls in it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from biohub.converters.problems import Reason, RecordRejected
from biohub.schema import Span

__all__ = ["char_offsets", "disjoint", "flatten", "locate", "spells"]

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


def flatten(element: ET.Element, max_depth: int) -> tuple[str, list[tuple[ET.Element, int, int]]]:
    """The text inside ``element`` with its tags removed, and for each element below it its span in that text
    (element, start, end), inner elements before the element holding them. Markup nested deeper than
    ``max_depth`` is a :class:`RecordRejected` (``invalid record``), never a ``RecursionError``."""
    pieces: list[str] = []
    spans: list[tuple[ET.Element, int, int]] = []
    _walk(element, pieces, spans, 0, 0, max_depth)
    return "".join(pieces), spans


def _walk(
    element: ET.Element, pieces: list[str], spans: list[tuple[ET.Element, int, int]], depth: int, position: int, max_depth: int
) -> int:
    """Append ``element``'s text to ``pieces`` and its inner spans to ``spans``; ``position`` is where its text
    starts, the position after it is returned."""
    if depth > max_depth:
        raise RecordRejected(Reason.INVALID_RECORD, f"inline markup nested deeper than {max_depth} elements")
    if element.text:
        pieces.append(element.text)
        position += len(element.text)
    for child in element:
        start = position
        position = _walk(child, pieces, spans, depth + 1, position, max_depth)
        spans.append((child, start, position))
        if child.tail:
            pieces.append(child.tail)
            position += len(child.tail)
    return position
